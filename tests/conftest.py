"""Shared test configuration: the hypothesis profiles, a real HTTP server, the two
databases every `StatusTable` test runs on (SQLite, and a real PostgreSQL server the
session starts and stops itself: see ``_postgres.py``), and a PostgreSQL server of a
module's own for its fault tests to stop and restart.

``dev`` (the default) explores with fresh random examples on every run; ``ci``
(chosen when the environment variable ``CI`` is set, or with
``HYPOTHESIS_PROFILE=ci``) is derandomized, so a CI run is repeatable, and keeps no
example database.  Both are sized so the whole suite stays within a few minutes on
two cores.
"""

from __future__ import annotations

import gc
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import _postgres
import pytest
from _postgres import Database
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


@pytest.fixture
def collect_on_this_thread() -> Iterator[None]:
    """Collects the test's garbage on the test's own thread once it ends.

    An app built on `smsstatus.sql.per_thread` keeps the connection it opened for
    this thread, which only this thread can close (sqlite3 refuses any other).  Left
    to the collector, the app may be collected on another thread, a server's or a
    later test's, where that close fails: the driver then closes the connection
    itself, whenever it goes, with a ResourceWarning (Python 3.13).
    """
    yield
    gc.collect()


def _require_postgresql() -> None:
    reason = _postgres.missing_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test on PostgreSQL, but {reason}", pytrace=False)
        pytest.skip(f"PostgreSQL NOT TESTED: {reason}")


@pytest.fixture(scope="session")
def postgresql() -> Iterator[str]:
    """A throwaway PostgreSQL server for the whole session: its connection string.

    Without one on this machine the PostgreSQL tests are skipped, saying so; when the
    environment variable ``CI`` is set (CI installs the server) that is an error.
    """
    _require_postgresql()
    with _postgres.throwaway_server() as conninfo:
        yield conninfo


@pytest.fixture(scope="module")
def restartable_postgresql() -> Iterator[_postgres.Server]:
    """A PostgreSQL server of the module's own, which its fault tests stop, start and
    restart (`_postgres.Server`); durable, so that an immediate stop loses nothing
    committed.  Missing, it skips or fails as `postgresql` does."""
    _require_postgresql()
    with _postgres.controlled_server(durable=True) as server:
        yield server


_schemas = itertools.count()


@contextmanager
def _new_schema(conninfo: str) -> Iterator[Database]:
    import psycopg

    schema = f"test_{os.getpid()}_{next(_schemas)}"
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        yield Database("postgresql", conninfo, schema)
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each kind: a new SQLite file, or a new schema on the
    session's PostgreSQL server, dropped after the test."""
    if request.param == "sqlite":
        yield Database("sqlite", str(tmp_path / "statuses.sqlite3"))
    else:
        with _new_schema(request.getfixturevalue("postgresql")) as database:
            yield database


@pytest.fixture
def postgresql_database(postgresql: str) -> Iterator[Database]:
    """An empty schema on the session's PostgreSQL server, for the tests of what
    only PostgreSQL has."""
    with _new_schema(postgresql) as database:
        yield database


@pytest.fixture
def connection(database: Database) -> Iterator[Any]:
    """A connection to `database`, closed after the test."""
    connection = database.connect()
    yield connection
    connection.close()
