"""The roll-up of the latest table that `stats` reads: how many messages per (hour
first seen, tag, latest state, time-to-final class).

Strategy.  Triggers on the latest table keep it, in the very transaction of every
write that changes a row's key (whatever wrote it: `save`, `receive`, `register`,
Django's ORM), so it commits or rolls back with the rows it counts and a statement
reading it sees the same snapshot a recount would.  A change is a -1 on the row's old
key and a +1 on its new one; a key is computed by the same SQL expressions `stats`
uses on the rows (``_stats.py``), so that both count alike.

- PostgreSQL: statement-level ``AFTER`` triggers with transition tables (one call per
  statement, however many rows), which sum the changes per key and upsert them in key
  order (so that two writers never lock two counters in opposite orders).  A writer
  adds to the counters of its own `stripe` (its backend's pid modulo `STRIPES`), so
  that concurrent writers, who mostly touch the same few counters (this hour's), do
  not queue on one row until each other's commit.
- SQLite: row-level triggers (the only kind it has); one writer at a time, no stripes.

`create` makes the roll-up, and fills it from the rows, in the transaction that adds
the triggers: on PostgreSQL ``CREATE TRIGGER`` locks out writers until it commits.
"""

from __future__ import annotations

from ._dialect import FINAL_STATES, Names

__all__ = ["BOUNDS", "HOUR", "KEY", "STRIPES", "key_sql", "rollup_sql", "upsert_sql"]

# The time-to-final classes: each counts the durations below its bound (seconds) and
# at or above the previous one; "more" the rest.
BOUNDS = (
    ("10s", 10),
    ("30s", 30),
    ("1m", 60),
    ("5m", 300),
    ("15m", 900),
    ("1h", 3600),
    ("6h", 6 * 3600),
    ("24h", 24 * 3600),
)
HOUR = 3600
STRIPES = 16
_SETTING = "smsstatus.rollup_stripe"
_LOCK = 0x736D7372  # the advisory locks' first key: "smsr"
# Seconds from 0001-01-01 to the Unix epoch, a whole number of hours: SQLite's
# integer division truncates towards zero, so times before 1970 are moved up first.
_SHIFT = 62135596800


def _took(duration: str, unit: int) -> str:
    cases = " ".join(
        f"WHEN {duration} < {bound * unit} THEN {index}"
        for index, (_, bound) in enumerate(BOUNDS)
    )
    return f"CASE {cases} ELSE {len(BOUNDS)} END"


KEY = "hour, tagged, tag, state, took"


def key_sql(row: str, *, sqlite: bool) -> str:
    """The `KEY` of a latest row `row` (an alias): hour, whether tagged, tag ('' when
    not), state, time-to-final class (-1 when not final)."""
    if sqlite:
        hour = (
            f"(CAST(strftime('%s', {row}.seen_at) AS INTEGER) + {_SHIFT})"
            f" / {HOUR} - {_SHIFT // HOUR}"
        )
        # Computed once (a CASE would compute it again for each bound).
        duration = (
            f"round((julianday({row}.final_at) - julianday({row}.seen_at)) * 86400000)"
        )
        took = f"(SELECT {_took('d', 1000)} FROM (SELECT {duration} AS d))"
    else:
        # Truncated as a UTC wall clock: whole hours, whatever the session's zone.
        hour = (
            f"date_part('epoch', date_trunc('hour', {row}.seen_at AT TIME ZONE 'UTC'))"
            f"::bigint / {HOUR}"
        )
        took = _took(f"date_part('epoch', {row}.final_at - {row}.seen_at)", 1)
    took = (
        f"CASE WHEN {row}.state IN ({FINAL_STATES}) AND {row}.final_at IS NOT NULL"
        f" THEN {took} ELSE -1 END"
    )
    tag = f"CASE WHEN {row}.tag IS NULL THEN 0 ELSE 1 END, COALESCE({row}.tag, '')"
    return f"{hour}, {tag}, {row}.state, {took}"


_CONFLICT = "ON CONFLICT (hour, state, took, stripe, tagged, tag)"


def _table(names: Names, *, sqlite: bool) -> list[str]:
    r = names.rollup
    return [
        f"CREATE TABLE IF NOT EXISTS {r} (hour bigint NOT NULL,"
        " state varchar(14) NOT NULL, took smallint NOT NULL,"
        " stripe integer NOT NULL, tagged smallint NOT NULL,"
        " tag varchar(64) NOT NULL, messages bigint NOT NULL,"
        " PRIMARY KEY (hour, state, took, stripe, tagged, tag))"
        + (" WITHOUT ROWID" if sqlite else ""),
    ]


def _fill(names: Names, *, sqlite: bool) -> str:
    return (
        f"INSERT INTO {names.rollup} ({KEY}, stripe, messages)"
        f" SELECT {key_sql('t', sqlite=sqlite)}, 0, count(*) FROM {names.latest} AS t"
        " WHERE t.seen_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5"
    )


def _postgresql(names: Names) -> list[str]:
    t, r = names.latest, names.rollup
    key = key_sql("x", sqlite=False)

    def changes(table: str, sign: int) -> str:
        return f"SELECT {key}, {sign} FROM {table} AS x WHERE x.seen_at IS NOT NULL"

    def apply(rows: str) -> str:
        return (
            f"INSERT INTO {r} ({KEY}, stripe, messages)"
            f" SELECT {KEY}, chosen, sum(n) FROM ({rows}) AS c({KEY}, n)"
            f" GROUP BY {KEY} HAVING sum(n) <> 0 {_CONFLICT}"
            f" DO UPDATE SET messages = {r}.messages + excluded.messages"
        )

    # The transaction's stripe: the first free of STRIPES, held (an advisory lock)
    # until it ends, so that no other transaction adds to its counters meanwhile;
    # past STRIPES writers at once, one of its own (the backend's pid is unique
    # among those running).  Remembered for the transaction's next statements.
    function = (
        f"CREATE OR REPLACE FUNCTION {r}() RETURNS trigger LANGUAGE plpgsql AS $$"
        " DECLARE chosen integer :="
        f" NULLIF(current_setting('{_SETTING}', true), '')::integer;"
        f" BEGIN IF TG_OP = 'TRUNCATE' THEN DELETE FROM {r}; RETURN NULL; END IF;"
        " IF chosen IS NULL THEN"
        f" FOR i IN 0..{STRIPES - 1} LOOP"
        f" IF pg_try_advisory_xact_lock({_LOCK}, i) THEN chosen := i; EXIT; END IF;"
        f" END LOOP; chosen := COALESCE(chosen, {STRIPES} + pg_backend_pid());"
        f" PERFORM set_config('{_SETTING}', chosen::text, true); END IF;"
        f" IF TG_OP = 'INSERT' THEN {apply(changes('new_rows', 1))};"
        " ELSIF TG_OP = 'UPDATE' THEN"
        f" {apply(changes('old_rows', -1) + ' UNION ALL ' + changes('new_rows', 1))};"
        f" ELSE {apply(changes('old_rows', -1))}; END IF; RETURN NULL; END $$"
    )
    return [
        function,
        *(
            f"DROP TRIGGER IF EXISTS smsstatus_rollup_{event} ON {t}"
            for event in ("insert", "update", "delete", "truncate")
        ),
        f"CREATE TRIGGER smsstatus_rollup_insert AFTER INSERT ON {t}"
        f" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {r}()",
        f"CREATE TRIGGER smsstatus_rollup_update AFTER UPDATE ON {t}"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {r}()",
        f"CREATE TRIGGER smsstatus_rollup_delete AFTER DELETE ON {t}"
        f" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {r}()",
        f"CREATE TRIGGER smsstatus_rollup_truncate AFTER TRUNCATE ON {t}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {r}()",
    ]


def _sqlite(names: Names) -> list[str]:
    # The ledger's writes keep the roll-up themselves (``_sqlite.py``): a row
    # trigger would cost them a fifth more.  A delete, which they never make, is
    # counted here, whoever makes it.
    r = names.rollup
    return [
        f"CREATE TRIGGER IF NOT EXISTS {r}_delete AFTER DELETE ON {names.latest}"
        f" WHEN OLD.seen_at IS NOT NULL BEGIN"
        f" INSERT INTO {r} ({KEY}, stripe, messages)"
        f" SELECT {key_sql('OLD', sqlite=True)}, 0, -1"
        f" {_CONFLICT} DO UPDATE SET messages = messages + excluded.messages; END",
    ]


def rollup_sql(names: Names, *, sqlite: bool) -> list[str]:
    """What makes the roll-up, its triggers, and fills it: to run, in the transaction
    of `create`, only when the roll-up table does not exist yet."""
    triggers = _sqlite(names) if sqlite else _postgresql(names)
    return [*_table(names, sqlite=sqlite), *triggers, _fill(names, sqlite=sqlite)]


def upsert_sql(names: Names) -> str:
    """Add a count to a key's counter (stripe 0): parameters `KEY`, then the count."""
    return (
        f"INSERT INTO {names.rollup} ({KEY}, stripe, messages)"
        f" VALUES (?, ?, ?, ?, ?, 0, ?) {_CONFLICT}"
        f" DO UPDATE SET messages = messages + excluded.messages"
    )
