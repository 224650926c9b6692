"""The receiver as an ASGI application: what each worker process of ``smsstatus
serve`` runs.

Strategy.  A bare ASGI callable, no framework: four routes do not need one, and the
request path stays as short as the server allows.  The event loop only moves bytes
(reading a body, however slowly its sender writes, holds no database connection);
everything that touches the database runs in the worker's database threads (one on
SQLite, four on PostgreSQL), each owning one connection, opened on first use and
reopened after any failure, so a restarted PostgreSQL server costs the requests made
while it was gone (503, the gateway retries) and nothing after.  A delivery is
decoded and stored by `StatusTable.receive`; the worker answers what it returns, or
503 with ``Retry-After`` when it raised.  The token is checked before the body is
read, in constant time, and a wrong one is 404, as for any unknown path.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from smsstatus._model import Limits
from smsstatus._observe import unread
from smsstatus._token import check_token, token_matches
from smsstatus.sql import StatusTable
from smsstatus.sql._url import connect

from ._settings import Settings

__all__ = ["Receiver"]

logger = logging.getLogger("smsstatus.serve")

T = TypeVar("T")
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_STATUSES = "/statuses/"
# Seconds the gateway (or a load balancer) is asked to wait after a 503.
_RETRY_AFTER = b"5"
# A health check that waits longer than this for the database says 503.
_HEALTH_TIMEOUT = 5.0
_TEXT = b"text/plain; charset=utf-8"
_REALM = b'Basic realm="smsstatus", charset="UTF-8"'


class Receiver:
    """The standalone receiver, an ASGI 3 application (see the module's strategy).

    `settings` says where the ledger is and how to read documents; the token comes
    from the environment variable ``SMSSTATUS_TOKEN`` (checked here: `ValueError`
    when missing or shorter than 32 characters).  Routes: ``POST
    /statuses/<token>``, ``GET /healthz``, ``GET /metrics`` (`metrics` returns the
    exposition's content type and bytes) and ``GET /dashboard`` (when the settings
    name a password file).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        token: str | None,
        metrics: Callable[[], tuple[str, bytes]],
    ) -> None:
        self._token = check_token(token)
        self._settings = settings
        self._table = StatusTable()
        self._limits = Limits()
        self._zone = settings.zone()
        self._metrics = metrics
        self._password = settings.dashboard_password()
        # SQLite has one writer at a time: a second thread would only wait for the
        # lock.  A PostgreSQL server takes concurrent writes, and its round trips
        # leave a single connection idle half the time.
        threads = 1 if settings.db.startswith("sqlite:") else 4
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="smsstatus-db")
        self._local = threading.local()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one ASGI connection scope."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    # --- the database threads ---------------------------------------------------

    def _with_connection(self, job: Callable[[Any], T]) -> T:
        """Run `job` on this database thread's connection; after any failure the
        connection is closed, so the next job opens a fresh one."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = connect(self._settings.db)
        try:
            return job(connection)
        except BaseException:
            self._close()
            raise

    def _close(self) -> None:
        connection, self._local.connection = self._local.connection, None
        with contextlib.suppress(Exception):  # a broken one may fail to close
            connection.close()

    async def _database(self, job: Callable[[Any], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._with_connection, job)

    # --- routes -----------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        if path.startswith(_STATUSES):
            token = path[len(_STATUSES) :]
            token = token[:-1] if token.endswith("/") else token
            if "/" in token or not token_matches(token, self._token):
                await _answer(send, 404)
            elif method != "POST":
                await _answer(send, 405, headers=[(b"allow", b"POST")])
            else:
                await self._statuses(scope, receive, send)
            return
        route = _ROUTES.get(path)
        if route is None or (route == "dashboard" and self._password is None):
            await _answer(send, 404)
        elif method not in ("GET", "HEAD"):
            await _answer(send, 405, headers=[(b"allow", b"GET, HEAD")])
        elif route == "healthz":
            await self._healthz(send)
        elif route == "metrics":
            await self._metrics_page(send)
        else:
            await self._dashboard(scope, send)

    async def _statuses(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(scope, receive, self._limits.max_bytes)
        if isinstance(body, int):
            unread(code=413, size=body)  # a document too, for the metrics and the log
            await _answer(send, 413)
            return
        if body is None:
            return  # the sender went away
        client = scope.get("client")
        remote = client[0] if client else None

        def store(connection: Any) -> Any:
            return self._table.receive(
                connection, body, tz=self._zone, limits=self._limits, remote=remote
            )

        try:
            ack = await self._database(store)
        except Exception as exc:
            logger.warning(
                "a delivery was answered 503: the database failed (%s)",
                type(exc).__name__,
            )
            await _answer(send, 503, headers=[(b"retry-after", _RETRY_AFTER)])
            return
        await _answer(
            send,
            ack.status,
            ack.body,
            content_type=ack.content_type.encode("latin-1"),
        )

    async def _healthz(self, send: Send) -> None:
        query = f"SELECT 1 FROM {self._table.name} LIMIT 1"

        def read(connection: Any) -> None:
            # No transaction is left open: sqlite3 opens none for a SELECT, and
            # the PostgreSQL connection is in autocommit mode.
            connection.execute(query).fetchall()

        try:
            await asyncio.wait_for(self._database(read), _HEALTH_TIMEOUT)
        except Exception as exc:
            await _answer(send, 503, f"unhealthy: {type(exc).__name__}\n".encode())
            return
        await _answer(send, 200, b"ok\n")

    async def _metrics_page(self, send: Send) -> None:
        content_type, data = self._metrics()
        await _answer(send, 200, data, content_type=content_type.encode("latin-1"))

    async def _dashboard(self, scope: Scope, send: Send) -> None:
        assert self._password is not None
        if not _authorized(scope, self._password):
            await _answer(send, 401, headers=[(b"www-authenticate", _REALM)])
            return
        from smsstatus import dashboard

        try:
            page = await self._database(
                lambda connection: dashboard.page(
                    dashboard.collect(connection, self._table)
                )
            )
        except Exception as exc:
            await _answer(send, 503, f"unavailable: {type(exc).__name__}\n".encode())
            return
        await _answer(
            send, 200, page.encode(), content_type=b"text/html; charset=utf-8"
        )

    # --- lifespan ---------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                # The server has finished every request by now.
                self._executor.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


_ROUTES = {"/healthz": "healthz", "/metrics": "metrics", "/dashboard": "dashboard"}


async def _read_body(
    scope: Scope, receive: Receive, max_bytes: int
) -> bytes | int | None:
    """The request's body; when it is over `max_bytes` (told by its Content-Length,
    before reading, or while reading), its size as far as known; None when the
    sender went away."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > max_bytes:
            return int(value)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            return size
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _authorized(scope: Scope, password: str) -> bool:
    """Whether the request carries HTTP basic credentials with `password` (any user
    name), compared in constant time."""
    for name, value in scope["headers"]:
        if name != b"authorization":
            continue
        scheme, _, encoded = value.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        given = decoded.partition(b":")[2]
        return hmac.compare_digest(given, password.encode())
    return False


async def _answer(
    send: Send,
    status: int,
    body: bytes = b"",
    *,
    content_type: bytes = _TEXT,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
