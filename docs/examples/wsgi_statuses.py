"""Receiving the gateway's statuses in a plain WSGI application, without a framework.

`make_app(store, token=...)` returns the application; `store(report)` is yours (see
"Storing statuses").  Serve it with any WSGI server, for instance::

    from wsgiref.simple_server import make_server
    make_server("127.0.0.1", 8000, make_app(store, token=TOKEN)).serve_forever()
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from datetime import tzinfo
from http import HTTPStatus
from typing import Any

import smsstatus
from smsstatus import StatusReport


def make_app(
    store: Callable[[StatusReport], object],
    *,
    token: str,
    tz: tzinfo | None = None,
    limits: smsstatus.Limits | None = None,
) -> Callable[..., Iterable[bytes]]:
    """A WSGI application taking the gateway's POSTs at ``/statuses/<token>``."""
    limits = limits or smsstatus.Limits()
    expected_path = f"/statuses/{token}".encode()

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        def answer(status: int, body: bytes = b"", content_type: str = "text/plain"):
            start_response(
                f"{status} {HTTPStatus(status).phrase}",
                [("Content-Type", content_type), ("Content-Length", str(len(body)))],
            )
            return [body]

        # WSGI gives the path as latin-1 text: back to the bytes that were sent.
        path = environ.get("PATH_INFO", "").encode("latin-1")
        if not hmac.compare_digest(path, expected_path):
            return answer(404)
        if environ["REQUEST_METHOD"] != "POST":
            return answer(405)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return answer(400)
        if length > limits.max_bytes:  # refuse before reading it
            return answer(413)
        body = environ["wsgi.input"].read(length)
        ack = smsstatus.receive(body, store, tz=tz, limits=limits)
        return answer(ack.status, ack.body, ack.content_type)

    return application
