"""smsstatus.sql.per_thread: one connection kept per thread, closed and opened anew
after a failure, closed when its thread ends; and the Flask blueprint on it, healing
after a read-only database."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from _postgres import Database

import smsstatus
from smsstatus import Status, StatusReport
from smsstatus.sql import StatusTable, connect_sqlite, per_thread

# The tests use per_thread on this thread (see the fixture).
pytestmark = pytest.mark.usefixtures("collect_on_this_thread")

TOKEN = "k" * 40


class Opened:
    """A connection factory that remembers every connection it opened."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.connections: list[sqlite3.Connection] = []

    def __call__(self) -> sqlite3.Connection:
        # check_same_thread=False only so that the test may look at another
        # thread's connection once that thread is gone.
        connection = sqlite3.connect(self.path, check_same_thread=False)
        self.connections.append(connection)
        return connection


def is_closed(connection: sqlite3.Connection) -> bool:
    try:
        connection.execute("SELECT 1")
    except sqlite3.ProgrammingError as error:
        return "closed" in str(error)
    return False


def test_a_thread_gets_the_same_connection_each_time(tmp_path: Path) -> None:
    opened = Opened(tmp_path / "db.sqlite3")
    connect = per_thread(opened)
    with connect() as first:
        first.execute("CREATE TABLE t (x)")
    with connect() as second:
        second.execute("INSERT INTO t VALUES (1)")
    assert second is first
    assert opened.connections == [first]
    assert not is_closed(first)


def test_each_thread_gets_its_own_connection(tmp_path: Path) -> None:
    opened = Opened(tmp_path / "db.sqlite3")
    connect = per_thread(opened)
    together = threading.Barrier(3)
    lent: dict[str, list[Any]] = {}

    def work(name: str) -> None:
        with connect() as connection:
            together.wait(timeout=10)  # all three hold theirs at once
            again = connect()
            with again as same:
                lent[name] = [connection, same]

    threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    with connect() as mine:
        together.wait(timeout=10)
    for thread in threads:
        thread.join(timeout=10)
    assert all(first is second for first, second in lent.values())
    distinct = {id(mine), *(id(first) for first, _ in lent.values())}
    assert len(distinct) == 3 == len(opened.connections)


def test_a_failure_closes_the_connection_and_the_next_call_reconnects(
    tmp_path: Path,
) -> None:
    opened = Opened(tmp_path / "db.sqlite3")
    connect = per_thread(opened)
    with pytest.raises(sqlite3.OperationalError), connect() as connection:
        connection.execute("SELECT * FROM no_such_table")
    assert is_closed(connection)
    with connect() as fresh:
        assert fresh.execute("SELECT 1").fetchone() == (1,)
    assert fresh is not connection
    assert opened.connections == [connection, fresh]


def test_a_failure_in_a_nested_block_closes_the_one_connection(
    tmp_path: Path,
) -> None:
    opened = Opened(tmp_path / "db.sqlite3")
    connect = per_thread(opened)
    lent: list[sqlite3.Connection] = []

    def nested() -> None:
        with connect() as outer, connect() as inner:
            lent.extend((outer, inner))
            raise RuntimeError("in the inner block")

    with pytest.raises(RuntimeError):
        nested()
    outer, inner = lent
    assert inner is outer
    assert is_closed(outer)
    with connect() as fresh:
        assert fresh is not outer


def test_a_connection_that_fails_to_close_still_lets_the_error_through() -> None:
    class Broken:
        closes = 0

        def close(self) -> None:
            Broken.closes += 1
            raise OSError("the server went away")

    connect = per_thread(Broken)
    with pytest.raises(ValueError, match="the block's"), connect():
        raise ValueError("the block's")
    assert Broken.closes == 1


def test_a_thread_that_ends_closes_its_connection(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with closing(connect_sqlite(path)) as connection:
        connection.execute("CREATE TABLE t (x)")
    opened = Opened(path)
    connect = per_thread(opened)

    def work() -> None:
        with connect() as connection:
            connection.execute("INSERT INTO t VALUES (1)")
            connection.commit()

    for _ in range(3):  # threads come and go, as a server's pool's do
        thread = threading.Thread(target=work)
        thread.start()
        thread.join(timeout=10)
    assert len(opened.connections) == 3
    assert all(is_closed(connection) for connection in opened.connections)
    # The last connection to close checkpoints and removes the WAL.
    assert not Path(f"{path}-wal").exists()


def test_the_flask_blueprint_heals_after_a_read_only_database(
    tmp_path: Path,
) -> None:
    pytest.importorskip("flask")
    path = tmp_path / "statuses.sqlite3"
    with closing(connect_sqlite(path)) as connection:
        StatusTable().create(connection)
    opened: list[sqlite3.Connection] = []

    def open_database() -> sqlite3.Connection:
        # The first connection is opened while the file is read-only (as by an
        # operator's mistake, or a full disk); the ones after, once it is writable.
        if opened:
            connection = connect_sqlite(path)
        else:
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        opened.append(connection)
        return connection

    client = flask_client(per_thread(open_database))
    body = delivery(1, 2)
    refused = client.post(f"/statuses/{TOKEN}", data=body)
    assert refused.status_code == 503
    taken = client.post(f"/statuses/{TOKEN}", data=body)
    assert taken.status_code == 200
    assert sorted(smsstatus.decode_ack(taken.data, "xml")) == [1, 2]
    again = client.post(f"/statuses/{TOKEN}", data=body)
    assert again.status_code == 200
    # One connection closed after the failure, one kept for both deliveries after.
    assert len(opened) == 2
    assert is_closed(opened[0])
    with closing(connect_sqlite(path)) as connection:
        assert sorted(StatusTable().load(connection, [1, 2])) == [1, 2]


def flask_client(connect: Any) -> Any:
    from flask import Flask

    from smsstatus.flask import blueprint

    app = Flask(__name__)
    app.config.update(SMSSTATUS_TOKEN=TOKEN)
    app.register_blueprint(blueprint(connect))
    return app.test_client()


def delivery(*ids: int) -> bytes:
    moment = datetime(2026, 12, 6, 9, 0)
    return smsstatus.encode_xml(
        [StatusReport(n, time=moment, state=Status.DELIVER) for n in ids]
    )


def test_the_flask_blueprint_keeps_one_connection_and_commits(
    database: Database,
) -> None:
    pytest.importorskip("flask")
    with closing(database.connect()) as connection:
        StatusTable().create(connection)
    opened: list[Any] = []

    def open_database() -> Any:
        opened.append(database.connect())
        return opened[-1]

    client = flask_client(per_thread(open_database))
    for ids in ((1, 2), (3,)):
        answer = client.post(f"/statuses/{TOKEN}", data=delivery(*ids))
        assert sorted(smsstatus.decode_ack(answer.data, "xml")) == list(ids)
    assert client.get("/statuses/health").status_code == 200
    assert len(opened) == 1
    # Committed: another connection sees the rows.
    with closing(database.connect()) as other:
        assert sorted(StatusTable().load(other, [1, 2, 3])) == [1, 2, 3]
    opened[0].close()


def test_the_flask_blueprint_reconnects_after_its_connection_is_killed(
    postgresql_database: Database,
) -> None:
    pytest.importorskip("flask")
    import psycopg

    database = postgresql_database
    with closing(database.connect()) as connection:
        StatusTable().create(connection)
    opened: list[Any] = []

    def open_database() -> Any:
        opened.append(database.connect())
        return opened[-1]

    client = flask_client(per_thread(open_database))
    assert client.post(f"/statuses/{TOKEN}", data=delivery(1)).status_code == 200
    # As a server restart does to every connection.
    with psycopg.connect(database.target, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (opened[0].info.backend_pid,))
    assert client.post(f"/statuses/{TOKEN}", data=delivery(2)).status_code == 503
    answer = client.post(f"/statuses/{TOKEN}", data=delivery(2))
    assert smsstatus.decode_ack(answer.data, "xml") == (2,)
    assert len(opened) == 2
    assert opened[0].closed
    opened[1].close()
