"""The view the gateway posts to: check the token, read the body, store the batch.

Strategy
--------
- **One statement per batch, on Django's connection.**  `StatusTable.update` writes
  the whole batch with a conditional upsert through the raw DB-API connection of the
  database Django routes `Delivery` writes to (``sqlite3`` or ``psycopg`` 3), and says
  which rows changed, for the signal.  The view is exempt from ``ATOMIC_REQUESTS``:
  outside a transaction, `StatusTable` opens its own, ``BEGIN IMMEDIATE`` on SQLite,
  so concurrent workers queue for the write lock instead of failing with "database is
  locked" halfway through a deferred transaction.
- **The body, whatever the transfer encoding.**  Django reads ``CONTENT_LENGTH``
  bytes, so a chunked request (no length; gunicorn de-chunks it) reaches
  ``request.body`` as ``b""``, and ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB) refuses
  a large batch.  The view reads the stream itself, up to `Limits.max_bytes`, and
  answers 413 beyond, before reading when the declared length is already too long.
- **Nothing lost, nothing re-sent in vain.**  An item that is not a valid status is
  kept as a `RejectedItem` and acknowledged; ``status_changed`` goes out after the
  commit, once per changed row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections, router, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from smsstatus._model import Limits, ReportError, StatusReport
from smsstatus._receive import receive_batch
from smsstatus._stream import read_at_most
from smsstatus._token import token_matches
from smsstatus.sql import Change, StatusTable

from . import conf
from .models import Delivery, RejectedItem
from .signals import status_changed

__all__ = ["statuses"]

logger = logging.getLogger("smsstatus")

_TABLE = StatusTable(Delivery._meta.db_table)
_MAX_BIGINT = 2**63 - 1

_View = TypeVar("_View", bound=Callable[..., Any])


def _login_not_required(view: _View) -> _View:
    # Django 5.1+: exempt from LoginRequiredMiddleware (the URL's token is the login).
    try:
        from django.contrib.auth.decorators import login_not_required
    except ImportError:  # pragma: no cover - Django < 5.1
        return view
    return login_not_required(view)


@csrf_exempt  # the gateway posts no CSRF token; the secret URL token stands in
@_login_not_required
@require_POST
def statuses(request: HttpRequest, token: str) -> HttpResponse:
    """``POST .../statuses/<token>``: store the batch, answer with its `Ack`.

    404 for a wrong token (or none configured), 405 for another method, 413 for a
    body over `Limits.max_bytes`, 400 for a document that cannot be read.
    """
    if not token_matches(token, conf.token()):
        raise Http404
    limits = Limits()
    body = read_body(request, limits.max_bytes)
    if body is None:
        return HttpResponse(status=413)
    alias = router.db_for_write(Delivery)
    ack = receive_batch(
        body,
        partial(_store, alias),
        tz=conf.gateway_timezone(),
        limits=limits,
        on_error=partial(_reject, alias),
    )
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)


# Out of ATOMIC_REQUESTS on every database, not only the default one: the batch is
# committed by StatusTable itself (on SQLite with BEGIN IMMEDIATE, which a deferred
# transaction opened by Django would defeat).
for _alias in settings.DATABASES:
    transaction.non_atomic_requests(using=_alias)(statuses)


def read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The request's body, or None when it is longer than `limit` bytes.

    With a ``Content-Length``, that many bytes through Django's own stream (which
    never reads past it; ``request.read`` skips ``DATA_UPLOAD_MAX_MEMORY_SIZE``);
    chunked (no length), the server's de-chunked ``wsgi.input`` up to its end, or
    under ASGI (no ``wsgi.input``) Django's own stream, which is the whole body.
    """
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    declared = request.META.get("CONTENT_LENGTH") or ""
    if not chunked and declared.isdecimal():
        if int(declared) > limit:
            return None
        stream: Any = request
    else:
        stream = request.META.get("wsgi.input", request)
    return read_at_most(stream, limit)


def _store(alias: str, reports: tuple[StatusReport, ...]) -> frozenset[int]:
    connection = connections[alias]
    if connection.in_atomic_block:
        # Called inside a transaction of the caller's (a test, a view of their own):
        # a savepoint, which also makes Django really begin that transaction (it
        # begins lazily on PostgreSQL), so that StatusTable joins it.
        with transaction.atomic(using=alias), connection.wrap_database_errors:
            update = _TABLE.update(connection.connection, reports)
    else:
        connection.ensure_connection()
        # Django's wrapper marks the connection as having failed, so that a broken
        # persistent connection (CONN_MAX_AGE) is closed at the end of the request.
        with connection.wrap_database_errors:
            update = _TABLE.update(connection.connection, reports)
    for change in update.changes:
        # Runs at once when StatusTable committed on its own (autocommit); after
        # the caller's commit when the view is called inside a transaction.
        transaction.on_commit(partial(_announce, change), using=alias)
    return update.taken


def _announce(change: Change) -> None:
    for receiver, result in status_changed.send_robust(
        sender=Delivery, report=change.report, previous=change.previous
    ):
        if isinstance(result, Exception):
            logger.error(
                "status_changed receiver %r failed for id_sms=%d",
                receiver,
                change.report.id_sms,
                exc_info=result,
            )


def _reject(alias: str, error: ReportError) -> bool:
    id_sms = error.id_sms
    RejectedItem.objects.using(alias).create(
        # An id too big for the column is still in `raw`.
        id_sms=id_sms if id_sms is not None and id_sms <= _MAX_BIGINT else None,
        reason=error.reason,
        raw=error.raw,
    )
    return True
