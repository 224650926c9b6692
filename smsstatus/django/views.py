"""The views: ``POST statuses/<token>`` (the gateway's deliveries) and
``GET statuses/health`` (readiness).

Strategy
--------
- **The ledger's receive, on Django's connection.**  `StatusTable.receive` decodes,
  stores the latest rows and their history, keeps bad items (acknowledged), and logs
  the delivery as a `Webhook` row (with ``REMOTE_ADDR``), all in one transaction, on
  the connection `~smsstatus.django.ledger.table_connection` prepares (health check
  run, waits bounded).  The view is exempt from ``ATOMIC_REQUESTS``: outside a
  transaction, `StatusTable` opens its own, ``BEGIN IMMEDIATE`` on SQLite, so
  concurrent workers queue for the write lock instead of failing with "database is
  locked" halfway through a deferred transaction.
- **503 when the database fails.**  Any exception out of the store is answered 503
  with ``Retry-After`` (never a 200 that takes nothing, never a 500 page), logged as
  one line without the token or the body, and the connection is closed so that the
  next request opens a new one.
- **The body, whatever the transfer encoding.**  Django reads ``CONTENT_LENGTH``
  bytes, so a chunked request (no length; gunicorn de-chunks it) reaches
  ``request.body`` as ``b""``, and ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB) refuses
  a large batch.  The view reads the stream itself, up to `Limits.max_bytes`, and
  answers 413 beyond, before reading when the declared length is already too long.
- **The signal.**  ``status_changed`` goes out after the commit, once per changed
  row; the previous rows are read (which costs a statement) only when it has
  receivers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import router, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from smsstatus._model import Limits
from smsstatus._observe import unread
from smsstatus._stream import read_at_most
from smsstatus._token import token_matches
from smsstatus._unavailable import RETRY_AFTER, log_unavailable
from smsstatus.sql import Change

from . import conf
from .ledger import TABLE, announce, discard_failed, table_connection
from .models import Delivery
from .signals import status_changed

__all__ = ["health", "statuses"]

_View = TypeVar("_View", bound=Callable[..., Any])


def _login_not_required(view: _View) -> _View:
    # Django 5.1+: exempt from LoginRequiredMiddleware (the URL's token is the login).
    try:
        from django.contrib.auth.decorators import login_not_required
    except ImportError:  # pragma: no cover - Django < 5.1
        return view
    return login_not_required(view)


def _unavailable(body: bytes = b"") -> HttpResponse:
    response = HttpResponse(body, status=503, content_type="text/plain")
    response["Retry-After"] = str(RETRY_AFTER)
    # Logged already, as one line: not again by Django ("Service Unavailable:" and
    # the path, which holds the token, on logger django.request).
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


@csrf_exempt  # the gateway posts no CSRF token; the secret URL token stands in
@_login_not_required
@require_POST
def statuses(request: HttpRequest, token: str) -> HttpResponse:
    """``POST .../statuses/<token>``: store the delivery, answer with its `Ack`.

    404 for a wrong token (or none configured), 405 for another method, 413 for a
    body over `Limits.max_bytes`, 400 for a document that cannot be read, 503 (with
    ``Retry-After``) when the database fails.
    """
    if not token_matches(token, conf.token()):
        raise Http404
    limits = Limits()
    body = read_body(request, limits.max_bytes)
    if body is None:
        declared = request.META.get("CONTENT_LENGTH") or ""
        # The declared length, else as far as it was read.
        size = int(declared) if declared.isdecimal() else 0
        unread(code=413, size=max(size, limits.max_bytes + 1))
        return HttpResponse(status=413)
    alias = router.db_for_write(Delivery)
    # The previous rows are read (a statement more) only for the signal's receivers.
    listened = status_changed.has_listeners(Delivery)
    changes: list[Change] | None = [] if listened else None
    try:
        with table_connection(alias, timeout=conf.db_timeout()) as connection:
            ack = TABLE.receive(
                connection,
                body,
                tz=conf.gateway_timezone(),
                limits=limits,
                remote=request.META.get("REMOTE_ADDR") or None,
                keep_body=conf.keep_bodies(),
                changes=changes,
            )
    except Exception as exc:
        discard_failed(alias)
        log_unavailable(exc)
        return _unavailable()
    announce(alias, changes or ())
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)


@_login_not_required
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """``GET .../statuses/health``: 200 when a read of the statuses' table succeeds,
    else 503 (for a load balancer's or an orchestrator's readiness probe)."""
    alias = router.db_for_read(Delivery)
    try:
        with table_connection(alias) as connection:
            TABLE.load(connection, [0])
    except Exception as exc:
        discard_failed(alias)
        log_unavailable(exc, what="health check failed, answered 503")
        return _unavailable(b"unavailable\n")
    return HttpResponse(b"ok\n", content_type="text/plain")


# Out of ATOMIC_REQUESTS on every database, not only the default one: the delivery
# is committed by StatusTable itself (on SQLite with BEGIN IMMEDIATE, which a
# deferred transaction opened by Django would defeat), and a database that is down
# must give the views' 503, not the 500 of a transaction that could not begin.
for _alias in settings.DATABASES:
    transaction.non_atomic_requests(using=_alias)(statuses)
    transaction.non_atomic_requests(using=_alias)(health)


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
