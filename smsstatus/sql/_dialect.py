"""What the two databases share, and the one place a connection is told apart.

Strategy.  `Dialect` lists what differs between SQLite and PostgreSQL (``_sqlite.py``
and ``_postgres.py`` each implement it); everything else is SQL text both accept,
built here once per table name: the ranks, the conflict clauses of the latest-row
upserts, the table layout (LEDGER-SCHEMA: Django's models mirror it, so it is fixed).
The drivers are told apart by the module of the connection's class, so no driver is
imported (sqlite3 only by `connect_sqlite`).

Shared statements are written with ``%s`` placeholders; the SQLite dialect turns
them into ``?`` (no statement here holds a literal ``%``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import attrs

from smsstatus._model import _FINAL, _RANK

__all__ = [
    "COLUMNS",
    "EVENT_KEY",
    "FINAL_STATES",
    "MAX_ID",
    "WEBHOOK_COLUMNS",
    "Dialect",
    "Log",
    "Names",
    "Row",
    "chunks",
    "dialect_of",
    "index_sql",
    "rank",
    "table_sql",
    "upgrade_sql",
]

MAX_ID = 2**63 - 1  # bigint
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_IDENTIFIER = 63  # PostgreSQL's limit; SQLite has none

# What the statements bind for one report: id_sms, time (UTC wall clock, in the
# dialect's form), time_offset, state, sms, viber.
Row = tuple[int, Any, "int | None", str, "str | None", "str | None"]
COLUMNS = "id_sms, time, time_offset, state, sms, viber"
FINAL_STATES = ", ".join(sorted(f"'{status.value}'" for status in _FINAL))
# The columns of a webhook row that the write binds (received_at and id are the
# database's), in `Log.webhook`'s order.
WEBHOOK_COLUMNS = (
    "remote, format, size, sha256, code, reports, taken, rejected, refused, body"
)


def rank(state: str) -> str:
    """The progress rank of a state column as SQL, from the model's own ranks."""
    cases = " ".join(f"WHEN '{s.value}' THEN {rank}" for s, rank in _RANK.items())
    return f"(CASE {state} {cases} END)"


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@attrs.frozen(slots=False)  # for the cached statements
class Names:
    """A `StatusTable`'s tables: the latest status, and the ledger's three."""

    latest: str
    history: bool

    def __attrs_post_init__(self) -> None:
        for name in (self.latest, self.event, self.webhook, self.rejected):
            if (
                not isinstance(name, str)
                or not _IDENTIFIER.fullmatch(name)
                or len(name) > _MAX_IDENTIFIER
            ):
                raise ValueError(
                    "the table name and the names derived from it (+ '_event', "
                    "'_webhook', '_rejected') must be plain SQL identifiers "
                    f"([A-Za-z_][A-Za-z0-9_]*, at most 63 characters), not {name!r}"
                )

    @property
    def event(self) -> str:
        return f"{self.latest}_event"

    @property
    def webhook(self) -> str:
        return f"{self.latest}_webhook"

    @property
    def rejected(self) -> str:
        return f"{self.latest}_rejected"

    @functools.cached_property
    def upsert(self) -> str:
        """The conflict clause that keeps the furthest-along report (excluded's
        ``seen_at`` / ``final_at`` only fill what is still empty)."""
        t = self.latest
        return (
            "ON CONFLICT (id_sms) DO UPDATE SET time = excluded.time,"
            " time_offset = excluded.time_offset, state = excluded.state,"
            " sms = excluded.sms, viber = excluded.viber,"
            " changed_at = excluded.changed_at,"
            f" seen_at = COALESCE({t}.seen_at, excluded.seen_at),"
            f" final_at = COALESCE({t}.final_at, excluded.final_at)"
            f" WHERE {rank('excluded.state')} > {rank(f'{t}.state')}"
        )

    @functools.cached_property
    def claim(self) -> str:
        """The conflict clause that inserts new rows and locks existing ones
        without changing them (PostgreSQL's `StatusTable.update`)."""
        return (
            f"ON CONFLICT (id_sms) DO UPDATE SET state = {self.latest}.state"
            " WHERE false RETURNING id_sms"
        )

    @functools.cached_property
    def register(self) -> str:
        """The conflict clause of `StatusTable.register`: the first registration
        wins, field by field; the state is never touched."""
        t = self.latest
        return (
            f"ON CONFLICT (id_sms) DO UPDATE SET"
            f" sent_at = COALESCE({t}.sent_at, excluded.sent_at),"
            f" tag = COALESCE({t}.tag, excluded.tag),"
            f" seen_at = CASE WHEN {t}.sent_at IS NULL THEN excluded.sent_at"
            f" ELSE {t}.seen_at END,"
            " changed_at = excluded.changed_at"
            f" WHERE {t}.sent_at IS NULL"
            f" OR ({t}.tag IS NULL AND excluded.tag IS NOT NULL)"
        )


@attrs.frozen
class Log:
    """What a write records besides the latest rows: the history's `source`, the
    webhook row (`WEBHOOK_COLUMNS`' values) and the rejected items (id_sms, reason,
    raw, raw_sha256)."""

    source: str
    webhook: tuple[Any, ...] | None = None
    rejected: Sequence[tuple[int | None, str, str, str]] = ()


class Dialect:
    """What differs between SQLite and PostgreSQL."""

    time_type: str  # the type of every time column
    # A naive UTC wall clock, to the second, as the statements bind it.  Called for
    # most reports a save writes, so a C-level callable where one does the job.
    bind_time: Any

    def transaction(self, connection: Any, *, write: bool) -> Any:
        raise NotImplementedError

    def execute(
        self, cursor: Any, statement: str, parameters: Sequence[Any] = ()
    ) -> Any:
        """Run a shared statement (``%s`` placeholders)."""
        raise NotImplementedError

    def read_time(self, value: Any) -> datetime:
        """A stored `time` as a naive UTC wall clock."""
        raise NotImplementedError

    def read_clock(self, value: Any) -> datetime:
        """A stored time of the database's clock, aware UTC."""
        raise NotImplementedError

    def utc(self, column: str) -> str:
        """A time column as a select gives it to `read_time` / `read_clock`."""
        raise NotImplementedError

    def now(self, cursor: Any) -> datetime:
        """The database's clock, aware UTC."""
        raise NotImplementedError

    def bind_clock(self, moment: datetime) -> Any:
        """An aware time as a time column of the database's clock is compared with."""
        raise NotImplementedError

    def create(self, cursor: Any, names: Names) -> None:
        """Make what is missing, upgrade a 0.2 table; in a write transaction."""
        raise NotImplementedError

    def write(
        self, cursor: Any, names: Names, rows: Sequence[Row], log: Log | None
    ) -> None:
        """Upsert `rows` (several of one id allowed: the furthest along wins, the
        first among equals) and, with a `log`, append their history and log the
        webhook and rejected items."""
        raise NotImplementedError

    def claim(
        self, cursor: Any, names: Names, rows: Sequence[Row], log: Log | None
    ) -> set[int] | None:
        """Before `update` reads the rows it will replace: make sure nobody else
        can change them until the transaction ends.  PostgreSQL inserts the new
        rows and everything of `log`, locks the existing rows, and returns the ids
        it inserted; then `write` gets only the rest and no `log`.  None: nothing
        was written (the transaction holds the lock already)."""
        raise NotImplementedError

    def register(
        self, cursor: Any, names: Names, rows: Sequence[tuple[int, Any, str | None]]
    ) -> None:
        """Register (id_sms, sent_at as a naive UTC time or None, tag) rows, one
        per id."""
        raise NotImplementedError

    def select(self, cursor: Any, names: Names, ids: Sequence[int]) -> list[Any]:
        """The latest rows (`COLUMNS`, the time as `utc` gives it) of `ids`."""
        raise NotImplementedError


_DIALECTS: dict[str, Dialect] = {}


def dialect_of(connection: object) -> Dialect:
    """The dialect of a DB-API connection of sqlite3 or psycopg 3, else `TypeError`."""
    if not _DIALECTS:
        from ._postgres import PostgreSQL
        from ._sqlite import SQLite

        _DIALECTS.update(sqlite3=SQLite(), psycopg=PostgreSQL())
    # By the class's module, so that no driver is imported; subclasses (a custom
    # sqlite3 factory) count too.  psycopg's AsyncConnection is not a DB-API one.
    for cls in type(connection).__mro__:
        driver = cls.__module__.split(".")[0]
        if cls.__name__ == "Connection" and driver in _DIALECTS:
            return _DIALECTS[driver]
    raise TypeError(
        "StatusTable needs a connection of sqlite3 (sqlite3.Connection) or of "
        f"psycopg 3 (psycopg.Connection), not {type(connection).__qualname__}"
    )


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
