"""SQLite: the standard library's sqlite3, in process, one writer at a time.

Strategy.  A write takes the database's one write lock up front (``BEGIN
IMMEDIATE``), so nothing else changes a row between a read and the write that
follows, and no two writers can deadlock.  The clock is read once per transaction
and bound, so every row of a write gets the same time.  Rows go in by a prepared
multi-row statement per 20 (SQLite does the most rows a second at that size, and a
fixed size keeps the distinct texts few enough to stay in sqlite3's statement cache);
the latest-row upsert and the history's insert take the very same parameters (the
clock, the source, the webhook's id, then the rows), so they are built once.  Rows of
one id need no collapsing first: SQLite applies a multi-row upsert row by row, so the
furthest along wins and the first among equals stays, as `collapse` would decide.

Times are Django's form on SQLite (``YYYY-MM-DD HH:MM:SS[.ffffff]``, UTC), so Django
reads the same columns.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from itertools import chain
from operator import methodcaller
from typing import TYPE_CHECKING, Any

from ._dialect import (
    COLUMNS,
    FINAL_STATES,
    WEBHOOK_COLUMNS,
    Dialect,
    Log,
    Names,
    Row,
    chunks,
)

if TYPE_CHECKING:
    import os
    import sqlite3
from ._schema import index_sql, table_sql, upgrade_sql

__all__ = ["SQLite", "connect_sqlite"]

_ROWS_PER_STATEMENT = 20
# The database's clock as the time columns store it: Django's form of a datetime on
# SQLite, with microseconds ('now' has milliseconds).
_NOW = "strftime('%Y-%m-%d %H:%M:%f000', 'now')"
# The parameters every row statement starts with (see the module's strategy).
_HEAD = "WITH c(now, source, hook) AS (SELECT ?, ?, ?)"


@functools.cache
def _for_rows(statement: str, count: int) -> str:
    """A row statement (see `SQLite._statements`) for `count` rows: formatting its
    text costs more than the rest of a write's Python, so it is done once."""
    values = ", ".join(["(?, ?, ?, ?, ?, ?)"] * count)
    return statement.format(rows=f"(VALUES {values}) AS v")


_V = "v.column1, v.column2, v.column3, v.column4, v.column5, v.column6"


class SQLite(Dialect):
    time_type = "datetime"
    # utc.isoformat(" ") (no microseconds: YYYY-MM-DD HH:MM:SS), without the cost
    # of a Python-level call.
    bind_time = methodcaller("isoformat", " ")

    @contextmanager
    def transaction(self, connection: Any, *, write: bool) -> Iterator[Any]:
        # sqlite3 never opens a transaction for a SELECT, so reads need none; a write
        # takes the write lock up front (BEGIN IMMEDIATE), waiting the busy timeout.
        # It ends in SQL too: connection.commit() does nothing on a connection opened
        # with autocommit=True (Python 3.12+), which would leave the rows uncommitted
        # and the lock held.
        own = write and not connection.in_transaction
        cursor = connection.cursor()
        try:
            if own:
                cursor.execute("BEGIN IMMEDIATE")
            yield cursor
            if own:
                cursor.execute("COMMIT")
        except BaseException:
            if own and connection.in_transaction:
                cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()

    def execute(
        self, cursor: Any, statement: str, parameters: Sequence[Any] = ()
    ) -> Any:
        return cursor.execute(statement.replace("%s", "?"), parameters)

    def read_time(self, value: str | datetime) -> datetime:
        # Django's connections parse declared datetime columns themselves.
        return value if isinstance(value, datetime) else datetime.fromisoformat(value)

    def read_clock(self, value: str | datetime) -> datetime:
        return self.read_time(value).replace(tzinfo=timezone.utc)

    def utc(self, column: str) -> str:
        return column

    def now(self, cursor: Any) -> datetime:
        (now,) = cursor.execute(f"SELECT {_NOW}").fetchone()
        return self.read_clock(now)

    def bind_clock(self, moment: datetime) -> str:
        utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
        return utc.isoformat(" ", "microseconds")

    def create(self, cursor: Any, names: Names) -> None:
        # BEGIN IMMEDIATE serialises concurrent creators: the columns read here
        # are still the columns when the ALTERs run.
        statements = table_sql(
            names, self.time_type, "INTEGER PRIMARY KEY AUTOINCREMENT", "blob"
        )
        for statement in statements:
            cursor.execute(statement.format(never="''"))
        columns = {
            row[1] for row in cursor.execute(f"PRAGMA table_info({names.latest})")
        }
        indexes = index_sql(names, partial=False)
        for statement in upgrade_sql(names, self.time_type, columns) + indexes:
            cursor.execute(statement)

    @functools.cache  # noqa: B019 (two instances at most, kept for good)
    def _statements(self, names: Names) -> tuple[str, str, str, str]:
        t = names.latest
        upsert = (
            f"{_HEAD} INSERT INTO {t} ({COLUMNS}, changed_at, seen_at, final_at)"
            f" SELECT {_V}, c.now, c.now,"
            f" CASE WHEN v.column4 IN ({FINAL_STATES}) THEN c.now END"
            # WHERE true: without it SQLite reads ON CONFLICT as a join's ON.
            f" FROM {{rows}}, c WHERE true {names.upsert}"
        )
        events = (
            f"{_HEAD} INSERT INTO {names.event} ({COLUMNS}, received_at, source,"
            f" webhook_id) SELECT {_V}, c.now, c.source, c.hook FROM {{rows}}, c"
            " WHERE true ON CONFLICT DO NOTHING"
        )
        webhook = (
            f"INSERT INTO {names.webhook} (received_at, {WEBHOOK_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        rejected = (
            f"INSERT INTO {names.rejected} (webhook_id, id_sms, reason, raw,"
            " raw_sha256, received_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING"
        )
        return upsert, events, webhook, rejected

    def write(
        self, cursor: Any, names: Names, rows: Sequence[Row], log: Log | None
    ) -> None:
        upsert, events, webhook, rejected = self._statements(names)
        (now,) = cursor.execute(f"SELECT {_NOW}").fetchone()
        hook = None
        if log is not None and log.webhook is not None:
            hook = cursor.execute(webhook, (now, *log.webhook)).lastrowid
        head = (now, None if log is None else log.source, hook)
        statements = [upsert]
        if log is not None and names.history:
            statements.append(events)
        size = _ROWS_PER_STATEMENT
        whole = len(rows) - len(rows) % size
        if whole:
            parameters = [
                [*head, *chain.from_iterable(rows[at : at + size])]
                for at in range(0, whole, size)
            ]
            for statement in statements:
                cursor.executemany(_for_rows(statement, size), parameters)
        if whole < len(rows):
            rest = [*head, *chain.from_iterable(rows[whole:])]
            for statement in statements:
                cursor.execute(_for_rows(statement, len(rows) - whole), rest)
        if log is not None and log.rejected:
            cursor.executemany(rejected, [(hook, *item, now) for item in log.rejected])

    def select(self, cursor: Any, names: Names, ids: Sequence[int]) -> list[Any]:
        found = []
        for chunk in chunks(ids, 900):  # SQLite's limit on parameters was 999
            marks = ", ".join("?" * len(chunk))
            cursor.execute(
                f"SELECT {COLUMNS} FROM {names.latest} WHERE id_sms IN ({marks})", chunk
            )
            found.extend(cursor.fetchall())
        return found

    def touch(self, cursor: Any, names: Names, ids: Sequence[int]) -> None:
        for chunk in chunks(ids, 900):
            marks = ", ".join("?" * len(chunk))
            cursor.execute(
                f"UPDATE {names.latest} SET changed_at = {_NOW}"
                f" WHERE id_sms IN ({marks})",
                chunk,
            )

    def claim(
        self, cursor: Any, names: Names, rows: Sequence[Row], log: Log | None
    ) -> None:
        return None  # BEGIN IMMEDIATE holds the database's one write lock already

    def register(
        self, cursor: Any, names: Names, rows: Sequence[tuple[int, Any, str | None]]
    ) -> None:
        (now,) = cursor.execute(f"SELECT {_NOW}").fetchone()
        cursor.executemany(
            f"WITH c(now) AS (SELECT ?) INSERT INTO {names.latest}"
            " (id_sms, state, changed_at, sent_at, tag, seen_at)"
            " SELECT v.column1, 'send', c.now, COALESCE(v.column2, c.now),"
            " v.column3, COALESCE(v.column2, c.now)"
            f" FROM (VALUES (?, ?, ?)) AS v, c WHERE true {names.register}",
            [
                (
                    now,
                    id_sms,
                    None if at is None else at.isoformat(" ", "microseconds"),
                    tag,
                )
                for id_sms, at, tag in rows
            ],
        )


def connect_sqlite(
    path: str | os.PathLike[str], *, timeout: float = 10.0
) -> sqlite3.Connection:
    """Open a SQLite database the way concurrent writers need it.

    - WAL journal mode, so readers never block the writer nor the writer readers (it
      is stored in the file: every later connection gets it too);
    - a busy timeout of `timeout` seconds: a writer waits for the one write lock
      instead of failing with "database is locked"; 10 by default, below a web
      server's worker timeout (gunicorn's is 30), so that a receiver gives up and
      answers 503 rather than being killed mid-request;
    - transactions that sqlite3 opens on its own take the write lock at once
      (``BEGIN IMMEDIATE``), so a transaction that reads and then writes cannot fail
      to upgrade.

    `StatusTable`'s writes take the lock up front themselves on any connection, but
    without WAL and a busy timeout a concurrent writer may still fail at once.
    """
    import sqlite3

    connection = sqlite3.connect(path, timeout=timeout, isolation_level="IMMEDIATE")
    connection.execute("PRAGMA journal_mode=WAL")
    return connection
