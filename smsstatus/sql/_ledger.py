"""Reading the ledger, and pruning it: `pending`, `history`, `webhooks`, `rejected`,
`prune`.

Strategy.  Plain statements both databases accept (``%s`` placeholders, the dialect
turns them into SQLite's), each time column selected as the dialect wants to read
it (PostgreSQL: ``AT TIME ZONE 'UTC'``, so that no session time zone can push a time
out of Python's range).  Every cut-off by age is computed once from the database's
own clock, then bound: the rows compared were stamped by that clock too, whatever the
clocks of the machines that wrote them.  Lists are keyset-paged on the ids (``WHERE
id < before_id ORDER BY id DESC``), which stays as fast on the millionth page as on
the first.  `prune` deletes a thousand rows a transaction, so a concurrent `receive`
waits for one small batch at most.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from smsstatus._model import Format

from ._dialect import COLUMNS, FINAL_STATES, MAX_ID, Names, dialect_of, rank
from ._records import Event, Pruned, Rejected, Webhook
from ._rows import report_of

__all__ = ["history", "pending", "prune", "rejected", "webhooks"]

PRUNE_BATCH = 1000


def _check_limit(limit: int | None, *, optional: bool) -> None:
    if (limit is None and optional) or (type(limit) is int and limit >= 0):
        return
    raise ValueError(f"limit must be an int >= 0, not {limit!r}")


def _cutoff(dialect: Any, cursor: Any, older_than: timedelta) -> Any:
    """The database's clock now minus `older_than`, bound; None when that is before
    year 1 (nothing can be older)."""
    try:
        return dialect.bind_clock(dialect.now(cursor) - older_than)
    except OverflowError:
        return None


def pending(
    names: Names, connection: Any, older_than: timedelta, limit: int | None
) -> list[int]:
    _check_limit(limit, optional=True)
    dialect = dialect_of(connection)
    with dialect.transaction(connection, write=False) as cursor:
        cutoff = _cutoff(dialect, cursor, older_than)
        if cutoff is None or limit == 0:
            return []
        statement = (
            f"SELECT id_sms FROM {names.latest} WHERE state NOT IN ({FINAL_STATES})"
            " AND changed_at <= %s ORDER BY changed_at, id_sms"
        )
        parameters: list[Any] = [cutoff]
        if limit is not None:
            statement += " LIMIT %s"
            parameters.append(limit)
        found = dialect.execute(cursor, statement, parameters)
        return [id_sms for (id_sms,) in found]


def history(names: Names, connection: Any, id_sms: int) -> list[Event]:
    dialect = dialect_of(connection)
    if not 0 <= id_sms <= MAX_ID:
        return []
    columns = COLUMNS.replace("time,", f"{dialect.utc('time')},")
    with dialect.transaction(connection, write=False) as cursor:
        found = dialect.execute(
            cursor,
            f"SELECT {columns}, {dialect.utc('received_at')}, source, webhook_id"
            f" FROM {names.event} WHERE id_sms = %s"
            f" ORDER BY time IS NOT NULL, time, {rank('state')}, id",
            (id_sms,),
        ).fetchall()
    return [
        Event(report_of(dialect, *row[:6]), dialect.read_clock(row[6]), row[7], row[8])
        for row in found
    ]


def _page(
    names: Names,
    connection: Any,
    table: str,
    columns: str,
    limit: int,
    before_id: int | None,
) -> tuple[Any, list[Any]]:
    """The dialect, and the rows of `table`'s page: `columns` after the id and the
    time received."""
    _check_limit(limit, optional=False)
    dialect = dialect_of(connection)
    where, parameters = "", [limit]
    if before_id is not None and before_id <= MAX_ID:  # else: every id is below
        where, parameters = "WHERE id < %s", [before_id, limit]
    with dialect.transaction(connection, write=False) as cursor:
        found = dialect.execute(
            cursor,
            f"SELECT id, {dialect.utc('received_at')}, {columns} FROM {table}"
            f" {where} ORDER BY id DESC LIMIT %s",
            parameters,
        ).fetchall()
    return dialect, found


def webhooks(
    names: Names, connection: Any, limit: int, before_id: int | None
) -> list[Webhook]:
    dialect, found = _page(
        names,
        connection,
        names.webhook,
        "remote, format, size, sha256, code, reports, taken, rejected, refused, body",
        limit,
        before_id,
    )
    return [
        Webhook(
            row[0],
            dialect.read_clock(row[1]),
            row[2],
            None if row[3] is None else Format(row[3]),
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            row[10],
            None if row[11] is None else bytes(row[11]),
        )
        for row in found
    ]


def rejected(
    names: Names, connection: Any, limit: int, before_id: int | None
) -> list[Rejected]:
    dialect, found = _page(
        names,
        connection,
        names.rejected,
        "webhook_id, id_sms, reason, raw",
        limit,
        before_id,
    )
    return [
        Rejected(row[0], row[2], row[3], row[4], row[5], dialect.read_clock(row[1]))
        for row in found
    ]


def prune(names: Names, connection: Any, older_than: timedelta) -> Pruned:
    dialect = dialect_of(connection)
    with dialect.transaction(connection, write=False) as cursor:
        cutoff = _cutoff(dialect, cursor, older_than)
    tables = [names.event] if names.history else []
    tables += [names.webhook, names.rejected]
    counts = dict.fromkeys(tables, 0)
    for table in tables if cutoff is not None else ():
        while True:
            with dialect.transaction(connection, write=True) as cursor:
                deleted = dialect.execute(
                    cursor,
                    f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table}"
                    " WHERE received_at < %s LIMIT %s)",
                    (cutoff, PRUNE_BATCH),
                ).rowcount
            counts[table] += deleted
            if deleted < PRUNE_BATCH:
                break
    return Pruned(
        counts.get(names.event, 0), counts[names.webhook], counts[names.rejected]
    )
