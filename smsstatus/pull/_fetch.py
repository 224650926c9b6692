"""`fetch_states`: ask the gateway over HTTP, with the standard library only.

Strategy.  Every argument is checked and every request body written before the first
byte goes out, so a mistake costs no request.  Then one POST per chunk of ids, through
an opener that verifies certificates (the default SSL context) and follows no redirect
(a redirected POST would lose its body).  Each failure is sorted into one of three
exceptions, and each is raised *outside* the ``except`` block that caught the cause:
urllib's exceptions may quote the request, which holds the credentials, so none is
ever chained to what we raise (no ``__cause__``, no ``__context__``).  An answer is read
with a cap of one byte over `Limits.max_bytes`, so an endless or huge answer is refused
without being read to its end.
"""

from __future__ import annotations

import http.client
import logging
import math
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from datetime import tzinfo
from typing import Any

import attrs

from smsstatus._body import DEFAULT_LIMITS, parse_format
from smsstatus._errors import DecodeError, PayloadTooLarge, SmsStatusError
from smsstatus._model import Batch, Format, ReportError, StatusReport
from smsstatus._version import __version__

from ._answer import Answer, Detail, GatewayRefused, GatewayUnavailable
from ._answer import decode_state_answer as _decode_answer
from ._request import Credentials, StateRequest, state_request, unique_ids

__all__ = ["DEFAULT_BASE_URL", "fetch_states", "merge_answers"]

DEFAULT_BASE_URL = "https://my3.webcom.mobi"

logger = logging.getLogger("smsstatus")

_USER_AGENT = f"smsstatus/{__version__}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx answer then counts as a non-2xx one


def fetch_states(
    ids: Iterable[int],
    credentials: Credentials,
    *,
    base_url: str = DEFAULT_BASE_URL,
    format: Format | str = "xml",
    detail: bool = False,
    timeout: float = 30.0,
    chunk_size: int = 100,
    tz: tzinfo | None = None,
) -> Answer:
    """Ask the gateway for the latest status of each of `ids`; one `Answer` for all.

    `ids` (any iterable, read once) are deduplicated in their first order and sent
    `chunk_size` at a time, each POST to `base_url` (trailing ``/`` removed, its path
    kept) plus the request's path, with `timeout` seconds for each.  The answers are
    merged in order; ids the gateway sent without being asked are kept.

    Arguments that cannot make a request raise `ValueError` before any is made.
    After that only `GatewayRefused` (the gateway's error text), `GatewayUnavailable`
    (the gateway could not be asked; try again later) and `DecodeError` (a 2xx answer
    that is not an answer document) escape.  No secret is logged or put in an
    exception.
    """
    chosen = parse_format(format)
    wanted = unique_ids(ids)
    if type(chunk_size) is not int or chunk_size < 1:
        raise ValueError(f"chunk_size must be an int >= 1, not {chunk_size!r}")
    if not isinstance(timeout, int | float) or not 0 < timeout < math.inf:
        raise ValueError(f"timeout must be a number of seconds > 0, not {timeout!r}")
    url = _base(base_url)
    chunks = [wanted[at : at + chunk_size] for at in range(0, len(wanted), chunk_size)]
    requests = [
        state_request(chunk, credentials, format=chosen, detail=detail)
        for chunk in chunks
    ]
    https = urllib.request.HTTPSHandler(context=ssl.create_default_context())
    opener = urllib.request.build_opener(_NoRedirects(), https)
    answers = []
    for chunk, request in zip(chunks, requests, strict=True):
        logger.debug("asking %s%s about %d ids", url, request.path, len(chunk))
        answers.append(_ask(opener, url, request, timeout, tz, credentials))
    return merge_answers(answers, chosen)


def _base(base_url: str) -> str:
    try:
        parts = urllib.parse.urlsplit(base_url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except (TypeError, ValueError, AttributeError):
        raise ValueError(f"base_url is not a URL: {str(base_url)[:100]!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"base_url must be an http:// or https:// address, not {base_url[:100]!r}"
        )
    if parts.username is not None or parts.query or parts.fragment:
        # Credentials in the URL would travel and be shown where they must not.
        raise ValueError("base_url must hold no user, query or fragment")
    return base_url.rstrip("/")


def merge_answers(answers: Iterable[Answer], format: Format) -> Answer:
    """One `Answer` of several, in order; the items' indexes count on from one
    answer's items to the next, as if they were one document."""
    reports: list[StatusReport] = []
    errors: list[ReportError] = []
    details: dict[int, Detail] = {}
    offset = 0
    for answer in answers:
        batch = answer.batch
        reports.extend(batch.reports)
        errors.extend(attrs.evolve(e, index=e.index + offset) for e in batch.errors)
        details.update(answer.details)
        offset += len(batch.reports) + len(batch.errors)
    return Answer(Batch(format, tuple(reports), tuple(errors)), details)


def _ask(
    opener: urllib.request.OpenerDirector,
    url: str,
    request: StateRequest,
    timeout: float,
    tz: tzinfo | None,
    credentials: Credentials,
) -> Answer:
    where = url + request.path
    status, body, failure = _post(opener, where, request, timeout)
    if failure is not None:
        raise GatewayUnavailable(f"{where}: {credentials.redact(failure)}")
    refusal: SmsStatusError
    try:
        answer = _decode_answer(body, format=request.format, tz=tz)
    except GatewayRefused as exc:
        refusal = GatewayRefused(credentials.redact(exc.message))
    except DecodeError as exc:
        if 200 <= status < 300:
            refusal = type(exc)(f"{where}: {credentials.redact(str(exc))}")
        else:
            refusal = GatewayUnavailable(f"{where}: HTTP {status}")
    else:
        if 200 <= status < 300:
            return answer
        refusal = GatewayUnavailable(f"{where}: HTTP {status}")
    # Raised here, outside the except blocks, so that it carries no chain.
    raise refusal


def _post(
    opener: urllib.request.OpenerDirector,
    url: str,
    request: StateRequest,
    timeout: float,
) -> tuple[int, bytes, str | None]:
    """The answer's HTTP status and body (at most one byte over the limit), or why
    there is none: a description that quotes nothing of the request."""
    outgoing = urllib.request.Request(
        url,
        data=request.body,
        method="POST",
        headers={"Content-Type": request.content_type, "User-Agent": _USER_AGENT},
    )
    cap = DEFAULT_LIMITS.max_bytes + 1
    failure = None
    try:
        with opener.open(outgoing, timeout=timeout) as response:
            status, body = int(response.status), _read(response, cap)
    except urllib.error.HTTPError as error:
        with error:
            status = error.code
            try:
                body = _read(error, cap)
            except (OSError, http.client.HTTPException, PayloadTooLarge):
                body = b""  # the status alone then says what happened
    except urllib.error.URLError as exc:
        status, body, failure = 0, b"", _describe(exc.reason)
    except (OSError, http.client.HTTPException) as exc:
        status, body, failure = 0, b"", _describe(exc)
    return status, body, failure


def _read(response: Any, cap: int) -> bytes:
    body = bytes(response.read(cap))
    if len(body) >= cap:
        raise PayloadTooLarge(f"the answer is over the limit of {cap - 1} bytes")
    left = getattr(response, "length", None)
    if left:  # the connection closed before Content-Length bytes came
        raise http.client.IncompleteRead(body, left)
    return body


def _describe(reason: object) -> str:
    # The kind of failure and the operating system's own words, which never quote
    # the request: not the str() of an arbitrary exception.
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, OSError):
        words = reason.strerror or getattr(reason, "reason", None)
        kind = type(reason).__name__
        return f"{kind}: {words}" if words else kind
    if isinstance(reason, http.client.HTTPException):
        return f"broken answer ({type(reason).__name__})"
    return "cannot connect"
