"""smsstatus._unavailable: what every receiver does when the database fails."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from typing import Any

import pytest

from smsstatus._unavailable import bound_waits, log_unavailable, timeout_settings


def test_the_log_line_is_one_bounded_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, "smsstatus"):
        log_unavailable(OSError("refused\n\tIs the server running?"))
        log_unavailable(RuntimeError("x" * 1000), what="health check failed")
    first, second = (record.getMessage() for record in caplog.records)
    assert first == (
        "delivery not stored, answered 503: OSError: refused Is the server running?"
    )
    assert second.startswith("health check failed: RuntimeError: xxx")
    assert second.endswith("x...")
    assert len(second) < 360
    assert all(record.exc_info is None for record in caplog.records)


def test_the_bound_is_in_milliseconds_and_never_zero() -> None:
    assert timeout_settings(10)[1] == ("10000ms", "10000ms")
    # 0 would mean "no bound" to PostgreSQL.
    assert timeout_settings(0.0001)[1] == ("1ms", "1ms")


def test_sqlite_and_no_bound_open_no_transaction(tmp_path: Any) -> None:
    with closing(sqlite3.connect(tmp_path / "db.sqlite3")) as connection:
        with bound_waits(connection, 1.0):
            assert not connection.in_transaction
        with bound_waits(connection, None):
            assert not connection.in_transaction


def test_postgresql_bounds_its_own_transaction_only(postgresql: str) -> None:
    import psycopg

    with psycopg.connect(postgresql, autocommit=True) as connection:
        with bound_waits(connection, 2.5):
            assert connection.execute("SHOW lock_timeout").fetchone() == ("2500ms",)
            assert connection.execute("SHOW statement_timeout").fetchone() == (
                "2500ms",
            )
        assert connection.info.transaction_status.name == "IDLE"
        assert connection.execute("SHOW lock_timeout").fetchone() == ("0",)
        with bound_waits(connection, None):
            assert connection.info.transaction_status.name == "IDLE"
