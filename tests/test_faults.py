"""Faults under the Flask blueprint (issue 24): a PostgreSQL server of the test's own,
stopped and restarted (``-m fast`` and ``-m immediate``) between deliveries; a
SQLite file locked past the bound.  While the database is gone every delivery is
answered 503 (never a 200 that takes nothing, never a 500 page); once it is back, a
full acknowledgement on the first or second delivery; no acknowledged id missing.
(The same for the Django view is in test_django.py, whose Django is configured once
per process.)"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask")

import _postgres
from _faults import Deliveries, back_within_two
from flask import Flask

from smsstatus.flask import blueprint
from smsstatus.sql import StatusTable, connect_sqlite

pytestmark = pytest.mark.integration

TOKEN = "q" * 28 + "-faults-token"
PATH = f"/statuses/{TOKEN}"


def app_on(connect: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SMSSTATUS_TOKEN=TOKEN, SMSSTATUS_DB_TIMEOUT=0.5)
    app.register_blueprint(blueprint(connect))
    return app


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_postgresql_restart_and_stop_under_the_blueprint(
    restartable_postgresql: _postgres.Server, mode: str
) -> None:
    import psycopg

    server = restartable_postgresql
    with psycopg.connect(server.conninfo, autocommit=True) as admin:
        admin.execute("DROP TABLE IF EXISTS smsstatus_delivery CASCADE")
        for suffix in ("_event", "_webhook", "_rejected"):
            admin.execute(f"DROP TABLE IF EXISTS smsstatus_delivery{suffix}")
        StatusTable().create(admin)
    app = app_on(lambda: psycopg.connect(server.conninfo, connect_timeout=2))
    deliveries = Deliveries(app, PATH, "/statuses/health")
    assert deliveries.deliver(deliveries.batch()) == 200
    server.ctl("restart", "-m", mode)
    back_within_two(deliveries)
    server.ctl("stop", "-m", mode)
    try:
        gone = deliveries.batch()
        assert deliveries.deliver(gone) == 503
        assert deliveries.health() == 503
    finally:
        server.ctl("start")
    assert deliveries.health() == 200
    assert deliveries.deliver(gone) == 200
    back_within_two(deliveries)
    with psycopg.connect(server.conninfo) as connection:
        stored = StatusTable().load(connection, deliveries.acknowledged)
    assert set(stored) == deliveries.acknowledged
    assert len(deliveries.acknowledged) == 40


def test_a_sqlite_file_locked_past_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "statuses.sqlite3"
    with closing(connect_sqlite(path)) as connection:
        StatusTable().create(connection)
    app = app_on(lambda: closing(connect_sqlite(path, timeout=0.3)))
    deliveries = Deliveries(app, PATH, "/statuses/health")
    assert deliveries.deliver(deliveries.batch()) == 200
    with closing(sqlite3.connect(path, isolation_level=None)) as locker:
        locker.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        locked = deliveries.batch()
        assert deliveries.deliver(locked) == 503
        assert time.monotonic() - started < 5
        locker.execute("ROLLBACK")
    assert deliveries.deliver(locked) == 200
    with closing(connect_sqlite(path)) as connection:
        stored = StatusTable().load(connection, deliveries.acknowledged)
    assert set(stored) == deliveries.acknowledged == set(range(1, 21))
