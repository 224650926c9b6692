"""The roll-up prototype of issue 20, kept for ``rollup.py`` (not part of the library):
counters of messages per (hour first seen, tag, latest state, time-to-final class),
kept exact in the transaction of every write, so that `StatusTable.stats` could read
them for slices of whole hours instead of the rows.

`install` adds it to a table `StatusTable.create` made (and rolls up the rows
already there); `check` compares it with a recount of the rows.

- PostgreSQL: statement-level ``AFTER`` triggers with transition tables (one call
  per statement, however many rows; ``INSERT ... ON CONFLICT DO UPDATE`` fires the
  INSERT and the UPDATE one) sum the changes per key (-1 on a row's old key, +1 on
  its new one) and upsert them into the counters.  Every writer touches the same few
  counters (this hour's), so each transaction adds to a stripe of its own: the first
  free of `STRIPES`, held by an advisory lock until it ends (past `STRIPES` writers at
  once, the backend's pid).  No transaction ever waits on another's counter row: no
  queueing on hot rows, no deadlock between the two triggers of one statement.
- SQLite (one writer at a time): the ledger's writes keep it themselves, as a patch
  of the dialect's `write` and `register` for the tables `install` was given: the
  keys of the rows they touch are read before and after, and the differences
  upserted.  A row trigger costs more (measured roughly, with synchronous=OFF: a
  trivial one alone adds 10 % to a document's time, a real one 25-35 %).  Deletes,
  which the ledger never makes, are counted by a row trigger.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from smsstatus.sql._dialect import FINAL_STATES, Names, chunks
from smsstatus.sql._sqlite import SQLite
from smsstatus.sql._stats import _BOUNDS

__all__ = ["KEY", "STRIPES", "check", "install", "key_sql"]

HOUR = 3600
STRIPES = 16
KEY = "hour, tagged, tag, state, took"
_SETTING = "smsstatus.rollup_stripe"
_LOCK = 0x736D7372  # the advisory locks' first key
# Seconds from 0001-01-01 to the Unix epoch, a whole number of hours: SQLite's
# integer division truncates towards zero, so times before 1970 are moved up first.
_SHIFT = 62135596800
_CONFLICT = "ON CONFLICT (hour, state, took, stripe, tagged, tag)"
_KEYS_PER_STATEMENT = 100
_ROLLED: set[str] = set()  # the SQLite tables whose writes keep a roll-up


def _took(duration: str, unit: int) -> str:
    cases = " ".join(
        f"WHEN {duration} < {bound * unit} THEN {index}"
        for index, (_, bound) in enumerate(_BOUNDS)
    )
    return f"CASE {cases} ELSE {len(_BOUNDS)} END"


def key_sql(row: str, *, sqlite: bool) -> str:
    """The `KEY` of a latest row `row` (an alias), by the expressions `stats` counts
    the rows with: hour, whether tagged, tag ('' when not), state, time-to-final
    class (-1 when not final)."""
    if sqlite:
        hour = (
            f"(CAST(strftime('%s', {row}.seen_at) AS INTEGER) + {_SHIFT})"
            f" / {HOUR} - {_SHIFT // HOUR}"
        )
        duration = (
            f"round((julianday({row}.final_at) - julianday({row}.seen_at)) * 86400000)"
        )
        # Computed once (a CASE would compute it again for each bound).
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


def _postgresql(table: str, rollup: str) -> list[str]:
    key = key_sql("x", sqlite=False)

    def changes(rows: str, sign: int) -> str:
        return f"SELECT {key}, {sign} FROM {rows} AS x WHERE x.seen_at IS NOT NULL"

    def apply(rows: str) -> str:
        return (
            f"INSERT INTO {rollup} ({KEY}, stripe, messages)"
            f" SELECT {KEY}, chosen, sum(n) FROM ({rows}) AS c({KEY}, n)"
            f" GROUP BY {KEY} HAVING sum(n) <> 0 {_CONFLICT}"
            f" DO UPDATE SET messages = {rollup}.messages + excluded.messages"
        )

    function = (
        f"CREATE OR REPLACE FUNCTION {rollup}() RETURNS trigger LANGUAGE plpgsql AS $$"
        " DECLARE chosen integer :="
        f" NULLIF(current_setting('{_SETTING}', true), '')::integer;"
        f" BEGIN IF TG_OP = 'TRUNCATE' THEN DELETE FROM {rollup}; RETURN NULL;"
        " END IF; IF chosen IS NULL THEN"
        f" FOR i IN 0..{STRIPES - 1} LOOP"
        f" IF pg_try_advisory_xact_lock({_LOCK}, i) THEN chosen := i; EXIT; END IF;"
        f" END LOOP; chosen := COALESCE(chosen, {STRIPES} + pg_backend_pid());"
        f" PERFORM set_config('{_SETTING}', chosen::text, true); END IF;"
        f" IF TG_OP = 'INSERT' THEN {apply(changes('new_rows', 1))};"
        " ELSIF TG_OP = 'UPDATE' THEN"
        f" {apply(changes('old_rows', -1) + ' UNION ALL ' + changes('new_rows', 1))};"
        f" ELSE {apply(changes('old_rows', -1))}; END IF; RETURN NULL; END $$"
    )
    execute = f"FOR EACH STATEMENT EXECUTE FUNCTION {rollup}()"
    return [
        function,
        f"CREATE TRIGGER {rollup}_insert AFTER INSERT ON {table}"
        f" REFERENCING NEW TABLE AS new_rows {execute}",
        f"CREATE TRIGGER {rollup}_update AFTER UPDATE ON {table}"
        f" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows {execute}",
        f"CREATE TRIGGER {rollup}_delete AFTER DELETE ON {table}"
        f" REFERENCING OLD TABLE AS old_rows {execute}",
        f"CREATE TRIGGER {rollup}_truncate AFTER TRUNCATE ON {table} {execute}",
    ]


def _sqlite(table: str, rollup: str) -> list[str]:
    return [
        f"CREATE TRIGGER {rollup}_delete AFTER DELETE ON {table}"
        f" WHEN OLD.seen_at IS NOT NULL BEGIN"
        f" INSERT INTO {rollup} ({KEY}, stripe, messages)"
        f" SELECT {key_sql('OLD', sqlite=True)}, 0, -1"
        f" {_CONFLICT} DO UPDATE SET messages = messages + excluded.messages; END",
    ]


def install(connection: Any, table: str, *, sqlite: bool) -> None:
    """Add the roll-up to `table` (made by `StatusTable.create`), fill it from the
    rows, and commit: in one transaction (on PostgreSQL ``CREATE TRIGGER`` locks
    writers out until it commits)."""
    rollup = f"{table}_rollup"
    statements = [
        f"CREATE TABLE {rollup} (hour bigint NOT NULL,"
        " state varchar(14) NOT NULL, took smallint NOT NULL,"
        " stripe integer NOT NULL, tagged smallint NOT NULL,"
        " tag varchar(64) NOT NULL, messages bigint NOT NULL,"
        " PRIMARY KEY (hour, state, took, stripe, tagged, tag))"
        + (" WITHOUT ROWID" if sqlite else ""),
        *(_sqlite if sqlite else _postgresql)(table, rollup),
        f"INSERT INTO {rollup} ({KEY}, stripe, messages)"
        f" SELECT {key_sql('t', sqlite=sqlite)}, 0, count(*) FROM {table} AS t"
        " WHERE t.seen_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5",
    ]
    if sqlite:
        connection.execute("BEGIN IMMEDIATE")
        _ROLLED.add(table)
    for statement in statements:
        connection.execute(statement)
    connection.commit()


def check(connection: Any, table: str, *, sqlite: bool) -> bool:
    """Whether the roll-up of `table` equals a recount of its rows."""
    recount = connection.execute(
        f"SELECT {key_sql('t', sqlite=sqlite)}, count(*) FROM {table} AS t"
        " WHERE t.seen_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5"
    ).fetchall()
    rolled = connection.execute(
        f"SELECT {KEY}, CAST(sum(messages) AS bigint) FROM {table}_rollup"
        " GROUP BY 1, 2, 3, 4, 5 HAVING sum(messages) <> 0"
    ).fetchall()
    connection.commit()
    return sorted(map(tuple, recount)) == sorted(map(tuple, rolled))


# --- SQLite: the ledger's writes keep the roll-up ----------------------------------


def keys(cursor: Any, table: str, ids: Sequence[int]) -> dict[Any, int]:
    """How many of the rows of `ids` have each key."""
    marks = ", ".join("?" * _KEYS_PER_STATEMENT)
    statement = (
        f"SELECT {key_sql('t', sqlite=True)}, count(*) FROM {table} AS t"
        f" WHERE id_sms IN ({marks}) AND seen_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5"
    )
    counts: dict[Any, int] = {}
    for chunk in chunks(ids, _KEYS_PER_STATEMENT):
        # Padded with NULLs (which match nothing): one statement text.
        padded = [*chunk, *[None] * (_KEYS_PER_STATEMENT - len(chunk))]
        for *key, count in cursor.execute(statement, padded):
            counts[tuple(key)] = counts.get(tuple(key), 0) + count
    return counts


def roll(cursor: Any, table: str, ids: Sequence[int], before: dict[Any, int]) -> None:
    """Add to the counters what the write changed: the keys of `ids` now, less
    `before`."""
    after = keys(cursor, table, ids)
    deltas = [
        (*key, after.get(key, 0) - before.get(key, 0))
        for key in before.keys() | after.keys()
        if after.get(key, 0) != before.get(key, 0)
    ]
    if deltas:
        cursor.executemany(
            f"INSERT INTO {table}_rollup ({KEY}, stripe, messages)"
            f" VALUES (?, ?, ?, ?, ?, 0, ?) {_CONFLICT}"
            " DO UPDATE SET messages = messages + excluded.messages",
            deltas,
        )


def _kept(method: Any, ids_of: Any) -> Any:
    def run(self: SQLite, cursor: Any, names: Names, rows: Any, *rest: Any) -> None:
        if names.latest not in _ROLLED:
            method(self, cursor, names, rows, *rest)
            return
        ids = ids_of(rows)
        before = keys(cursor, names.latest, ids)
        method(self, cursor, names, rows, *rest)
        roll(cursor, names.latest, ids, before)

    return run


SQLite.write = _kept(  # type: ignore[method-assign]
    SQLite.write, lambda rows: sorted({row[0] for row in rows})
)
SQLite.register = _kept(  # type: ignore[method-assign]
    SQLite.register, lambda rows: sorted(row[0] for row in rows)
)
