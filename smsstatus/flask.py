"""A Flask blueprint that receives the gateway's statuses into a `StatusTable`.

Needs the extra ``smsstatus[flask]``::

    app.config["SMSSTATUS_TOKEN"] = "a long random string, at least 32 characters"
    app.config["SMSSTATUS_TIMEZONE"] = "Europe/Moscow"  # the gateway's zone
    app.register_blueprint(
        smsstatus.flask.blueprint(lambda: closing(sqlite3.connect("statuses.db"))),
        url_prefix="/sms",
    )

gives ``POST /sms/statuses/<token>`` (with or without a trailing slash) and
``GET /sms/statuses/health`` (readiness: 200, or 503 when the table cannot be
read).

Strategy: the application owns its database; the blueprint asks it, once per
request, for a context manager that gives a DB-API connection (``sqlite3`` or
``psycopg`` 3), and hands the delivery to the ledger, `StatusTable.receive`, on it:
the statuses and their history stored, bad items kept and acknowledged, a `Webhook`
row with the peer's address, in one transaction whose waits are bounded on
PostgreSQL (``SMSSTATUS_DB_TIMEOUT``).  An `on_error` given explicitly decides about
bad items instead, as in 0.2 (`receive_batch` and `StatusTable.save`).  Any failure
of the database (``connect`` included) is answered 503 with ``Retry-After`` and
logged as one line, never as Flask's 500 page and its log of the URL, which holds
the token.  The token and the zone are read from ``app.config`` when the blueprint
is registered, so a missing or short token stops the application at start-up
rather than answering 404 to every delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, request
from flask.blueprints import BlueprintSetupState

from ._model import Limits, ReportError, StatusReport
from ._observe import unread
from ._receive import receive_batch
from ._stream import read_at_most
from ._token import check_token, token_matches
from ._unavailable import DEFAULT_TIMEOUT, RETRY_AFTER, bound_waits, log_unavailable
from .sql import StatusTable

__all__ = ["blueprint"]

Connect = Callable[[], AbstractContextManager[Any]]


def blueprint(
    connect: Connect,
    *,
    table: StatusTable | None = None,
    limits: Limits | None = None,
    on_error: Callable[[ReportError], bool] | None = None,
    name: str = "smsstatus",
) -> Blueprint:
    """The blueprint of ``POST statuses/<token>`` and ``GET statuses/health``.

    `connect` is called once per request and must return a context manager that
    gives a DB-API connection (``contextlib.closing(sqlite3.connect(path))``,
    ``psycopg.connect(dsn)``, a pool's ``connection``); `table` is the
    `StatusTable` to write (default ``StatusTable()``, which must exist: call its
    ``create`` once).  Bodies over `limits` ``.max_bytes`` get 413.  Bad items are
    kept and acknowledged by the ledger, unless `on_error` is given: it then
    decides, as `receive_batch`'s.  Configuration, from ``app.config``:
    ``SMSSTATUS_TOKEN`` (required, at least 32 characters, else registering raises
    `ValueError`), ``SMSSTATUS_TIMEZONE`` (the gateway's zone, default ``"UTC"``),
    ``SMSSTATUS_KEEP_BODIES`` (keep every body, default False) and
    ``SMSSTATUS_DB_TIMEOUT`` (seconds a statement may wait on PostgreSQL, default
    10; None for no bound).
    """
    table = table or StatusTable()
    limits = limits or Limits()
    bp = Blueprint(name, __name__)

    @bp.record
    def configure(state: BlueprintSetupState) -> None:
        check_token(state.app.config.get("SMSSTATUS_TOKEN"))
        ZoneInfo(state.app.config.get("SMSSTATUS_TIMEZONE", "UTC"))

    def store(connection: Any, body: bytes) -> Any:
        config = current_app.config
        zone = ZoneInfo(config.get("SMSSTATUS_TIMEZONE", "UTC"))
        with bound_waits(
            connection, config.get("SMSSTATUS_DB_TIMEOUT", DEFAULT_TIMEOUT)
        ):
            if on_error is None:
                return table.receive(
                    connection,
                    body,
                    tz=zone,
                    limits=limits,
                    remote=request.remote_addr,
                    keep_body=bool(config.get("SMSSTATUS_KEEP_BODIES", False)),
                )
            return _receive_with(on_error, table, connection, body, zone, limits)

    def statuses(token: str) -> Response:
        if not token_matches(token, current_app.config["SMSSTATUS_TOKEN"]):
            abort(404)
        declared = request.content_length or 0
        if declared > limits.max_bytes:
            unread(code=413, size=declared)
            abort(413)  # before reading any of it
        # request.stream is de-chunked by the server (wsgi.input_terminated).
        body = read_at_most(request.stream, limits.max_bytes)
        if body is None:
            unread(code=413, size=limits.max_bytes + 1)  # as far as it was read
            abort(413)
        try:
            with connect() as connection:
                ack = store(connection, body)
        except Exception as exc:
            log_unavailable(exc)
            return _unavailable()
        return Response(ack.body, status=ack.status, content_type=ack.content_type)

    def health() -> Response:
        try:
            with connect() as connection:
                table.load(connection, [0])
        except Exception as exc:
            log_unavailable(exc, what="health check failed, answered 503")
            return _unavailable(b"unavailable\n")
        return Response(b"ok\n", content_type="text/plain")

    # Before the token's rule, which it would match; a token is never "health".
    bp.add_url_rule("/statuses/health", "health", health, methods=["GET"])
    # Two rules rather than strict_slashes: never a redirect, which loses a POST.
    for rule in ("/statuses/<token>", "/statuses/<token>/"):
        bp.add_url_rule(rule, "statuses", statuses, methods=["POST"])
    return bp


def _unavailable(body: bytes = b"") -> Response:
    return Response(
        body,
        status=503,
        content_type="text/plain",
        headers={"Retry-After": str(RETRY_AFTER)},
    )


def _receive_with(
    on_error: Callable[[ReportError], bool],
    table: StatusTable,
    connection: Any,
    body: bytes,
    zone: ZoneInfo,
    limits: Limits,
) -> Any:
    """0.2's way, for an explicit `on_error`: `receive_batch` and `StatusTable.save`;
    a failure of the save still propagates (to be answered 503 and logged once),
    rather than being answered 200 with nothing taken."""
    failed: list[Exception] = []

    def save(reports: tuple[StatusReport, ...]) -> frozenset[int]:
        try:
            return table.save(connection, reports)
        except Exception as exc:
            failed.append(exc)
            return frozenset()

    ack = receive_batch(body, save, tz=zone, limits=limits, on_error=on_error)
    if failed:
        raise failed[0]
    return ack
