"""`fetch_states`: ask the gateway over HTTP, with the standard library only.

Strategy.  Every argument is checked and every request body written before the first
byte goes out, so a mistake costs no request.  Then one POST per chunk of ids, through
the opener of `smsstatus._http`: certificates verified (the default SSL context), no
redirect followed (a redirected POST would lose its body), `timeout` a deadline for
each request as a whole, and the answer read up to one byte over `Limits.max_bytes`,
so a slow, huge or endless answer is given up on without being read to its end.  Each
failure is sorted into one of three exceptions, and each is raised *outside* the
``except`` block that caught the cause: urllib's exceptions may quote the request,
which holds the credentials, so none is ever chained to what we raise (no
``__cause__``, no ``__context__``).  The answer is read with the credentials to take
back out of every text it repeats (`decode_redacted`).
"""

from __future__ import annotations

import http.client
import logging
import math
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import tzinfo

import attrs

from smsstatus._body import DEFAULT_LIMITS, parse_format
from smsstatus._errors import DecodeError, PayloadTooLarge, SmsStatusError
from smsstatus._http import check_url, opener, read_answer
from smsstatus._model import Batch, Format, ReportError, StatusReport
from smsstatus._version import __version__

from ._answer import (
    Answer,
    Detail,
    GatewayRefused,
    GatewayUnavailable,
    decode_redacted,
)
from ._request import Credentials, StateRequest, state_request, unique_ids

__all__ = ["DEFAULT_BASE_URL", "fetch_states", "merge_answers"]

DEFAULT_BASE_URL = "https://my3.webcom.mobi"

logger = logging.getLogger("smsstatus")

_USER_AGENT = f"smsstatus/{__version__}"


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
    kept) plus the request's path, with `timeout` seconds for each, from connecting
    to the answer's last byte.  The answers are merged in order; ids the gateway sent
    without being asked are kept.

    Arguments that cannot make a request raise `ValueError` before any is made
    (a `base_url` is checked for what a request needs: a host name that can be
    looked up, an ASCII path without blanks).
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
    asker = opener(ssl.create_default_context())
    answers = []
    for chunk, request in zip(chunks, requests, strict=True):
        logger.debug("asking %s%s about %d ids", url, request.path, len(chunk))
        answers.append(_ask(asker, url, request, timeout, tz, credentials))
    return merge_answers(answers, chosen)


def _base(base_url: str) -> str:
    parts = check_url(base_url, name="base_url")
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
    asker: urllib.request.OpenerDirector,
    url: str,
    request: StateRequest,
    timeout: float,
    tz: tzinfo | None,
    credentials: Credentials,
) -> Answer:
    where = url + request.path
    status, body, failure = _post(asker, where, request, timeout)
    if failure is not None:
        raise GatewayUnavailable(f"{where}: {credentials.redact(failure)}")
    refusal: SmsStatusError
    try:
        redact = credentials._redactor()
        answer = decode_redacted(body, redact, format=request.format, tz=tz)
    except GatewayRefused as exc:  # its message is redacted, and it has no chain
        refusal = exc
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
    asker: urllib.request.OpenerDirector,
    url: str,
    request: StateRequest,
    timeout: float,
) -> tuple[int, bytes, str | None]:
    """The answer's HTTP status and body, or why there is none: a description that
    quotes nothing of the request."""
    outgoing = urllib.request.Request(
        url,
        data=request.body,
        method="POST",
        headers={"Content-Type": request.content_type, "User-Agent": _USER_AGENT},
    )
    limit = DEFAULT_LIMITS.max_bytes
    failure = None
    try:
        with asker.open(outgoing, timeout=timeout) as response:
            status, body = int(response.status), read_answer(response, limit)
    except urllib.error.HTTPError as error:
        with error:
            status = error.code
            try:
                body = read_answer(error, limit)
            except (OSError, http.client.HTTPException):
                body = b""  # the status alone then says what happened
    except urllib.error.URLError as exc:
        status, body, failure = 0, b"", _describe(exc.reason)
    except (OSError, http.client.HTTPException) as exc:
        status, body, failure = 0, b"", _describe(exc)
    if len(body) > limit and 200 <= status < 300:
        raise PayloadTooLarge(f"the answer is over the limit of {limit} bytes")
    return status, body, failure


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
