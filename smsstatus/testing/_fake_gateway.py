"""`FakeGateway`: the gateway's pull endpoints and its push, on 127.0.0.1, for tests.

Strategy.  A `http.server.ThreadingHTTPServer` on a free loopback port, run in a
daemon thread between ``__enter__`` and ``__exit__``.  The gateway's state is a
history of statuses per message, under one lock: `add` appends to it, the pull
endpoints answer each message's latest status, and `push` delivers what was added
since the last push with `Gateway.deliver_http` (the very retry loop of
`smsstatus.testing`), remembering the ids it could not deliver in `lost`.  Requests are
read with the project's own guarded XML parser and `json`, and answered with the
gateway's documents: `encode_xml` / a JSON array, or the error documents of
WIRE-FORMAT.md (XML: ``<response><error>…</error></response>`` with HTTP 200, JSON:
``{"error": …}`` with HTTP 400).  `misbehave` queues failures for the next pull
requests (a slow answer, a 5xx, a dropped or truncated connection, any raw answer),
so that a client's error handling meets each of them for real.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, get_args

import attrs

from smsstatus._errors import DecodeError
from smsstatus._json import encode_json
from smsstatus._model import Format, StatusReport
from smsstatus._xml import encode_xml, new_parser, parse_safely
from smsstatus.pull import Credentials

from ._simulator import Delivery, Gateway

__all__ = ["FakeGateway", "Pulled"]

_INCORRECT_XML = "Incorrect XML document format"
_INCORRECT_JSON = "Incorrect JSON document format"
_INCORRECT_LOGIN = "Incorrect login or password"
_NO_DATA = "POST data is missing"
# A request larger than this is not one a client of ours sends.
_MAX_REQUEST = 1 << 20

Misbehaviour = Literal["slow", "5xx", "drop", "truncate", "answer"]
_MISBEHAVIOURS = get_args(Misbehaviour)


@attrs.frozen
class Pulled:
    """One pull request the fake gateway answered: its `path`, the `ids` asked
    about (in order) and whether it asked for `detail`; None when the request could
    not be read."""

    path: str
    ids: tuple[int, ...] | None
    detail: bool = False


@attrs.frozen
class _Failure:
    kind: Misbehaviour
    delay: float
    status: int
    body: bytes


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up on a slow answer: nothing to report


class _Refusal(Exception):
    """The gateway's error text for a request it will not answer."""


class FakeGateway:
    """The WebCom gateway on ``http://127.0.0.1:PORT``, for tests (a context manager).

    `format` is the account's format, in which `push` delivers statuses; the pull
    endpoints ``/xml/state.php`` and ``/json/state.php`` both answer, to requests
    carrying `credentials` (by default a login ``"test"`` with password
    ``"secret"``; `credentials` shows the ones to use)::

        with FakeGateway("json") as gateway:
            gateway.add(*reports)
            delivery = gateway.push("http://127.0.0.1:8000/sms/statuses/TOKEN")
            answer = fetch_states(ids, gateway.credentials, base_url=gateway.url)

    `attempts` and `batch_size` are those of `push` (see `Gateway`).
    """

    def __init__(
        self,
        format: Format | str = "xml",
        *,
        credentials: Credentials | None = None,
        attempts: int = 5,
        batch_size: int = 100,
    ) -> None:
        self._gateway = Gateway(format, attempts=attempts, batch_size=batch_size)
        self.credentials = credentials or Credentials(login="test", password="secret")
        self._lock = threading.Lock()
        self._histories: dict[int, list[StatusReport]] = {}
        self._details: dict[int, tuple[int, Decimal]] = {}
        self._unpushed: list[StatusReport] = []
        self._lost: set[int] = set()
        self._failures: list[_Failure] = []
        self._pulled: list[Pulled] = []
        self._closing = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def format(self) -> Format:
        """The account's format: the one `push` delivers in."""
        return self._gateway.format

    # --- running --------------------------------------------------------------

    def __enter__(self) -> FakeGateway:
        server = _Server(("127.0.0.1", 0), _handler(self))
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        server, thread = self._server, self._thread
        assert server is not None
        assert thread is not None
        self._closing.set()  # wakes a slow answer up
        server.shutdown()
        thread.join()
        server.server_close()
        self._server = self._thread = None

    @property
    def url(self) -> str:
        """The gateway's base URL (``http://127.0.0.1:PORT``): `fetch_states`'s
        `base_url`.  Only while the gateway runs."""
        if self._server is None:
            raise RuntimeError(
                "the fake gateway is not running: use it in a with block"
            )
        return f"http://127.0.0.1:{self._server.server_port}"

    base_url = url

    # --- the messages ---------------------------------------------------------

    def add(
        self, *reports: StatusReport, parts: int = 1, price: Decimal | str = "0.5"
    ) -> None:
        """Record status changes: each report becomes its message's latest status
        (what a pull request answers) and is queued for the next `push`.  `parts`
        and `price` are what a ``detail`` request answers for these messages."""
        detail = (parts, Decimal(price))
        with self._lock:
            for report in reports:
                self._histories.setdefault(report.id_sms, []).append(report)
                self._details[report.id_sms] = detail
                self._unpushed.append(report)

    def history(self, id_sms: int) -> tuple[StatusReport, ...]:
        """Every status recorded for the message, in order."""
        with self._lock:
            return tuple(self._histories.get(id_sms, ()))

    def latest(self) -> dict[int, StatusReport]:
        """Each message's latest status: what the gateway answers when asked."""
        with self._lock:
            return {i: history[-1] for i, history in self._histories.items()}

    def push(self, url: str, *, timeout: float = 5.0) -> Delivery:
        """Deliver every status added since the last push to the webhook `url`, with
        the gateway's retry rule (`Gateway.deliver_http`); the ids still
        unacknowledged after the last attempt are added to `lost`."""
        with self._lock:
            reports, self._unpushed = self._unpushed, []
        delivery = self._gateway.deliver_http(url, reports, timeout=timeout)
        with self._lock:
            self._lost |= delivery.lost
        return delivery

    @property
    def lost(self) -> frozenset[int]:
        """The ids of which some status was never delivered by `push`."""
        with self._lock:
            return frozenset(self._lost)

    @property
    def pulled(self) -> tuple[Pulled, ...]:
        """The pull requests answered so far, in order."""
        with self._lock:
            return tuple(self._pulled)

    # --- failures ---------------------------------------------------------------

    def misbehave(
        self,
        kind: Misbehaviour,
        *,
        times: int = 1,
        delay: float = 2.0,
        status: int | None = None,
        body: bytes = b"",
    ) -> None:
        """Fail the next `times` pull requests, one way:

        - ``"slow"``: answer correctly, but only after `delay` seconds;
        - ``"5xx"``: answer HTTP `status` (503 unless given, 500 to 599) with `body`;
        - ``"drop"``: close the connection without answering;
        - ``"truncate"``: announce the answer's length, send half of it, close;
        - ``"answer"``: answer HTTP `status` (200 unless given, 100 to 599) with
          `body` as is.

        Arguments that cannot make such an answer raise `ValueError` here, not when
        the request comes.
        """
        if kind not in _MISBEHAVIOURS:
            raise ValueError(f"kind must be one of {_MISBEHAVIOURS}, not {kind!r}")
        if status is None:
            status = 200 if kind == "answer" else 503
        low = 500 if kind == "5xx" else 100
        if type(status) is not int or not low <= status <= 599:
            raise ValueError(f"status must be an int from {low} to 599, not {status!r}")
        if type(times) is not int or times < 1:
            raise ValueError(f"times must be an int >= 1, not {times!r}")
        if not isinstance(delay, int | float) or not 0 <= delay < math.inf:
            raise ValueError(f"delay must be a number of seconds >= 0, not {delay!r}")
        if not isinstance(body, bytes):
            raise TypeError(f"body must be bytes, not {type(body).__name__}")
        failure = _Failure(kind, delay, status, body)
        with self._lock:
            self._failures.extend([failure] * times)

    def _next_failure(self) -> _Failure | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    # --- answering --------------------------------------------------------------

    def _answer(self, path: str, body: bytes) -> tuple[int, str, bytes]:
        """The HTTP status, content type and body answering a pull request."""
        format = Format.XML if path == "/xml/state.php" else Format.JSON
        try:
            if not body.strip():
                raise _Refusal(_NO_DATA)
            if format is Format.XML:
                ids, detail = self._read_xml(body), False
            else:
                ids, detail = self._read_json(body)
        except _Refusal as refusal:
            with self._lock:
                self._pulled.append(Pulled(path, None))
            return _refuse(format, str(refusal))
        with self._lock:
            self._pulled.append(Pulled(path, tuple(ids), detail))
            found = [self._histories[i][-1] for i in ids if i in self._histories]
            details = dict(self._details)
        if format is Format.XML:
            return 200, "text/xml; charset=utf-8", encode_xml(found)
        return 200, "application/json", _json_answer(found, details if detail else {})

    def _check(self, fields: dict[str, Any]) -> None:
        if fields != self.credentials.fields():
            raise _Refusal(_INCORRECT_LOGIN)

    def _read_xml(self, body: bytes) -> list[int]:
        parser = new_parser()
        path: list[str] = []
        security: dict[str, Any] = {}
        ids: list[str] = []

        def start(name: str, attributes: dict[str, str]) -> None:
            path.append(name)
            if path[:2] == ["request", "security"] and len(path) == 3:
                security[name] = attributes.get("value")
            elif path == ["request", "get_state", "id_sms"]:
                ids.append("")

        def characters(text: str) -> None:
            if path == ["request", "get_state", "id_sms"]:
                ids[-1] += text

        parser.StartElementHandler = start
        parser.EndElementHandler = lambda name: path.pop()
        parser.CharacterDataHandler = characters
        try:
            parse_safely(body, parser)
        except DecodeError:
            raise _Refusal(_INCORRECT_XML) from None
        self._check(security)
        if not ids or not all(i.strip().isdigit() for i in ids):
            raise _Refusal(_INCORRECT_XML)
        return [int(i) for i in ids]

    def _read_json(self, body: bytes) -> tuple[list[int], bool]:
        try:
            items = json.loads(body)
        except (ValueError, RecursionError):
            raise _Refusal(_INCORRECT_JSON) from None
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list) or not items:
            raise _Refusal(_INCORRECT_JSON)
        ids = []
        detail = False
        for item in items:
            if not isinstance(item, dict):
                raise _Refusal(_INCORRECT_JSON)
            fields = {k: item[k] for k in ("login", "password", "token") if k in item}
            self._check(fields)
            id_sms = item.get("id_sms")
            if type(id_sms) is not int or item.get("detail", 0) not in (0, 1):
                raise _Refusal(_INCORRECT_JSON)
            ids.append(id_sms)
            detail = detail or item.get("detail") == 1
        return ids, detail


def _refuse(format: Format, text: str) -> tuple[int, str, bytes]:
    if format is Format.XML:
        document = (
            '<?xml version="1.0" encoding="utf-8" ?>\n'
            f"<response>\n  <error>{text}</error>\n</response>\n"
        )
        return 200, "text/xml; charset=utf-8", document.encode()
    return 400, "application/json", json.dumps({"error": text}).encode()


def _json_answer(
    reports: Iterable[StatusReport], details: dict[int, tuple[int, Decimal]]
) -> bytes:
    # The gateway's JSON answer: `time_change_state`, an int `id_sms`, and with
    # detail the parts and a price written as the exact decimal number it is.
    reports = list(reports)
    items = []
    for report, item in zip(reports, json.loads(encode_json(reports)), strict=True):
        item["id_sms"] = report.id_sms
        item["time_change_state"] = item.pop("time")
        text = json.dumps(item)
        if report.id_sms in details:
            parts, price = details[report.id_sms]
            text = f'{text[:-1]}, "num_parts": {parts}, "price": {price}}}'
        items.append(text)
    return f"[{', '.join(items)}]".encode()


def _handler(gateway: FakeGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a test's output is its assertions, not an access log

        def do_POST(self) -> None:
            if self.path not in ("/xml/state.php", "/json/state.php"):
                self._send(404, "text/plain", b"not found")
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= _MAX_REQUEST:
                self._send(413, "text/plain", b"request too large")
                return
            body = self.rfile.read(length)
            failure = gateway._next_failure()
            if failure is not None and failure.kind == "slow":
                gateway._closing.wait(failure.delay)
            elif failure is not None:
                self._fail(failure, gateway._answer(self.path, body))
                return
            self._send(*gateway._answer(self.path, body))

        def _fail(self, failure: _Failure, answer: tuple[int, str, bytes]) -> None:
            if failure.kind == "drop":
                self.close_connection = True
                return
            if failure.kind == "truncate":
                status, content_type, body = answer
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
                return
            self._send(failure.status, "text/plain", failure.body)

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
