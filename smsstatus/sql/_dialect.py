"""What the two databases share, and the one place a connection is told apart.

Strategy.  `Dialect` lists what differs between SQLite and PostgreSQL (``_sqlite.py``
and ``_postgres.py`` each implement it); everything else is SQL text both accept,
built here once per table name: the ranks, the conflict clauses of the latest-row
upserts (the tables themselves are in ``_schema.py``).
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
    "FINAL_STATES",
    "MAX_ID",
    "WEBHOOK_COLUMNS",
    "Dialect",
    "Log",
    "Names",
    "Row",
    "bare",
    "chunks",
    "dialect_of",
    "rank",
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


def bare(row: str) -> str:
    """Whether a row (a table's or ``excluded``) is a bare send, as SQL."""
    return (
        f"({row}.state = 'send' AND {row}.time IS NULL"
        f" AND {row}.sms IS NULL AND {row}.viber IS NULL)"
    )


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
            # A bare send (no time, no legs: what `register` writes) says only
            # "no status yet": a send that says more replaces it.
            f" OR ({bare(t)} AND excluded.state = 'send'"
            f" AND NOT {bare('excluded')})"
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

    def touch(self, cursor: Any, names: Names, ids: Sequence[int]) -> None:
        """Set the latest rows' ``changed_at`` of `ids` to the clock (a pulled
        status is a check of the row, for `pending`)."""
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
