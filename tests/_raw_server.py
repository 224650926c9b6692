"""A raw TCP server on 127.0.0.1 for the tests of HTTP clients: it answers each
connection (plain, or in TLS) with bytes of the test's choosing, at the pace of its
choosing (a byte at a time, slowly; or a huge answer), and counts what it managed
to send."""

from __future__ import annotations

import re
import socket
import ssl
import threading
from collections.abc import Iterable


class RawServer:
    """Answers every connection with `chunks`, `every` seconds apart, after reading
    the request's head; stops sending when the client goes away.  `sent` is the
    number of bytes the clients accepted.  A context manager."""

    def __init__(
        self,
        chunks: Iterable[bytes],
        *,
        every: float = 0.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._chunks = list(chunks)
        self._every = every
        self._tls = tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.sent = 0
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            try:
                if self._tls is not None:
                    connection.settimeout(10)
                    connection = self._tls.wrap_socket(connection, server_side=True)
            except OSError:  # a client that gave up during the handshake
                connection.close()
                continue
            with connection:
                self._answer(connection)

    def _answer(self, connection: socket.socket) -> None:
        connection.settimeout(10)
        # The whole request, so that closing sends no reset: the client is to see
        # the answer (or its absence), not "connection reset".
        request = b""
        while b"\r\n\r\n" not in request:
            piece = connection.recv(65536)
            if not piece:
                return
            request += piece
        head, _, body = request.partition(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: *(\d+)", head)
        while length and len(body) < int(length[1]):
            body += connection.recv(65536)
        for chunk in self._chunks:
            if self._stop.wait(self._every):
                return
            try:
                connection.sendall(chunk)
            except OSError:  # the client gave up
                return
            self.sent += len(chunk)


def dripping(answer: bytes) -> list[bytes]:
    """`answer` one byte at a time."""
    return [answer[at : at + 1] for at in range(len(answer))]
