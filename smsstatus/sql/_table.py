"""The latest status of each message, kept in SQLite or PostgreSQL.

::

    table = StatusTable()
    table.create(connection)
    ack = smsstatus.receive_batch(body, lambda reports: table.save(connection, reports))

Strategy
--------
One row per `id_sms` (the layout is fixed: Django's model in ``smsstatus.django``
mirrors it column for column, so both can share a table).  The rule that decides
whether a report replaces the stored one, `StatusReport.supersedes`, is evaluated by
the database itself, in the very statement that writes::

    INSERT INTO t (...) <the rows>
    ON CONFLICT (id_sms) DO UPDATE SET ... = excluded....
    WHERE <rank of excluded.state> > <rank of t.state>

where a rank is a ``CASE state WHEN 'send' THEN 0 ...`` built from the model's own
ranks.  There is no read in Python between deciding and writing, so any number of
processes and connections can save at once without coordinating: whatever the order
in which their statements run, the row ends with a report no saved report of its id
supersedes, because "keep the higher rank" is commutative and idempotent.

A batch costs a statement per chunk of rows, never one per report: one statement on
PostgreSQL (the rows go in as one array per column and come out of ``unnest``); on
SQLite, one prepared statement of a multi-row ``VALUES`` run once per 20 rows (SQLite
does the most rows a second at that size, and a fixed size keeps the statement texts
few, so they stay prepared) after one read of the clock.  Reports of one id are
first collapsed to the furthest along (PostgreSQL refuses to touch a row twice in one
statement), and rows go in `id_sms` order, so two concurrent batches lock rows in the
same order and cannot deadlock.

`update` is `save` that also tells what changed (for Django's signal): it must read
the rows it is about to replace, and nobody may change them between the read and the
write.  On SQLite it runs under ``BEGIN IMMEDIATE``, which takes the database's one
write lock before the read (a deferred transaction that reads and then writes is what
makes SQLite answer "database is locked" without waiting).  On PostgreSQL it must lock
rows, and to stay deadlock-free beside concurrent `save` calls it must lock all of
them in one statement, in id order, as `save` does: a ``SELECT ... FOR UPDATE`` of the
existing rows followed by an insert of the missing ones would lock in two passes, and
deadlocks with a save that meets the same ids in one.  So its first statement is the
same insert with ``ON CONFLICT DO UPDATE ... WHERE false``, which inserts the new rows
(returning their ids) and locks the existing ones without changing them; the read and
the conditional upsert that follow wait for nobody.

Times: an aware time is stored as its UTC instant plus its offset in seconds
(``time_offset``), so `load` gives back the same instant with that fixed offset; a
naive time is stored as its wall clock (written as if it were UTC) with a NULL offset
and comes back naive.  Times are kept to the second, as the gateway sends them.
``changed_at`` comes from the database's clock, so `pending` can compare it with that
same clock whatever the clocks of the machines that wrote.

Transactions: a write commits before it returns unless the caller already had a
transaction open on the connection, which it then joins (the caller commits).  Reads
leave no transaction open.  On SQLite, concurrent writers also need WAL and a busy
timeout, which `connect_sqlite` sets.

The drivers are told apart by the module of the connection's class, so this module
imports neither (sqlite3 is imported by `connect_sqlite` only).  Everything that
differs between the two databases is in the two small `_Dialect` classes.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from itertools import chain, repeat
from operator import add, methodcaller
from typing import TYPE_CHECKING, Any

import attrs

from smsstatus._collapse import collapse
from smsstatus._model import _FINAL, _RANK, Status, StatusReport

from . import _stats
from ._stats import Bucket

if TYPE_CHECKING:
    import os
    import sqlite3

__all__ = ["Change", "StatusTable", "Update", "connect_sqlite"]

logger = logging.getLogger("smsstatus")

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_IDENTIFIER = 63  # PostgreSQL's limit; SQLite has none
_MAX_ID = 2**63 - 1  # bigint
# What the statements bind for one report: id_sms, time (UTC wall clock, in the
# dialect's form), time_offset, state, sms, viber.
_Row = tuple[int, Any, "int | None", str, "str | None", "str | None"]
_COLUMNS = "id_sms, time, time_offset, state, sms, viber"


@attrs.frozen
class Change:
    """One row that `StatusTable.update` inserted (`previous` is None) or replaced
    (`previous` is the report it held)."""

    report: StatusReport
    previous: StatusReport | None


@attrs.frozen
class Update:
    """What `StatusTable.update` did: the ids it took (what `StatusTable.save`
    returns) and the rows it changed, in the order of the ids' first appearance."""

    taken: frozenset[int]
    changes: tuple[Change, ...]


def _rank(state: str) -> str:
    """The progress rank of a state column as SQL, from the model's own ranks."""
    cases = " ".join(f"WHEN '{s.value}' THEN {rank}" for s, rank in _RANK.items())
    return f"(CASE {state} {cases} END)"


_FINAL_STATES = ", ".join(sorted(f"'{status.value}'" for status in _FINAL))


@functools.cache
def _sqlite_values(count: int) -> str:
    """``VALUES`` of `count` rows for `_SQLite.insert`: `_Row`'s six columns, then
    ``changed_at``."""
    return "VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * count)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Dialect:
    """What differs between SQLite and PostgreSQL.  The SQL text around it (the
    upsert's conflict clause, the columns, the ranks) is shared."""

    time_type: str  # the type of `time` and `changed_at`
    # A naive UTC wall clock, to the second, as the statements bind it.  Called for
    # most reports a save writes, so a C-level callable where one does the job.
    bind_time: Callable[[datetime], Any]

    def transaction(self, connection: Any, *, write: bool) -> Any:
        raise NotImplementedError

    def read_time(self, value: Any) -> datetime:
        """A stored `time` as a naive UTC wall clock."""
        raise NotImplementedError

    def select(self, cursor: Any, table: str, ids: Sequence[int]) -> Any:
        raise NotImplementedError

    def insert(self, cursor: Any, statement: str, rows: Sequence[_Row]) -> Any:
        """Run ``statement`` (``INSERT ... {rows} ON CONFLICT ...``) for `rows`."""
        raise NotImplementedError

    def claim(self, cursor: Any, statement: str, rows: Sequence[_Row]) -> set[int]:
        """Make sure no other transaction can change `rows`' rows until this one
        ends, with ``statement`` (an insert that locks without updating) if need be;
        the ids of the rows it inserted."""
        raise NotImplementedError

    def pending(self, cursor: Any, table: str, older_than: timedelta) -> Any:
        raise NotImplementedError


class _SQLite(_Dialect):
    time_type = "datetime"
    # utc.isoformat(" ") (no microseconds: YYYY-MM-DD HH:MM:SS), without the cost
    # of a Python-level call.
    bind_time = methodcaller("isoformat", " ")
    # The database's clock as `changed_at` stores it: Django's form of a datetime on
    # SQLite, with microseconds ('now' has milliseconds).
    _now = "SELECT strftime('%Y-%m-%d %H:%M:%f000', 'now')"
    # SQLite upserts a multi-row VALUES fastest per row at a dozen or two rows (a
    # hundred, or one, cost a third more; see docs/performance.md), and a fixed size
    # keeps the distinct texts (a whole chunk, the remainders) few enough to stay in
    # sqlite3's cache of prepared statements.
    _rows_per_statement = 20

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

    def read_time(self, value: str | datetime) -> datetime:
        # Django's connections parse declared datetime columns themselves.
        return value if isinstance(value, datetime) else datetime.fromisoformat(value)

    def select(self, cursor: Any, table: str, ids: Sequence[int]) -> list[Any]:
        found = []
        for chunk in _chunks(ids, 900):
            marks = ", ".join("?" * len(chunk))
            cursor.execute(
                f"SELECT {_COLUMNS} FROM {table} WHERE id_sms IN ({marks})", chunk
            )
            found.extend(cursor.fetchall())
        return found

    def insert(self, cursor: Any, statement: str, rows: Sequence[_Row]) -> None:
        # The clock is read once, in the transaction, and bound after each row:
        # cheaper than reading it in each statement (let alone each row), and every
        # row of the save gets the same `changed_at`.  (Not one numbered ?1 for all
        # rows: Python 3.12.1 warns that it is a named placeholder.)
        (now,) = cursor.execute(self._now).fetchone()
        clock = repeat((now,))

        def parameters(chunk: Sequence[_Row]) -> list[Any]:
            return list(chain.from_iterable(map(add, chunk, clock)))

        size = self._rows_per_statement
        whole = len(rows) - len(rows) % size
        if whole:
            cursor.executemany(
                statement.format(rows=_sqlite_values(size)),
                (
                    parameters(rows[start : start + size])
                    for start in range(0, whole, size)
                ),
            )
        if whole < len(rows):
            cursor.execute(
                statement.format(rows=_sqlite_values(len(rows) - whole)),
                parameters(rows[whole:]),
            )

    def claim(self, cursor: Any, statement: str, rows: Sequence[_Row]) -> set[int]:
        # BEGIN IMMEDIATE holds the database's one write lock already.
        return set()

    def pending(self, cursor: Any, table: str, older_than: timedelta) -> Any:
        return cursor.execute(
            f"SELECT id_sms FROM {table} WHERE state NOT IN ({_FINAL_STATES})"
            f" AND changed_at <= strftime('%Y-%m-%d %H:%M:%f000', 'now', ?)"
            " ORDER BY id_sms",
            (f"{-older_than.total_seconds()} seconds",),
        )


def _as_is(utc: datetime) -> datetime:
    return utc


class _PostgreSQL(_Dialect):
    time_type = "timestamp with time zone"
    # One array per column, sent in binary (%b): half the cost of the text form.
    # statement_timestamp() is the start of the statement: the same for every row
    # it writes, and (unlike now()) not the start of a long transaction the caller
    # opened.
    _rows = (
        "SELECT r.i, r.t AT TIME ZONE 'UTC', r.o, r.s, r.sms, r.viber,"
        " statement_timestamp() FROM unnest(%b::bigint[], %b::timestamp[],"
        " %b::integer[], %b::varchar[], %b::varchar[], %b::varchar[])"
        " AS r(i, t, o, s, sms, viber)"
    )

    @contextmanager
    def transaction(self, connection: Any, *, write: bool) -> Iterator[Any]:
        # psycopg's transaction() begins and commits (or rolls back) when no
        # transaction is open, whether or not the connection is in autocommit mode;
        # inside the caller's transaction we simply join it.
        if connection.info.transaction_status.name != "IDLE":
            with connection.cursor() as cursor:
                yield cursor
        else:
            with connection.transaction(), connection.cursor() as cursor:
                yield cursor

    # The wall clock goes as a timestamp and becomes a timestamptz in the statement
    # (AT TIME ZONE 'UTC'): replace(tzinfo=...) in Python costs more than the rest
    # of a row.
    bind_time = staticmethod(_as_is)

    def read_time(self, value: datetime) -> datetime:
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def select(self, cursor: Any, table: str, ids: Sequence[int]) -> Any:
        return cursor.execute(
            f"SELECT {_COLUMNS} FROM {table} WHERE id_sms = ANY(%b::bigint[])",
            (list(ids),),
        )

    def insert(self, cursor: Any, statement: str, rows: Sequence[_Row]) -> Any:
        columns = [list(column) for column in zip(*rows, strict=True)]
        return cursor.execute(statement.format(rows=self._rows), columns)

    def claim(self, cursor: Any, statement: str, rows: Sequence[_Row]) -> set[int]:
        # RETURNING gives the inserted rows only: a row whose DO UPDATE's WHERE is
        # false is locked, but not updated nor returned.
        inserted = self.insert(cursor, f"{statement} RETURNING id_sms", rows)
        return {id_sms for (id_sms,) in inserted}

    def pending(self, cursor: Any, table: str, older_than: timedelta) -> Any:
        return cursor.execute(
            f"SELECT id_sms FROM {table} WHERE state NOT IN ({_FINAL_STATES})"
            " AND changed_at <= statement_timestamp() - %s ORDER BY id_sms",
            (older_than,),
        )


_DIALECTS: dict[str, _Dialect] = {"sqlite3": _SQLite(), "psycopg": _PostgreSQL()}


def _dialect(connection: object) -> _Dialect:
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


class StatusTable:
    """The table that keeps the latest status of each message.

    `name` is the table's name, a plain SQL identifier (``[A-Za-z_][A-Za-z0-9_]*``,
    at most 63 characters), else `ValueError`.  Every method takes a DB-API
    connection of the standard library's `sqlite3` or of `psycopg` 3, else
    `TypeError`; `connect_sqlite` opens a SQLite one ready for concurrent writers.
    """

    def __init__(self, name: str = "smsstatus_delivery") -> None:
        if (
            not isinstance(name, str)
            or not _IDENTIFIER.fullmatch(name)
            or len(name) > _MAX_IDENTIFIER
        ):
            raise ValueError(
                "the table name must be a plain SQL identifier "
                f"([A-Za-z_][A-Za-z0-9_]*, at most 63 characters), not {name!r}"
            )
        self._name = name
        insert = f"INSERT INTO {name} ({_COLUMNS}, changed_at) {{rows}}"
        self._claim = (
            f"{insert} ON CONFLICT (id_sms) DO UPDATE SET state = {name}.state"
            " WHERE false"
        )
        self._upsert = (
            f"{insert} ON CONFLICT (id_sms) DO UPDATE SET time = excluded.time,"
            " time_offset = excluded.time_offset, state = excluded.state,"
            " sms = excluded.sms, viber = excluded.viber,"
            " changed_at = excluded.changed_at"
            f" WHERE {_rank('excluded.state')} > {_rank(f'{name}.state')}"
        )

    @property
    def name(self) -> str:
        """The table's name."""
        return self._name

    def __repr__(self) -> str:
        return f"StatusTable({self._name!r})"

    def create(self, connection: Any) -> None:
        """Create the table if it does not exist yet (idempotent), and commit."""
        dialect = _dialect(connection)
        with dialect.transaction(connection, write=True) as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._name} ("
                " id_sms bigint NOT NULL PRIMARY KEY,"
                f" time {dialect.time_type} NULL,"
                " time_offset integer NULL,"
                " state varchar(14) NOT NULL,"
                " sms varchar(14) NULL,"
                " viber varchar(14) NULL,"
                f" changed_at {dialect.time_type} NOT NULL)"
            )

    def save(self, connection: Any, reports: Iterable[StatusReport]) -> frozenset[int]:
        """Store each report unless its row already holds one at least as far along,
        and return the ids taken: every id of `reports` the table can hold, changed or
        not (an older or duplicate report needs no retry either).

        Commits before returning, unless the connection is inside a transaction the
        caller opened: then it joins it, and the caller commits.  The rule is applied
        by the database in the writing statement itself, so concurrent savers need no
        coordination.  A report the table cannot hold (an id over 2**63 - 1) is
        logged (logger ``"smsstatus"``) and left out of the result.
        """
        dialect = _dialect(connection)
        kept, rows = _holdable(dialect, reports)
        if rows:
            with dialect.transaction(connection, write=True) as cursor:
                dialect.insert(cursor, self._upsert, rows)
        return frozenset(kept)

    def update(self, connection: Any, reports: Iterable[StatusReport]) -> Update:
        """`save`, also telling which rows it inserted or replaced and what they held.

        It reads the rows it is about to change in the same transaction, after
        locking them (the write lock on SQLite, row locks on PostgreSQL), so the
        changes are exact even while other processes save the same ids.
        """
        dialect = _dialect(connection)
        kept, rows = _holdable(dialect, reports)
        if not rows:
            return Update(frozenset(), ())
        with dialect.transaction(connection, write=True) as cursor:
            inserted = dialect.claim(cursor, self._claim, rows)
            rest = [row for row in rows if row[0] not in inserted]
            previous: dict[int, StatusReport] = {}
            if rest:
                found = dialect.select(cursor, self._name, [row[0] for row in rest])
                previous = _reports(dialect, found)
                dialect.insert(cursor, self._upsert, rest)
        changes = (
            Change(report, previous.get(report.id_sms))
            for report in kept.values()
            if report.supersedes(previous.get(report.id_sms))
        )
        return Update(frozenset(kept), tuple(changes))

    def load(self, connection: Any, ids: Iterable[int]) -> dict[int, StatusReport]:
        """The stored reports of those of `ids` that have a row.

        Times come back as saved, to the second: an aware time with its instant and
        its offset (as a fixed `datetime.timezone`), a naive one naive.  Leaves no
        transaction open (unless the caller had one).
        """
        dialect = _dialect(connection)
        wanted = sorted({i for i in ids if 0 <= i <= _MAX_ID})
        if not wanted:
            return {}
        with dialect.transaction(connection, write=False) as cursor:
            found = dialect.select(cursor, self._name, wanted)
            return _reports(dialect, found)

    def stats(
        self,
        connection: Any,
        *,
        since: datetime,
        until: datetime | None = None,
        bucket: timedelta = timedelta(hours=1),
        tag: str | None = None,
    ) -> list[Bucket]:
        """One `Bucket` per slice of `bucket` from the slice holding `since` to the
        one holding `until` (None: the database's clock now), empty slices included:
        the messages first seen in each slice and how they are doing now.

        `bucket` must divide a day into whole slices of at least a minute, and
        `since` and `until` must be aware, else `ValueError`.  With `tag`, only the
        messages registered with that tag count.  The figures equal a recount of the
        rows, even while others write.
        """
        return _stats.stats(
            connection, self._name, since=since, until=until, bucket=bucket, tag=tag
        )

    def pending(self, connection: Any, older_than: timedelta) -> list[int]:
        """The ids, in order, whose state is not final and whose row has not changed
        for at least `older_than` by the database's clock: what recovery should ask
        the gateway about."""
        dialect = _dialect(connection)
        with dialect.transaction(connection, write=False) as cursor:
            found = dialect.pending(cursor, self._name, older_than)
            return [id_sms for (id_sms,) in found]


# --- between reports and rows ----------------------------------------------------


def _holdable(
    dialect: _Dialect, reports: Iterable[StatusReport]
) -> tuple[dict[int, StatusReport], list[_Row]]:
    """The furthest-along report of each id, in first-appearance order, and their
    rows, in id order; the reports the table cannot hold are logged and left out of
    both."""
    # Every saved report passes through this loop, so it is written for speed: one
    # pass, no Python-level call per report for a time as the decoders give it
    # (naive, whole seconds), `_value_` rather than the `Status.value` property (a
    # Python-level descriptor, ten times slower), one sort of the finished rows.
    reports = tuple(reports)
    kept = {report.id_sms: report for report in reports}
    if len(kept) < len(reports):  # an id repeats (receive_batch has none left)
        kept = collapse(reports)
    bind = dialect.bind_time
    rows: list[_Row] = []
    refused = []
    for id_sms, report in kept.items():
        time, offset = report.time, None
        if id_sms > _MAX_ID:
            refused.append(id_sms)
            continue
        if time is not None:
            if time.tzinfo is None and not time.microsecond:
                time = bind(time)  # a wall clock to the second already
            else:
                columns = _time_columns(bind, time)
                if columns is None:
                    refused.append(id_sms)
                    continue
                time, offset = columns
        sms, viber = report.sms, report.viber
        rows.append(
            (
                id_sms,
                time,
                offset,
                report.state._value_,
                None if sms is None else sms._value_,
                None if viber is None else viber._value_,
            )
        )
    for id_sms in refused:
        logger.warning(
            "id_sms=%d cannot be stored (ids go up to 2**63 - 1, times must "
            "fit years 1-9999 in UTC); it is not taken: %r",
            id_sms,
            kept.pop(id_sms),
        )
    rows.sort()  # by id_sms alone: the ids are distinct
    return kept, rows


def _time_columns(
    bind: Callable[[datetime], Any], time: datetime
) -> tuple[Any, int | None] | None:
    """`time` as its `time` and `time_offset` columns, or None when its UTC instant
    is out of datetime's range."""
    delta = time.utcoffset()
    wall = time.replace(tzinfo=None, microsecond=0)
    if delta is None:
        return bind(wall), None
    try:
        utc = wall - delta
    except OverflowError:
        return None
    return bind(utc), int(delta.total_seconds())


def _reports(dialect: _Dialect, rows: Iterable[Any]) -> dict[int, StatusReport]:
    found = {}
    for id_sms, stored, offset, state, sms, viber in rows:
        time = None if stored is None else dialect.read_time(stored)
        if time is not None and offset is not None:
            zone = timezone(timedelta(seconds=offset))
            time = (time + timedelta(seconds=offset)).replace(tzinfo=zone)
        found[id_sms] = StatusReport(
            id_sms,
            time,
            Status(state),
            None if sms is None else Status(sms),
            None if viber is None else Status(viber),
        )
    return found


def connect_sqlite(
    path: str | os.PathLike[str], *, timeout: float = 30.0
) -> sqlite3.Connection:
    """Open a SQLite database the way concurrent writers need it.

    - WAL journal mode, so readers never block the writer nor the writer readers (it
      is stored in the file: every later connection gets it too);
    - a busy timeout of `timeout` seconds: a writer waits for the one write lock
      instead of failing with "database is locked";
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
