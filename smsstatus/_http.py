"""HTTP POSTs bounded in time and in size: how the pull client and the gateway
simulator talk to a server.

Strategy.  urllib does the HTTP (proxies from the environment, certificates checked,
no redirect followed), through connections of our own on which ``timeout`` is a
deadline for the whole request, taken when the connection is made, instead of a limit
on each socket operation: the connect (and TLS handshake) gets what is left of it,
and every later read and write first sets the socket's timeout to what is left, or
fails with `TimeoutError` when nothing is.  So a server that drips a byte at a time
holds a request no longer than ``timeout``.  The answer is read up to a cap, so a huge
or endless one costs no more memory than the cap.  A URL is checked before any request
by the rules http.client applies while sending (an ASCII path without blanks, a host
name IDNA can encode, a port), so a URL that cannot be used is a `ValueError` up front,
not a `UnicodeError` half-way through a request.

Only `smsstatus.pull` and `smsstatus.testing` import this module.
"""

from __future__ import annotations

import http.client
import io
import re
import socket
import ssl
import time
import urllib.parse
import urllib.request
from typing import Any

from ._stream import read_up_to

__all__ = ["check_url", "opener", "read_answer"]

# What http.client refuses anywhere in a URL, and what it cannot write in a path.
_BLANK_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]").search
_NOT_ASCII = re.compile(r"[^\x00-\x7f]").search


def check_url(url: object, *, name: str = "url") -> urllib.parse.SplitResult:
    """`url` split, if a request can go to it: ``http://`` or ``https://``, a host
    name IDNA can encode, a valid port, no blank or control character, and a path and
    query in ASCII (percent-encoded).  Else `ValueError`, naming the argument `name`
    and showing the URL's first 100 characters."""
    shown = repr(str(url)[:100])
    try:
        if not isinstance(url, str):
            raise ValueError
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        raise ValueError(f"{name} is not a URL: {shown}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name} must be an http:// or https:// address, not {shown}")
    if _BLANK_OR_CONTROL(url):
        raise ValueError(f"{name} holds a blank or control character: {shown}")
    if _NOT_ASCII(parts.path + parts.query):
        raise ValueError(
            f"{name} has characters beyond ASCII in its path or query (percent-encode "
            f"them): {shown}"
        )
    try:
        parts.hostname.encode("idna")
    except UnicodeError:  # an empty label, or one over 63 characters
        raise ValueError(
            f"{name} has a host name DNS cannot hold (an empty label, or one over 63 "
            f"characters): {shown}"
        ) from None
    return parts


def opener(context: ssl.SSLContext | None = None) -> urllib.request.OpenerDirector:
    """A urllib opener that follows no redirect (a 3xx answer raises
    `urllib.error.HTTPError`), checks certificates with `context` (by default
    Python's default context), and bounds each request as a whole, connect to
    last byte of the answer, by the ``timeout`` given to ``open``, which must be a
    number of seconds."""
    return urllib.request.build_opener(
        _NoRedirects(), _HTTPHandler(), _HTTPSHandler(context=context)
    )


def read_answer(response: Any, limit: int) -> bytes:
    """The body of `response`, but no more than ``limit + 1`` bytes of it (so more
    than `limit` means the answer is longer, and its rest was not read).  Raises
    `http.client.IncompleteRead` when the connection closed before the answer's
    ``Content-Length``."""
    body = read_up_to(response, limit + 1)
    left = getattr(response, "length", None)
    if len(body) <= limit and left:
        raise http.client.IncompleteRead(body, left)
    return body


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # The request goes to the one URL given; a redirected POST would lose its body.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


class _BoundedSocket:
    """A connected socket whose reads and writes all end by `deadline`: the only
    three methods `http.client` calls on a socket once it is connected."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def _allow(self) -> None:
        self._sock.settimeout(_left(self._deadline))

    def sendall(self, data: Any) -> None:
        view = memoryview(data).cast("B")
        while view:
            self._allow()
            view = view[self._sock.send(view) :]

    def makefile(self, *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_BoundedReader(self._sock.makefile("rb", 0), self))

    def close(self) -> None:
        self._sock.close()  # the socket itself stays open while a reader is


class _BoundedReader(io.RawIOBase):
    def __init__(self, raw: Any, sock: _BoundedSocket) -> None:
        self._raw = raw
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock._allow()
        return self._raw.readinto(buffer)  # type: ignore[no-any-return]

    def close(self) -> None:
        self._raw.close()
        super().close()


class _BoundedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline = time.monotonic() + float(self.timeout)  # type: ignore[arg-type]
        # http.client's own hook for opening the socket: the connect gets what is
        # left of the deadline, and so does a TLS handshake after it.
        self._create_connection = self._connect_by_deadline

    def _connect_by_deadline(
        self, address: tuple[str, int], timeout: Any, source: Any = None
    ) -> socket.socket:
        sock = socket.create_connection(address, _left(self._deadline), source)
        # What is left for a TLS handshake, which comes next (when nothing is, a
        # timeout too short for any handshake).
        sock.settimeout(max(self._deadline - time.monotonic(), 1e-9))
        return sock

    def connect(self) -> None:
        super().connect()
        self.sock = _BoundedSocket(self.sock, self._deadline)


class _BoundedHTTPSConnection(_BoundedHTTPConnection, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_BoundedHTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, context: ssl.SSLContext | None) -> None:
        super().__init__(context=context)
        self._tls = context

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_BoundedHTTPSConnection, req, context=self._tls)
