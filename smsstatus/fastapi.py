"""A FastAPI (Starlette) router that receives the gateway's statuses into a
`StatusTable`.

Needs the extra ``smsstatus[fastapi]``::

    app.include_router(
        smsstatus.fastapi.router(
            token=os.environ["SMSSTATUS_TOKEN"],
            connect=lambda: closing(sqlite3.connect("statuses.db")),
            timezone="Europe/Moscow",
        ),
        prefix="/sms",
    )

gives ``POST /sms/statuses/{token}`` (with or without a trailing slash) and
``GET /sms/statuses/health`` (readiness: 200, or 503 when the table cannot be
read).

Strategy: the body is read from the ASGI stream piece by piece and refused (413) as
soon as it passes `Limits.max_bytes`, or before reading anything when its declared
``Content-Length`` already does, so an oversized body never sits in memory whole
(Starlette itself sets no limit).  The delivery then goes to the ledger,
`StatusTable.receive` (statuses, history, bad items kept and acknowledged, a
`Webhook` row with the peer's address, one transaction whose waits are bounded on
PostgreSQL), in a worker thread with a connection from `connect` (the drivers are
blocking), so the event loop never waits on the database.  An `on_error` given
explicitly decides about bad items instead, as in 0.2 (`areceive_batch` and
`StatusTable.save`).  Any failure of the database (``connect`` included) is
answered 503 with ``Retry-After`` and logged as one line.  The routes are
Starlette's own (``add_route``), not FastAPI's: the endpoints take the `Request` and
read the token from its path, so no dependency is solved and nothing validated per
request (about 370 µs of CPU a delivery otherwise), and none is in the OpenAPI
schema, which must not show the token's place.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request, Response

from ._model import Limits, ReportError, StatusReport
from ._observe import unread
from ._receive import areceive_batch
from ._token import check_token, token_matches
from ._unavailable import DEFAULT_TIMEOUT, RETRY_AFTER, bound_waits, log_unavailable
from .sql import StatusTable

__all__ = ["router"]

_T = TypeVar("_T")


def router(
    *,
    token: str,
    connect: Callable[[], AbstractContextManager[Any]],
    timezone: str | tzinfo = "UTC",
    table: StatusTable | None = None,
    limits: Limits | None = None,
    on_error: Callable[[ReportError], Any] | None = None,
    keep_bodies: bool = False,
    db_timeout: float | None = DEFAULT_TIMEOUT,
    db_threads: int | None = None,
) -> APIRouter:
    """The router of ``POST statuses/{token}`` and ``GET statuses/health``.

    `token` is the secret part of the URL (at least 32 characters, else
    `ValueError`).  `connect` is called in a worker thread once per delivery and
    must return a context manager that gives a DB-API connection
    (``contextlib.closing(sqlite3.connect(path))``, ``psycopg.connect(dsn)``, a
    pool's ``connection``); `table` is the `StatusTable` to write (default
    ``StatusTable()``; call its ``create`` once).  `timezone` is the gateway's zone,
    a name or a `~datetime.tzinfo`.  Bodies over `limits` ``.max_bytes`` get 413.
    Bad items are kept and acknowledged by the ledger, unless `on_error` is given:
    it then decides, as `areceive_batch`'s (it may be a coroutine function).
    `keep_bodies` keeps every delivery's body in its `Webhook` row (not only
    refused ones and ones with bad items); `db_timeout` bounds, in seconds, how long
    a statement may wait for a lock or run on PostgreSQL (None: no bound).
    `db_threads` is how many deliveries may use the database at once in a process
    (None: as many as Starlette's thread pool runs, 40); 1 suits SQLite, which
    writes one at a time: the deliveries then queue for one thread, whose kept
    connection stays warm, instead of forty connections waiting on each other.
    """
    check_token(token)
    if db_threads is not None and db_threads < 1:
        raise ValueError(f"db_threads must be at least 1, not {db_threads}")
    zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    table = table or StatusTable()
    limits = limits or Limits()
    limiters: list[anyio.CapacityLimiter] = []

    async def in_thread(job: Callable[..., _T], *args: Any) -> _T:
        # Without db_threads, anyio's default limiter: Starlette's thread pool.
        if db_threads is not None and not limiters:
            # Made on first use: anyio makes one inside an event loop.
            limiters.append(anyio.CapacityLimiter(db_threads))
        limiter = limiters[0] if limiters else None
        return await anyio.to_thread.run_sync(job, *args, limiter=limiter)

    def receive(body: bytes, remote: str | None) -> Any:
        with connect() as connection, bound_waits(connection, db_timeout):
            return table.receive(
                connection,
                body,
                tz=zone,
                limits=limits,
                remote=remote,
                keep_body=keep_bodies,
            )

    def save(
        reports: tuple[StatusReport, ...], failed: list[Exception]
    ) -> frozenset[int]:
        try:
            with connect() as connection, bound_waits(connection, db_timeout):
                return table.save(connection, reports)
        except Exception as exc:
            # Raised again below: answered 503 (and logged once) rather than 200
            # with nothing taken.
            failed.append(exc)
            return frozenset()

    async def receive_with(body: bytes) -> Any:
        failed: list[Exception] = []

        async def store(reports: tuple[StatusReport, ...]) -> frozenset[int]:
            return await in_thread(save, reports, failed)

        ack = await areceive_batch(
            body, store, tz=zone, limits=limits, on_error=on_error
        )
        if failed:
            raise failed[0]
        return ack

    async def statuses(request: Request) -> Response:
        if not token_matches(request.path_params["token_in_url"], token):
            return Response(status_code=404)
        body = await _read_at_most(request, limits.max_bytes)
        if isinstance(body, int):
            unread(code=413, size=body)
            return Response(status_code=413, headers={"Connection": "close"})
        try:
            if on_error is None:
                remote = request.client.host if request.client else None
                ack = await in_thread(receive, body, remote)
            else:
                ack = await receive_with(body)
        except Exception as exc:
            log_unavailable(exc)
            return _unavailable()
        return Response(ack.body, status_code=ack.status, media_type=ack.content_type)

    def read_table() -> None:
        with connect() as connection:
            table.load(connection, [0])

    async def health(request: Request) -> Response:
        try:
            await in_thread(read_table)
        except Exception as exc:
            log_unavailable(exc, what="health check failed, answered 503")
            return _unavailable(b"unavailable\n")
        return Response(b"ok\n", media_type="text/plain")

    api = APIRouter()
    # Before the token's route, which it would match; a token is never "health".
    api.add_route("/statuses/health", health, methods=["GET"], include_in_schema=False)
    # Two routes rather than a redirect, which would lose a POST's body.
    for path in ("/statuses/{token_in_url}", "/statuses/{token_in_url}/"):
        api.add_route(path, statuses, methods=["POST"], include_in_schema=False)
    return api


def _unavailable(body: bytes = b"") -> Response:
    return Response(
        body,
        status_code=503,
        media_type="text/plain",
        headers={"Retry-After": str(RETRY_AFTER)},
    )


async def _read_at_most(request: Request, limit: int) -> bytes | int:
    """The request's body; when it is over `limit` (told by its Content-Length,
    before reading, or while reading), its size as far as known."""
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > limit:
        return int(declared)
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            return len(body)
    return bytes(body)
