"""A Flask blueprint that receives the gateway's statuses into a `StatusTable`.

Needs the extra ``smsstatus[flask]``::

    app.config["SMSSTATUS_TOKEN"] = "a long random string, at least 32 characters"
    app.config["SMSSTATUS_TIMEZONE"] = "Europe/Moscow"  # the gateway's zone
    app.register_blueprint(
        smsstatus.flask.blueprint(lambda: closing(sqlite3.connect("statuses.db"))),
        url_prefix="/sms",
    )

gives ``POST /sms/statuses/<token>`` (with or without a trailing slash).

Strategy: the application owns its database; the blueprint asks it, once per
request, for a context manager that gives a DB-API connection (``sqlite3`` or
``psycopg`` 3), and stores the whole batch with one `StatusTable.save` on it.  The
token and the zone are read from ``app.config`` when the blueprint is registered, so
a missing or short token stops the application at start-up rather than answering 404
to every delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, request
from flask.blueprints import BlueprintSetupState

from ._model import Limits, ReportError, StatusReport
from ._receive import receive_batch
from ._stream import read_at_most
from ._token import check_token, token_matches
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
    """The blueprint of ``POST statuses/<token>``.

    `connect` is called once per delivery and must return a context manager that
    gives a DB-API connection (``contextlib.closing(sqlite3.connect(path))``,
    ``psycopg.connect(dsn)``, a pool's ``connection``); `table` is the
    `StatusTable` to write (default ``StatusTable()``, which must exist: call its
    ``create`` once).  Bodies over `limits` ``.max_bytes`` get 413; `on_error` is
    `receive_batch`'s.  Configuration, from ``app.config``: ``SMSSTATUS_TOKEN``
    (required, at least 32 characters, else registering raises `ValueError`) and
    ``SMSSTATUS_TIMEZONE`` (the gateway's zone, default ``"UTC"``).
    """
    table = table or StatusTable()
    limits = limits or Limits()
    bp = Blueprint(name, __name__)

    @bp.record
    def configure(state: BlueprintSetupState) -> None:
        check_token(state.app.config.get("SMSSTATUS_TOKEN"))
        ZoneInfo(state.app.config.get("SMSSTATUS_TIMEZONE", "UTC"))

    def statuses(token: str) -> Response:
        config = current_app.config
        if not token_matches(token, config["SMSSTATUS_TOKEN"]):
            abort(404)
        if (request.content_length or 0) > limits.max_bytes:
            abort(413)  # before reading any of it
        # request.stream is de-chunked by the server (wsgi.input_terminated).
        body = read_at_most(request.stream, limits.max_bytes)
        if body is None:
            abort(413)
        with connect() as connection:

            def store(reports: tuple[StatusReport, ...]) -> frozenset[int]:
                return table.save(connection, reports)

            ack = receive_batch(
                body,
                store,
                tz=ZoneInfo(config.get("SMSSTATUS_TIMEZONE", "UTC")),
                limits=limits,
                on_error=on_error,
            )
        return Response(ack.body, status=ack.status, content_type=ack.content_type)

    # Two rules rather than strict_slashes: never a redirect, which loses a POST.
    for rule in ("/statuses/<token>", "/statuses/<token>/"):
        bp.add_url_rule(rule, "statuses", statuses, methods=["POST"])
    return bp
