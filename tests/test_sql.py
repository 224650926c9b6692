"""smsstatus.sql: `StatusTable` on SQLite and on a real PostgreSQL server.

Every test that takes `connection` or `database` runs on both (see conftest.py).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import sys
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from _postgres import Database
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsstatus import Status, StatusReport
from smsstatus._model import _RANK
from smsstatus.sql import Change, StatusTable, Update, connect_sqlite

MOSCOW = ZoneInfo("Europe/Moscow")
T = datetime(2026, 11, 26, 9, 14, 2)


def report(id_sms: int, state: Status, time: datetime | None = T, **legs: Status):
    return StatusReport(id_sms, time=time, state=state, **legs)


@pytest.fixture
def table(connection: Any) -> StatusTable:
    table = StatusTable()
    table.create(connection)
    return table


def kind(connection: Any) -> str:
    return "sqlite" if isinstance(connection, sqlite3.Connection) else "postgresql"


def in_transaction(connection: Any) -> bool:
    if kind(connection) == "sqlite":
        return connection.in_transaction
    return connection.info.transaction_status.name != "IDLE"


def begin(connection: Any) -> None:
    """Open a transaction as a caller would: explicitly on sqlite3, implicitly (by a
    first statement) on psycopg."""
    connection.execute("BEGIN" if kind(connection) == "sqlite" else "SELECT 1")
    assert in_transaction(connection)


def columns(connection: Any, name: str) -> list[tuple[str, str, bool, bool]]:
    """(name, type, nullable, primary key) of each column, as the database says."""
    if kind(connection) == "sqlite":
        info = connection.execute(f"PRAGMA table_info({name})").fetchall()
        return [(c[1], c[2].lower(), not c[3], bool(c[5])) for c in info]
    found = connection.execute(
        "SELECT c.column_name, c.data_type, c.character_maximum_length,"
        " c.is_nullable = 'YES', k.column_name IS NOT NULL"
        " FROM information_schema.columns c LEFT JOIN"
        " information_schema.key_column_usage k USING (table_schema, table_name,"
        " column_name) WHERE c.table_name = %s AND c.table_schema = current_schema()"
        " ORDER BY c.ordinal_position",
        (name,),
    ).fetchall()
    connection.rollback()
    return [(c[0], f"{c[1]}({c[2]})" if c[2] else c[1], c[3], c[4]) for c in found]


# --- the table ---------------------------------------------------------------------


def test_create_makes_the_decided_layout_and_is_idempotent(connection) -> None:
    table = StatusTable()
    table.create(connection)
    table.create(connection)
    assert not in_transaction(connection)
    if kind(connection) == "sqlite":
        time, text = "datetime", "varchar(14)"
    else:
        time, text = "timestamp with time zone", "character varying(14)"
    assert columns(connection, "smsstatus_delivery") == [
        ("id_sms", "bigint", False, True),
        ("time", time, True, False),
        ("time_offset", "integer", True, False),
        ("state", text, False, False),
        ("sms", text, True, False),
        ("viber", text, True, False),
        ("changed_at", time, False, False),
        ("sent_at", time, True, False),
        ("tag", text.replace("14", "64"), True, False),
        ("seen_at", time, True, False),
        ("final_at", time, True, False),
    ]


def test_a_table_of_another_name(connection) -> None:
    table = StatusTable("deliveries_2")
    assert table.name == "deliveries_2"
    assert repr(table) == "StatusTable('deliveries_2')"
    table.create(connection)
    assert table.save(connection, [report(1, Status.SEND)]) == {1}
    assert table.load(connection, [1]) == {1: report(1, Status.SEND)}
    assert columns(connection, "deliveries_2")[0][0] == "id_sms"


@pytest.mark.parametrize(
    "name", ["", "1st", "a-b", "a b", "t;drop table x", "é", "a" * 55, None, 7]
)
def test_names_that_are_not_plain_identifiers_are_refused(name) -> None:
    with pytest.raises(ValueError, match="plain SQL identifier"):
        StatusTable(name)


# 54: the longest whose derived names (+ "_rejected") stay within 63 characters.
@pytest.mark.parametrize("name", ["_", "a" * 54, "Deliveries_01"])
def test_plain_identifiers_are_accepted(name) -> None:
    assert StatusTable(name).name == name


class NotADriver:
    pass


class Connection:  # named like the drivers' classes, but of neither driver
    pass


@pytest.mark.parametrize("connection", [NotADriver(), Connection(), None])
def test_other_connections_are_refused_naming_what_works(connection) -> None:
    for call in (
        lambda: StatusTable().create(connection),
        lambda: StatusTable().save(connection, [report(1, Status.SEND)]),
        lambda: StatusTable().update(connection, []),
        lambda: StatusTable().load(connection, [1]),
        lambda: StatusTable().pending(connection, timedelta(0)),
    ):
        with pytest.raises(TypeError, match=r"sqlite3.*psycopg"):
            call()


def test_a_sqlite3_connection_subclass_works(tmp_path) -> None:
    class Mine(sqlite3.Connection):
        pass

    connection = sqlite3.connect(tmp_path / "db", factory=Mine)
    table = StatusTable()
    table.create(connection)
    assert table.save(connection, [report(1, Status.READ)]) == {1}
    connection.close()


class CommitDoesNothing(sqlite3.Connection):
    """What ``autocommit=True`` (Python 3.12+) makes of a sqlite3 connection:
    ``commit()`` and ``rollback()`` do nothing, and SQL alone ends a transaction."""

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass


def sqlite_connections_in_autocommit() -> list[Any]:
    kinds: list[Any] = [{"factory": CommitDoesNothing}]
    if sys.version_info >= (3, 12):
        kinds.append({"autocommit": True})
    return kinds


@pytest.mark.parametrize("options", sqlite_connections_in_autocommit())
def test_sqlite_writes_commit_where_commit_does_nothing(tmp_path, options) -> None:
    path = tmp_path / "db"
    connection = sqlite3.connect(path, **options)
    other = sqlite3.connect(path, timeout=0.1)
    table = StatusTable()
    try:
        table.create(connection)
        assert table.save(connection, [report(1, Status.SEND)]) == {1}
        assert table.update(connection, [report(2, Status.READ)]).taken == {2}
        assert not connection.in_transaction
        # Committed and the write lock released: another connection sees the rows
        # and can write at once.
        assert table.save(other, [report(3, Status.SEND)]) == {3}
        assert table.load(other, [1, 2, 3]).keys() == {1, 2, 3}
        with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
            StatusTable("no_such_table").save(connection, [report(4, Status.SEND)])
        assert not connection.in_transaction  # rolled back, lock released
        assert table.save(other, [report(4, Status.SEND)]) == {4}
    finally:
        other.close()
        connection.close()


def test_psycopg_async_connections_are_refused(postgresql: str) -> None:
    import asyncio

    import psycopg

    async def connect() -> Any:
        return await psycopg.AsyncConnection.connect(postgresql)

    connection = asyncio.run(connect())
    try:
        with pytest.raises(TypeError, match=r"psycopg\.Connection"):
            StatusTable().load(connection, [1])
    finally:
        asyncio.run(connection.close())


# --- save and load -----------------------------------------------------------------


def test_save_stores_and_load_gives_back(connection, table) -> None:
    reports = [
        report(1, Status.SEND, None, sms=Status.SEND),
        report(2, Status.DELIVER, T, viber=Status.DELIVER),
        report(3, Status.READ, T, sms=Status.NOT_DELIVER, viber=Status.READ),
        report(2**63 - 1, Status.EXPIRED, datetime(1, 1, 1)),
    ]
    assert table.save(connection, reports) == {1, 2, 3, 2**63 - 1}
    assert not in_transaction(connection)
    assert table.load(connection, [1, 2, 3, 4, 2**63 - 1, 2**63, -1]) == {
        r.id_sms: r for r in reports
    }
    assert not in_transaction(connection)
    assert table.load(connection, []) == {}
    assert table.load(connection, [2**64]) == {}


def test_save_keeps_the_furthest_along(connection, table) -> None:
    assert table.save(connection, [report(1, Status.DELIVER), report(2, Status.READ)])
    later = [
        report(1, Status.SEND, None),  # late
        report(1, Status.DELIVER, T + timedelta(1)),  # duplicate state
        report(2, Status.EXPIRED),  # another final
        report(3, Status.PARTLY_DELIVER),
    ]
    assert table.save(connection, later) == {1, 2, 3}
    assert table.load(connection, [1, 2, 3]) == {
        1: report(1, Status.DELIVER),
        2: report(2, Status.READ),
        3: report(3, Status.PARTLY_DELIVER),
    }
    assert table.save(connection, [report(3, Status.NOT_DELIVER)]) == {3}
    assert table.load(connection, [3]) == {3: report(3, Status.NOT_DELIVER)}


def test_several_reports_of_one_id_in_one_call(connection, table) -> None:
    first_final = report(1, Status.EXPIRED, T)
    reports = [
        report(1, Status.SEND, None),
        report(1, Status.DELIVER),
        first_final,
        report(1, Status.READ),
        report(1, Status.DELIVER),
        report(2, Status.SEND),
        report(2, Status.SEND, T + timedelta(1)),
    ]
    assert table.save(connection, reports) == {1, 2}
    assert table.load(connection, [1, 2]) == {1: first_final, 2: report(2, Status.SEND)}


def test_save_of_nothing_takes_nothing(connection, table) -> None:
    assert table.save(connection, []) == frozenset()
    assert table.save(connection, iter(())) == frozenset()
    assert not in_transaction(connection)


def test_ids_the_table_cannot_hold_are_logged_not_taken(connection, table, caplog):
    too_big = report(2**63, Status.READ)
    with caplog.at_level(logging.WARNING, logger="smsstatus"):
        taken = table.save(connection, [too_big, report(5, Status.SEND)])
    assert taken == {5}
    assert table.load(connection, [5, 2**63]) == {5: report(5, Status.SEND)}
    assert "id_sms=9223372036854775808 cannot be stored" in caplog.text


def test_a_time_that_has_no_utc_instant_is_not_taken(connection, table, caplog):
    # 0001-01-01 00:00 at +03:00 is in the year 0 in UTC, which datetime cannot hold.
    early = report(6, Status.READ, datetime(1, 1, 1, tzinfo=MOSCOW))
    with caplog.at_level(logging.WARNING, logger="smsstatus"):
        assert table.save(connection, [early, report(7, Status.READ)]) == {7}
    assert "id_sms=6 cannot be stored" in caplog.text


def test_save_accepts_any_iterable_once(connection, table) -> None:
    reports = (report(i, Status.DELIVER) for i in range(3))
    assert table.save(connection, reports) == {0, 1, 2}


def test_a_big_batch(connection, table) -> None:
    reports = [report(i, Status.DELIVER, None) for i in range(2000)]
    assert table.save(connection, reports) == set(range(2000))
    stored = table.load(connection, range(2000))
    assert stored == {r.id_sms: r for r in reports}


# --- times ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "time",
    [
        datetime(2026, 11, 26, 9, 14, 2, tzinfo=MOSCOW),
        datetime(2026, 6, 1, 23, 30, tzinfo=ZoneInfo("America/St_Johns")),  # -02:30
        datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/Berlin")),  # DST began
        datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        datetime(1900, 1, 1, 12, tzinfo=ZoneInfo("Asia/Kolkata")),  # +05:53:28
        datetime(2026, 11, 26, 9, 14, 2, tzinfo=timezone.utc),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
    ],
    ids=str,
)
def test_aware_times_keep_their_instant_and_offset(connection, table, time) -> None:
    table.save(connection, [report(1, Status.DELIVER, time)])
    loaded = table.load(connection, [1])[1].time
    assert loaded == time
    assert loaded.utcoffset() == time.utcoffset()
    assert loaded.replace(tzinfo=None) == time.replace(tzinfo=None)


@pytest.mark.parametrize(
    "time", [T, datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)], ids=str
)
def test_naive_times_stay_naive(connection, table, time) -> None:
    table.save(connection, [report(1, Status.DELIVER, time)])
    loaded = table.load(connection, [1])[1].time
    assert loaded == time
    assert loaded.tzinfo is None


def test_times_are_kept_to_the_second(connection, table) -> None:
    table.save(connection, [report(1, Status.DELIVER, T.replace(microsecond=999999))])
    assert table.load(connection, [1])[1].time == T


def test_times_are_stored_as_the_layout_says(connection, table) -> None:
    table.save(
        connection,
        [
            report(1, Status.DELIVER, datetime(2026, 11, 26, 9, 14, 2, tzinfo=MOSCOW)),
            report(2, Status.DELIVER, T),
            report(3, Status.SEND, None),
        ],
    )
    rows = connection.execute(
        "SELECT id_sms, time, time_offset FROM smsstatus_delivery ORDER BY id_sms"
    ).fetchall()
    connection.rollback()
    utc = timezone.utc
    if kind(connection) == "sqlite":
        assert rows == [
            (1, "2026-11-26 06:14:02", 10800),
            (2, "2026-11-26 09:14:02", None),
            (3, None, None),
        ]
    else:
        assert rows == [
            (1, datetime(2026, 11, 26, 6, 14, 2, tzinfo=utc), 10800),
            (2, datetime(2026, 11, 26, 9, 14, 2, tzinfo=utc), None),
            (3, None, None),
        ]


def test_times_do_not_depend_on_the_session_time_zone(connection, table) -> None:
    # PostgreSQL gets UTC wall clocks as timestamps and makes them instants in the
    # statement: whatever zone the session is in, they are read as UTC.
    if kind(connection) == "postgresql":
        connection.execute("SET TIME ZONE 'Asia/Kolkata'")
        connection.commit()
    aware = datetime(2026, 11, 26, 9, 14, 2, tzinfo=MOSCOW)
    saved = [report(1, Status.DELIVER, T), report(2, Status.DELIVER, aware)]
    table.save(connection, saved)
    (instant,) = connection.execute(
        "SELECT time FROM smsstatus_delivery WHERE id_sms = 2"
    ).fetchone()
    connection.rollback()
    if kind(connection) == "sqlite":
        assert instant == "2026-11-26 06:14:02"
    else:
        assert instant == aware
    assert table.load(connection, [1, 2]) == {1: saved[0], 2: saved[1]}


# --- changed_at and pending ----------------------------------------------------------


def changed_at(connection: Any) -> dict[int, Any]:
    rows = connection.execute(
        "SELECT id_sms, changed_at FROM smsstatus_delivery"
    ).fetchall()
    connection.rollback()
    return dict(rows)


def test_changed_at_is_the_database_clock_and_moves_only_on_change(
    connection, table
) -> None:
    table.save(connection, [report(1, Status.SEND), report(2, Status.SEND)])
    first = changed_at(connection)
    if kind(connection) == "sqlite":
        assert all(
            re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", v)
            for v in first.values()
        ), first
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        stamp = datetime.fromisoformat(first[1])
    else:
        now = datetime.now(timezone.utc)
        stamp = first[1]
    assert abs(stamp - now) < timedelta(minutes=1)
    table.save(connection, [report(1, Status.DELIVER), report(2, Status.SEND, None)])
    second = changed_at(connection)
    assert second[2] == first[2]  # not superseded: untouched
    assert second[1] >= first[1]


def test_every_row_of_a_save_gets_one_changed_at(connection, table) -> None:
    table.save(connection, [report(i, Status.SEND) for i in range(150)])
    assert len(set(changed_at(connection).values())) == 1


def age(connection: Any, id_sms: int, by: timedelta) -> None:
    """Move a row's changed_at back by `by`, as if it had not changed since."""
    if kind(connection) == "sqlite":
        connection.execute(
            "UPDATE smsstatus_delivery SET changed_at ="
            " strftime('%Y-%m-%d %H:%M:%f000', changed_at, ?) WHERE id_sms = ?",
            (f"{-by.total_seconds()} seconds", id_sms),
        )
    else:
        connection.execute(
            "UPDATE smsstatus_delivery SET changed_at = changed_at - %s"
            " WHERE id_sms = %s",
            (by, id_sms),
        )
    connection.commit()


def test_pending_lists_unfinished_rows_unchanged_for_long(connection, table) -> None:
    table.save(
        connection,
        [
            report(1, Status.SEND, None),
            report(2, Status.DELIVER),
            report(3, Status.READ),
            report(4, Status.PARTLY_DELIVER),
            report(5, Status.EXPIRED),
            report(6, Status.NOT_DELIVER),
        ],
    )
    for id_sms in range(1, 7):
        age(connection, id_sms, timedelta(hours=2))
    age(connection, 4, timedelta(hours=-1, minutes=-30))  # changed 30 minutes ago
    hour = timedelta(hours=1)
    assert table.pending(connection, hour) == [1, 2]
    assert not in_transaction(connection)
    assert table.pending(connection, timedelta(0)) == [1, 2, 4]
    assert table.pending(connection, timedelta(hours=3)) == []
    table.save(connection, [report(2, Status.READ), report(1, Status.PARTLY_DELIVER)])
    assert table.pending(connection, hour) == []
    assert table.pending(connection, timedelta(0)) == [4, 1]  # the oldest change first


# --- update --------------------------------------------------------------------------


def test_update_tells_what_changed(connection, table) -> None:
    sent = report(1, Status.SEND, None)
    assert table.update(connection, [sent, report(2, Status.READ)]) == Update(
        frozenset({1, 2}),
        (Change(sent, None), Change(report(2, Status.READ), None)),
    )
    assert not in_transaction(connection)
    delivered = report(1, Status.DELIVER)
    result = table.update(
        connection,
        [
            report(3, Status.SEND),
            report(2, Status.EXPIRED),  # final: no change
            delivered,
            report(1, Status.SEND),
            report(2**63, Status.SEND),
        ],
    )
    assert result.taken == {1, 2, 3}
    assert result.changes == (
        Change(report(3, Status.SEND), None),
        Change(delivered, sent),
    )
    assert table.load(connection, [1, 2, 3]) == {
        1: delivered,
        2: report(2, Status.READ),
        3: report(3, Status.SEND),
    }
    assert table.update(connection, []) == Update(frozenset(), ())
    assert table.update(connection, [report(3, Status.SEND)]) == Update(
        frozenset({3}), ()
    )


# --- transactions and statements ---------------------------------------------------


def test_save_commits_so_other_connections_see_it(database, connection, table):
    table.save(connection, [report(1, Status.DELIVER)])
    other = database.connect()
    try:
        assert table.load(other, [1]) == {1: report(1, Status.DELIVER)}
    finally:
        other.close()


@pytest.mark.parametrize("method", ["save", "update"])
def test_a_write_joins_the_callers_transaction(database, connection, table, method):
    table.save(connection, [report(1, Status.SEND)])
    begin(connection)
    assert in_transaction(connection)
    getattr(table, method)(connection, [report(1, Status.READ), report(2, Status.READ)])
    assert in_transaction(connection)  # not committed: the caller's to decide
    connection.rollback()
    assert table.load(connection, [1, 2]) == {1: report(1, Status.SEND)}
    getattr(table, method)(connection, [report(2, Status.READ)])
    assert not in_transaction(connection)  # its own transaction, committed
    assert table.load(connection, [2]) == {2: report(2, Status.READ)}


def test_a_failed_write_rolls_back_its_own_transaction(connection, table) -> None:
    broken = StatusTable("no_such_table")
    with pytest.raises(Exception, match="no_such_table"):
        broken.save(connection, [report(1, Status.SEND)])
    assert not in_transaction(connection)
    assert table.save(connection, [report(1, Status.SEND)]) == {1}


def test_load_inside_the_callers_transaction_leaves_it_open(connection, table):
    table.save(connection, [report(1, Status.SEND)])
    begin(connection)
    assert table.load(connection, [1]) == {1: report(1, Status.SEND)}
    assert table.pending(connection, timedelta(0)) == [1]
    assert in_transaction(connection)
    connection.rollback()


def test_psycopg_in_autocommit_mode(postgresql_database: Database) -> None:
    connection = postgresql_database.connect()
    connection.autocommit = True
    try:
        table = StatusTable()
        table.create(connection)
        reports = [report(i, Status.DELIVER) for i in range(300)]
        assert table.save(connection, reports) == set(range(300))
        assert len(table.update(connection, [report(1, Status.READ)]).changes) == 1
        assert len(table.load(connection, range(300))) == 300
    finally:
        connection.close()


def test_a_client_side_cursor_factory_still_binds_on_the_server(
    postgresql_database: Database,
) -> None:
    # Django's psycopg connections make ClientCursors, which would write every value
    # into the statement's text: the ledger's statements are bound all the same, so
    # the server can keep them prepared.
    import psycopg

    connection = postgresql_database.connect()
    connection.cursor_factory = psycopg.ClientCursor
    connection.prepare_threshold = 0  # prepare at the first use
    try:
        table = StatusTable()
        table.create(connection)
        table.save(connection, [report(1, Status.SEND)])
        prepared = connection.execute("SELECT statement FROM pg_prepared_statements")
        assert any("unnest($1::bigint[]" in text for (text,) in prepared)
    finally:
        connection.close()


def count_statements(connection: Any) -> list[str]:
    """Collects the statements `connection` runs from now on."""
    seen: list[str] = []
    if kind(connection) == "sqlite":
        connection.set_trace_callback(seen.append)
        return seen
    import psycopg

    class Counting(psycopg.Cursor):  # type: ignore[type-arg]
        def execute(self, query, params=None, **kwargs):  # type: ignore[no-untyped-def]
            seen.append(str(query))
            return super().execute(query, params, **kwargs)

    connection.cursor_factory = Counting
    return seen


@pytest.mark.parametrize("history", [True, False])
@pytest.mark.parametrize("size", [1, 20, 150, 1000])
def test_a_batch_costs_a_statement_per_chunk_not_per_report(connection, size, history):
    table = StatusTable(history=history)
    table.create(connection)
    seen = count_statements(connection)
    table.save(connection, [report(i, Status.SEND) for i in range(size)])
    writes = [s for s in seen if "INSERT INTO" in s]
    if kind(connection) == "sqlite":
        # One per 20 rows, and as many for the history.
        assert len(writes) == -(-size // 20) * (2 if history else 1)
        assert len(seen) == len(writes) + 3  # BEGIN, the clock, COMMIT
    else:
        assert len(writes) == 1
        assert len(seen) <= len(writes) + 2  # BEGIN and COMMIT at most
    del seen[:]
    table.save(connection, [report(i, Status.DELIVER) for i in range(size)])
    assert all("SELECT id_sms" not in s for s in seen)  # save never reads rows


# --- connect_sqlite ------------------------------------------------------------------


def test_connect_sqlite_sets_what_concurrent_writers_need(tmp_path) -> None:
    connection = connect_sqlite(tmp_path / "db.sqlite3", timeout=7.5)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA busy_timeout").fetchone() == (7500,)
        assert connection.isolation_level == "IMMEDIATE"
    finally:
        connection.close()


def test_a_writer_waits_for_the_lock_up_to_the_busy_timeout(tmp_path) -> None:
    import threading
    import time

    path = tmp_path / "db.sqlite3"
    first, impatient = connect_sqlite(path), connect_sqlite(path, timeout=0.05)
    table = StatusTable()
    table.create(first)
    first.execute("BEGIN IMMEDIATE")
    table.save(first, [report(1, Status.SEND)])  # joins: the lock stays held
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        table.save(impatient, [report(2, Status.SEND)])  # 50 ms were not enough
    assert not impatient.in_transaction
    impatient.close()

    waited: list[float] = []

    def patient_save() -> None:
        connection = connect_sqlite(path)  # 10 s
        started = time.monotonic()
        assert table.save(connection, [report(3, Status.READ)]) == {3}
        waited.append(time.monotonic() - started)
        connection.close()

    writer = threading.Thread(target=patient_save)
    writer.start()
    time.sleep(0.3)
    first.commit()  # lets the waiting writer in
    writer.join(10)
    (waited_for,) = waited  # the save returned, taking id 3
    assert waited_for >= 0.2
    assert table.load(first, [1, 2, 3]).keys() == {1, 3}
    first.close()


def test_a_failed_write_in_the_callers_transaction_leaves_it_to_the_caller(
    connection, table
) -> None:
    begin(connection)
    table.save(connection, [report(1, Status.SEND)])
    with pytest.raises(Exception, match="no_such_table"):
        StatusTable("no_such_table").save(connection, [report(2, Status.SEND)])
    assert in_transaction(connection)
    connection.rollback()
    assert table.load(connection, [1]) == {}


def test_update_meets_a_row_inserted_after_it_looked(postgresql_database) -> None:
    # `update` found no row 1, so it inserts it; but another transaction inserted
    # row 1 meanwhile and commits while `update` waits: the change must name the
    # row that other transaction wrote as the previous one.
    import threading
    import time

    first, second = postgresql_database.connect(), postgresql_database.connect()
    table = StatusTable()
    table.create(first)
    first.execute(
        "INSERT INTO smsstatus_delivery VALUES (1, NULL, NULL, 'send', NULL, NULL,"
        " now())"
    )
    results: list[Update] = []
    worker = threading.Thread(
        target=lambda: results.append(table.update(second, [report(1, Status.READ)]))
    )
    worker.start()
    watcher = postgresql_database.connect()
    watcher.autocommit = True
    deadline = time.monotonic() + 10
    while not watcher.execute(
        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    ).fetchall():
        assert time.monotonic() < deadline, "update never waited for the insert"
        time.sleep(0.01)
    first.commit()
    worker.join(10)
    read, sent = report(1, Status.READ), report(1, Status.SEND, None)
    assert results == [Update(frozenset({1}), (Change(read, sent),))]
    assert table.load(first, [1]) == {1: read}
    for connection in (first, second, watcher):
        connection.close()


# --- any order, any duplicates, the same final table -------------------------------

# A message's report is a function of its id and its state's rank (one final state
# per message), so "the same final table" is exact: equals of a rank are equal
# reports.  Ids collide often.
HISTORY_IDS = (0, 1, 2, 2**63 - 1)
FINALS = (Status.NOT_DELIVER, Status.EXPIRED, Status.READ)


def made_up(id_sms: int, state: Status) -> StatusReport:
    if state.is_final:
        state = FINALS[id_sms % 3]
    time = None if state is Status.SEND else T + timedelta(minutes=_RANK[state])
    return StatusReport(id_sms, time, state, sms=state)


histories = st.lists(
    st.builds(made_up, st.sampled_from(HISTORY_IDS), st.sampled_from(Status)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories, data=st.data())
def test_any_order_and_duplicates_give_the_same_table(connection, history, data):
    table = StatusTable()
    table.create(connection)
    expected = {}
    for rep in history:  # the latest per id, by the model's own rule
        if rep.supersedes(expected.get(rep.id_sms)):
            expected[rep.id_sms] = rep
    for _ in range(2):
        connection.execute("DELETE FROM smsstatus_delivery")
        connection.commit()
        sent = data.draw(
            st.permutations(
                history + data.draw(st.lists(st.sampled_from(history), max_size=10))
            )
        )
        cuts = sorted(data.draw(st.lists(st.integers(0, len(sent)), max_size=4)))
        for start, end in zip([0, *cuts], [*cuts, len(sent)], strict=True):
            batch = sent[start:end]
            assert table.save(connection, batch) == {rep.id_sms for rep in batch}
        assert table.load(connection, HISTORY_IDS) == expected


@pytest.mark.parametrize(
    ("zone", "time"),
    [
        ("Europe/Moscow", datetime(9999, 12, 31, 23, 59, 59)),
        ("America/New_York", datetime(1, 1, 1, 0, 0, 0)),
        ("Asia/Kolkata", datetime(1, 1, 1, 3, 0, 0, tzinfo=timezone.utc)),
    ],
)
def test_load_gives_back_what_save_took_whatever_the_sessions_zone(
    postgresql_database: Database, zone: str, time: datetime
) -> None:
    # Issue 23, point 6: read as a timestamptz in the session's zone, these times
    # fall outside years 1-9999 and psycopg raised DataError.
    connection = postgresql_database.connect()
    try:
        connection.execute(f"SET TimeZone TO '{zone}'")
        connection.commit()
        table = StatusTable()
        table.create(connection)
        saved = report(1, Status.READ, time)
        assert table.save(connection, [saved]) == {1}
        assert table.load(connection, [1]) == {1: saved}
        assert [event.report for event in table.history(connection, 1)] == [saved]
    finally:
        connection.close()
