"""Shared test configuration: the hypothesis profiles, and a real HTTP server.

``dev`` (the default) explores with fresh random examples on every run; ``ci``
(chosen when the environment variable ``CI`` is set, or with
``HYPOTHESIS_PROFILE=ci``) is derandomized, so a CI run is repeatable, and keeps no
example database.  Both are sized so the whole suite stays within a few minutes on
two cores.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev",
    max_examples=100,
    deadline=None,
)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # the tests' output is the assertions, not an access log


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    """Starts a WSGI app on 127.0.0.1 (a free port) in a thread; returns the URL
    ``http://127.0.0.1:PORT/statuses``.  Every server is stopped after the test."""
    servers: list[tuple[WSGIServer, threading.Thread]] = []

    def start(app: Any) -> str:
        server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}/statuses"

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join()
        server.server_close()
