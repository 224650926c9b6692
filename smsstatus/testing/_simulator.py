"""The gateway simulator behind `smsstatus.testing`: `Gateway`, `Delivery`, `Attempt`.

Strategy.  One delivery loop, `Gateway.deliver`, talks to the endpoint through a
``send(body, content_type) -> (status, answer)`` callable; `deliver_wsgi` and
`deliver_http` only build that callable (a WSGI call in-process, a POST with urllib,
bounded as the pull client's are: `timeout` for the whole request, and the answer
read up to the 16 MiB a document can be).
The loop follows the gateway's retry rule: every status is POSTed in batches; a status
whose id is missing from its batch's acknowledgement, or whose whole batch was answered
with a non-2xx status, an unreadable body or a transport error (an `OSError` from
`send`), is sent again, up to `attempts` attempts in all, and is then lost.  Disorder
(`shuffle`, `duplicate`) is drawn from a private `random.Random(seed)` created for each
delivery, so a delivery is the same every time for a given seed.  Each `Attempt` is
handed to an optional `on_attempt` callback as soon as it is made, which is how the
``smsstatus replay`` command shows progress and how a callback can end a delivery (by
raising).

A whole document can be delivered too (pass its bytes instead of reports, as the
``smsstatus replay`` command does): the first attempt POSTs it unchanged, bad items
included, when it holds at most `batch_size` items (else in batches, in document
order), and later attempts re-send what was not acknowledged, reports re-encoded and
bad items as their raw text.  An item without a readable `id_sms` can never be
acknowledged; it goes out with the first attempt only and is neither acknowledged nor
lost.
"""

from __future__ import annotations

import html
import http.client
import io
import json
import math
import random
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from smsstatus._ack import decode_ack
from smsstatus._body import DEFAULT_LIMITS, parse_format
from smsstatus._decode import decode
from smsstatus._errors import DecodeError
from smsstatus._http import check_url, opener, read_answer
from smsstatus._json import encode_json
from smsstatus._model import Format, StatusReport
from smsstatus._receive import _in_document_order
from smsstatus._version import __version__
from smsstatus._xml import encode_xml

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["Attempt", "Delivery", "Gateway", "Send", "encode_document"]

Send = Callable[[bytes, str], tuple[int, bytes]]
"""POSTs one body with its content type; returns the HTTP status and the answer's body.
Raises `OSError` when the endpoint cannot be reached."""

_CONTENT_TYPES = {
    Format.XML: "text/xml; charset=utf-8",
    Format.JSON: "application/json",
}
_USER_AGENT = f"smsstatus-gateway-simulator/{__version__}"


@attrs.frozen
class Attempt:
    """One POST of one batch: the ids `sent` (in order, repeated when a report went
    twice), the HTTP `status` (None after a transport error) and the sent ids the
    answer `acknowledged`.

    `number` is which attempt this was for the statuses in it (1 for the first); an
    `error` says why nothing was acknowledged: a non-2xx status (with the first line
    of the answer, or its HTML title, e.g. ``"HTTP 500: RuntimeError at
    /sms/statuses"``), an unreadable answer or a transport error.
    """

    sent: tuple[int, ...]
    status: int | None
    acknowledged: tuple[int, ...]
    number: int = attrs.field(kw_only=True)
    error: str | None = attrs.field(default=None, kw_only=True)


@attrs.frozen
class Delivery:
    """What a delivery achieved.

    `acknowledged` holds the ids all of whose statuses were acknowledged, `lost` the
    ids with a status still unacknowledged after the last attempt, and `attempts`
    every POST in the order made.
    """

    acknowledged: frozenset[int]
    lost: frozenset[int]
    attempts: tuple[Attempt, ...]


def _at_least(minimum: int) -> Callable[[Any, attrs.Attribute[int], int], None]:
    def check(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
        if type(value) is not int or value < minimum:
            raise ValueError(
                f"{attribute.name} must be an int >= {minimum}, not {value!r}"
            )

    return check


def _chance(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"duplicate must be a chance from 0.0 to 1.0, not {value!r}")


def _seconds(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value < float("inf"):
        raise ValueError(f"{attribute.name} must be seconds >= 0, not {value!r}")


_OnAttempt = Callable[[Attempt], object]

# One item of a delivery: its id (None for an item of a replayed document whose id
# cannot be read) and what to send for it, the report itself or, for a bad item of a
# replayed document, its raw text.
_Item = tuple["int | None", "StatusReport | str"]


@attrs.frozen
class Gateway:
    """A simulated WebCom gateway sending statuses in `format` (``"xml"`` or
    ``"json"``).

    `attempts` is how many times a status is sent before it counts as lost (the real
    gateway makes 5), `batch_size` how many statuses one POST holds at most.
    `shuffle` sends each attempt's statuses in a random order, and `duplicate` is the
    chance that a status is sent twice in the same attempt, the disorder real
    deliveries show.  `seed` makes that disorder the same on every run.  `pause` is
    how many seconds to wait before each attempt after the first (the real gateway's
    delay is not documented; the default 0 keeps tests fast).
    """

    format: Format = attrs.field(default=Format.XML, converter=parse_format)
    attempts: int = attrs.field(default=5, kw_only=True, validator=_at_least(1))
    batch_size: int = attrs.field(default=100, kw_only=True, validator=_at_least(1))
    shuffle: bool = attrs.field(default=False, kw_only=True)
    duplicate: float = attrs.field(default=0.0, kw_only=True, validator=_chance)
    seed: int | None = attrs.field(default=None, kw_only=True)
    pause: float = attrs.field(default=0.0, kw_only=True, validator=_seconds)

    def deliver(
        self,
        send: Send,
        reports: Iterable[StatusReport] | bytes,
        *,
        on_attempt: _OnAttempt | None = None,
    ) -> Delivery:
        """Deliver `reports` through `send` and return what became of them.

        `send(body, content_type)` POSTs one batch and returns ``(status, answer)``;
        an `OSError` it raises counts as a transport error and its batch is sent
        again; any other exception propagates.  `reports` may also be a whole
        document (bytes) in this gateway's format: its first attempt is that
        document unchanged (see the module's documentation).  `on_attempt`, if
        given, is called with each `Attempt` as soon as it is made; an exception it
        raises ends the delivery and propagates.
        """
        if isinstance(reports, bytes):
            items, first = self._read_payload(reports), reports
        else:
            items, first = [(report.id_sms, report) for report in reports], None
        return self._run(send, items, first, on_attempt)

    def deliver_wsgi(
        self,
        app: WSGIApplication,
        reports: Iterable[StatusReport] | bytes,
        *,
        path: str = "/",
        host: str = "testserver",
        on_attempt: _OnAttempt | None = None,
    ) -> Delivery:
        """Deliver `reports` to a WSGI `app` (Django's, Flask's...), called
        in-process with a POST to `path` (which may hold a query string).

        `host` is the request's ``Host`` (maybe with a ``:port``).  The default,
        ``testserver``, is the name Django's test runner (and pytest-django) adds
        to ``ALLOWED_HOSTS``; outside it, pass a name your ``ALLOWED_HOSTS``
        holds, such as ``"localhost"``, which Django allows with ``DEBUG`` on and
        ``ALLOWED_HOSTS`` empty.  An exception raised by the app propagates, as
        in the frameworks' own test clients, so its traceback shows in your test.
        """
        return self.deliver(
            _wsgi_sender(app, path, host), reports, on_attempt=on_attempt
        )

    def deliver_http(
        self,
        url: str,
        reports: Iterable[StatusReport] | bytes,
        *,
        timeout: float = 10.0,
        on_attempt: _OnAttempt | None = None,
    ) -> Delivery:
        """Deliver `reports` to a running server with real HTTP POSTs to `url`
        (``http://`` or ``https://``; a URL no request can go to is a `ValueError`
        before any).

        Redirects are not followed (they count as a non-2xx answer); a refused
        connection, a POST not answered whole within `timeout` seconds (from
        connecting to the answer's last byte) or a broken answer is a transport
        error.  An answer is read up to 16 MiB, the most a document can be: a
        longer one is an unreadable answer.  The `OSError` behind a transport error
        is raised from the sender as itself (`ConnectionRefusedError` for a refused
        connection), so a `Send` wrapped around `deliver`'s can tell them apart.
        """
        return self.deliver(_http_sender(url, timeout), reports, on_attempt=on_attempt)

    def _read_payload(self, payload: bytes) -> list[_Item]:
        batch = decode(payload, format=self.format)
        return [
            (item.id_sms, item if isinstance(item, StatusReport) else item.raw)
            for item in _in_document_order(batch)
        ]

    def _run(
        self,
        send: Send,
        items: Sequence[_Item],
        first: bytes | None,
        on_attempt: _OnAttempt | None,
    ) -> Delivery:
        rng = random.Random(self.seed)
        pending = list(range(len(items)))
        log: list[Attempt] = []
        for number in range(1, self.attempts + 1):
            if number == 1 and first is not None:
                # A replayed document goes out as given, if one POST may hold it.
                fits = len(items) <= self.batch_size
                posts = [(pending, first)] if fits else self._batches(items, pending)
            elif pending:
                if number > 1 and self.pause:
                    time.sleep(self.pause)
                posts = self._batches(items, self._disorder(pending, rng))
            else:
                break
            taken: set[int] = set()
            for batch, body in posts:
                sent = [id_sms for i in batch if (id_sms := items[i][0]) is not None]
                attempt = self._post(send, body, sent, number)
                log.append(attempt)
                if on_attempt is not None:
                    on_attempt(attempt)
                acknowledged = set(attempt.acknowledged)
                taken.update(i for i in batch if items[i][0] in acknowledged)
            # An item without an id can never be acknowledged: it goes out once.
            pending = [i for i in pending if i not in taken and items[i][0] is not None]
        ids = frozenset(id_sms for id_sms, _ in items if id_sms is not None)
        lost = frozenset(id_sms for i in pending if (id_sms := items[i][0]) is not None)
        return Delivery(acknowledged=ids - lost, lost=lost, attempts=tuple(log))

    def _batches(
        self, items: Sequence[_Item], order: list[int]
    ) -> list[tuple[list[int], bytes]]:
        batches = [
            order[start : start + self.batch_size]
            for start in range(0, len(order), self.batch_size)
        ]
        return [
            (batch, encode_document(self.format, [items[i][1] for i in batch]))
            for batch in batches
        ]

    def _disorder(self, pending: list[int], rng: random.Random) -> list[int]:
        order = list(pending)
        if self.duplicate:
            order += [i for i in pending if rng.random() < self.duplicate]
        if self.shuffle:
            rng.shuffle(order)
        return order

    def _post(self, send: Send, body: bytes, ids: list[int], number: int) -> Attempt:
        sent = tuple(ids)
        try:
            status, answer = send(body, _CONTENT_TYPES[self.format])
        except OSError as exc:
            return Attempt(
                sent, None, (), number=number, error=f"transport error: {exc}"
            )
        if not 200 <= status < 300:
            gist = _first_line(answer)
            error = f"HTTP {status}: {gist}" if gist else f"HTTP {status}"
            return Attempt(sent, status, (), number=number, error=error)
        try:
            answered = decode_ack(answer, self.format)
        except DecodeError as exc:
            return Attempt(
                sent, status, (), number=number, error=f"unreadable answer: {exc}"
            )
        wanted = set(sent)
        # The gateway matches the answer against what it sent: other ids mean nothing.
        acknowledged = tuple(dict.fromkeys(i for i in answered if i in wanted))
        return Attempt(sent, status, acknowledged, number=number)


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
# Enough of an error answer to say what went wrong on one line of a report.
_GIST_LENGTH = 200


def _first_line(answer: bytes) -> str:
    """What an error answer says, in one line: its HTML title (Django's and
    Werkzeug's error pages name the exception there) or its first line with text."""
    head = answer[:65536]
    title = _TITLE.search(head)
    text = (title.group(1) if title else head).decode("utf-8", "replace")
    lines = [" ".join(text.split())] if title else text.splitlines()
    for line in lines:
        words = " ".join(html.unescape(_TAG.sub(" ", line)).split())
        if words:
            if len(words) > _GIST_LENGTH:
                return words[: _GIST_LENGTH - 3] + "..."
            return words
    return ""


def encode_document(format: Format, pieces: Sequence[StatusReport | str]) -> bytes:
    """A gateway document of reports and raw items (element or JSON text), in order."""
    reports = [piece for piece in pieces if isinstance(piece, StatusReport)]
    if len(reports) == len(pieces):
        return encode_xml(reports) if format is Format.XML else encode_json(reports)
    if format is Format.JSON:
        encoded = iter(json.loads(encode_json(reports)))
        return json.dumps(
            [json.loads(p) if isinstance(p, str) else next(encoded) for p in pieces]
        ).encode("utf-8")
    # `encode_xml` writes a two-line head, one line per report, then the root's end.
    lines = encode_xml(reports).decode("utf-8").splitlines(keepends=True)
    elements = iter(lines[2:-1])
    middle = [f"  {p}\n" if isinstance(p, str) else next(elements) for p in pieces]
    return "".join([*lines[:2], *middle, lines[-1]]).encode("utf-8")


def _wsgi_sender(app: WSGIApplication, path: str, host: str) -> Send:
    if not path.startswith("/"):
        raise ValueError(f"path must start with '/', not {path!r}")
    path, _, query = path.partition("?")
    try:
        where = urllib.parse.urlsplit(f"//{host}")
        server_name, port = where.hostname, where.port
    except ValueError:
        server_name = None
    if not server_name or where.path or where.query or where.username is not None:
        raise ValueError(f"host must be a host name, maybe with :port, not {host!r}")

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        environ: WSGIEnvironment = {
            "REQUEST_METHOD": "POST",
            "SCRIPT_NAME": "",
            # PEP 3333: the decoded path's bytes, carried as latin-1.
            "PATH_INFO": urllib.parse.unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": server_name,
            "SERVER_PORT": str(port or 80),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": host,
            "HTTP_USER_AGENT": _USER_AGENT,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        statuses: list[str] = []
        chunks: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            if exc_info is not None and statuses:
                raise exc_info[1].with_traceback(exc_info[2])
            statuses.append(status)
            return chunks.append

        start: StartResponse = start_response
        result = app(environ, start)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not statuses:
            raise RuntimeError("the WSGI app answered without calling start_response")
        return int(statuses[-1].split(None, 1)[0]), b"".join(chunks)

    return send


def _http_sender(url: str, timeout: float) -> Send:
    check_url(url)
    if not isinstance(timeout, int | float) or not 0 < timeout < math.inf:
        raise ValueError(f"timeout must be a number of seconds > 0, not {timeout!r}")
    asker = opener()
    limit = DEFAULT_LIMITS.max_bytes

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": content_type, "User-Agent": _USER_AGENT},
        )
        try:
            try:
                response, status = asker.open(request, timeout=timeout), None
            except urllib.error.HTTPError as error:  # a non-2xx answer
                response, status = error, error.code
            with response:
                return status or int(response.status), read_answer(response, limit)
        except urllib.error.URLError as exc:  # unreachable: keep just the reason
            reason = exc.reason
            raise (
                reason if isinstance(reason, OSError) else ConnectionError(str(reason))
            ) from exc
        except http.client.HTTPException as exc:  # a broken answer
            raise ConnectionError(f"broken answer: {exc!r}") from exc

    return send
