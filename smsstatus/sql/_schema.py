"""The tables, their indexes, and the upgrade from 0.2: the ``CREATE`` and ``ALTER``
statements `StatusTable.create` runs.

Strategy.  The layout is fixed (Django's models mirror it column for column, so that
both can share the tables); this module writes it once, in SQL both databases take,
with the types each dialect passes in.  Everything is ``IF NOT EXISTS`` or added only
when missing, so `create` is idempotent; the dialects make it safe from several
processes at once (one lock around the whole of it).
"""

from __future__ import annotations

from ._dialect import FINAL_STATES, Names

__all__ = ["EVENT_KEY", "index_sql", "table_sql", "upgrade_sql"]


EVENT_KEY = (
    "id_sms, state, (COALESCE(time, {never})), (time_offset IS NULL),"
    " (COALESCE(sms, '')), (COALESCE(viber, ''))"
)


def table_sql(names: Names, time_type: str, id_type: str, blob_type: str) -> list[str]:
    """The ``CREATE ... IF NOT EXISTS`` statements of every table and index, in a
    dialect's types (`id_type`: an autoincrement primary key).  The latest table's
    0.3 columns are added by `upgrade_sql` when it is older."""
    t, ts = names.latest, time_type
    statements = [
        f"CREATE TABLE IF NOT EXISTS {t} ("
        " id_sms bigint NOT NULL PRIMARY KEY,"
        f" time {ts} NULL,"
        " time_offset integer NULL,"
        " state varchar(14) NOT NULL,"
        " sms varchar(14) NULL,"
        " viber varchar(14) NULL,"
        f" changed_at {ts} NOT NULL,"
        f" sent_at {ts} NULL,"
        " tag varchar(64) NULL,"
        f" seen_at {ts} NULL,"
        f" final_at {ts} NULL)",
        f"CREATE TABLE IF NOT EXISTS {names.webhook} ("
        f" id {id_type},"
        f" received_at {ts} NOT NULL,"
        " remote varchar(255) NULL,"
        " format varchar(4) NULL,"
        " size bigint NOT NULL,"
        " sha256 char(64) NOT NULL,"
        " code integer NOT NULL,"
        " reports integer NOT NULL,"
        " taken integer NOT NULL,"
        " rejected integer NOT NULL,"
        " refused text NULL,"
        f" body {blob_type} NULL)",
        f"CREATE INDEX IF NOT EXISTS {names.webhook}_received_at"
        f" ON {names.webhook} (received_at)",
        f"CREATE TABLE IF NOT EXISTS {names.rejected} ("
        f" id {id_type},"
        " webhook_id bigint NULL,"
        " id_sms bigint NULL,"
        " reason text NOT NULL,"
        " raw text NOT NULL,"
        f" received_at {ts} NOT NULL,"
        " raw_sha256 char(64) NOT NULL)",
        # NULL-safe: a bad item without a readable id is deduplicated too.
        f"CREATE UNIQUE INDEX IF NOT EXISTS {names.rejected}_item"
        f" ON {names.rejected} ((COALESCE(id_sms, -1)), raw_sha256)",
        f"CREATE INDEX IF NOT EXISTS {names.rejected}_received_at"
        f" ON {names.rejected} (received_at)",
    ]
    if names.history:
        statements += [
            f"CREATE TABLE IF NOT EXISTS {names.event} ("
            f" id {id_type},"
            " id_sms bigint NOT NULL,"
            f" time {ts} NULL,"
            " time_offset integer NULL,"
            " state varchar(14) NOT NULL,"
            " sms varchar(14) NULL,"
            " viber varchar(14) NULL,"
            f" received_at {ts} NOT NULL,"
            " source varchar(4) NOT NULL,"
            " webhook_id bigint NULL)",
            # A report is its id, state, legs and time: an aware time by its instant
            # (whatever its offset), and never equal to a naive one, as in Python.
            # The NULLs are coalesced, since a unique index holds NULLs distinct.
            f"CREATE UNIQUE INDEX IF NOT EXISTS {names.event}_report"
            f" ON {names.event} ({EVENT_KEY})",
            f"CREATE INDEX IF NOT EXISTS {names.event}_received_at"
            f" ON {names.event} (received_at)",
        ]
    return statements


def index_sql(names: Names) -> list[str]:
    """The indexes on the latest table's 0.3 columns (after `upgrade_sql`)."""
    t = names.latest
    return [
        f"CREATE INDEX IF NOT EXISTS {t}_seen_at ON {t} (seen_at)",
        f"CREATE INDEX IF NOT EXISTS {t}_changed_at ON {t} (changed_at)",
    ]


def upgrade_sql(names: Names, time_type: str, columns: set[str]) -> list[str]:
    """What a latest table with `columns` lacks of 0.3's; a 0.2 row counts as first
    seen at its last change, and as final since then when it is."""
    t = names.latest
    wanted = {
        "sent_at": time_type,
        "tag": "varchar(64)",
        "seen_at": time_type,
        "final_at": time_type,
    }
    statements = [
        f"ALTER TABLE {t} ADD COLUMN {column} {kind} NULL"
        for column, kind in wanted.items()
        if column not in columns
    ]
    if "seen_at" not in columns:
        statements.append(f"UPDATE {t} SET seen_at = changed_at")
    if "final_at" not in columns:
        statements.append(
            f"UPDATE {t} SET final_at = changed_at WHERE state IN ({FINAL_STATES})"
        )
    return statements
