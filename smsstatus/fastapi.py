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

gives ``POST /sms/statuses/{token}`` (with or without a trailing slash).

Strategy: the body is read from the ASGI stream piece by piece and refused (413) as
soon as it passes `Limits.max_bytes`, or before reading anything when its declared
``Content-Length`` already does, so an oversized body never sits in memory whole
(Starlette itself sets no limit).  The batch is stored with `areceive_batch` and one
`StatusTable.save`, which runs in a worker thread with a connection from `connect`
(the drivers are blocking), so the event loop never waits on the database.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ._model import Limits, ReportError, StatusReport
from ._receive import areceive_batch
from ._token import check_token, token_matches
from .sql import StatusTable

__all__ = ["router"]


def router(
    *,
    token: str,
    connect: Callable[[], AbstractContextManager[Any]],
    timezone: str | tzinfo = "UTC",
    table: StatusTable | None = None,
    limits: Limits | None = None,
    on_error: Callable[[ReportError], Any] | None = None,
) -> APIRouter:
    """The router of ``POST statuses/{token}``.

    `token` is the secret part of the URL (at least 32 characters, else
    `ValueError`).  `connect` is called in a worker thread once per delivery and
    must return a context manager that gives a DB-API connection
    (``contextlib.closing(sqlite3.connect(path))``, ``psycopg.connect(dsn)``, a
    pool's ``connection``); `table` is the `StatusTable` to write (default
    ``StatusTable()``; call its ``create`` once).  `timezone` is the gateway's zone,
    a name or a `~datetime.tzinfo`.  Bodies over `limits` ``.max_bytes`` get 413;
    `on_error` is `areceive_batch`'s (it may be a coroutine function).
    """
    check_token(token)
    zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    table = table or StatusTable()
    limits = limits or Limits()

    def save(reports: tuple[StatusReport, ...]) -> frozenset[int]:
        with connect() as connection:
            return table.save(connection, reports)

    async def store(reports: tuple[StatusReport, ...]) -> frozenset[int]:
        return await run_in_threadpool(save, reports)

    async def statuses(token_in_url: str, request: Request) -> Response:
        if not token_matches(token_in_url, token):
            return Response(status_code=404)
        body = await _read_at_most(request, limits.max_bytes)
        if body is None:
            return Response(status_code=413, headers={"Connection": "close"})
        ack = await areceive_batch(
            body, store, tz=zone, limits=limits, on_error=on_error
        )
        return Response(ack.body, status_code=ack.status, media_type=ack.content_type)

    api = APIRouter()
    # Two routes rather than a redirect, which would lose a POST's body.
    for path in ("/statuses/{token_in_url}", "/statuses/{token_in_url}/"):
        api.add_api_route(path, statuses, methods=["POST"], include_in_schema=False)
    return api


async def _read_at_most(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > limit:
        return None
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            return None
    return bytes(body)
