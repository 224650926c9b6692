"""smsstatus.sql's roll-up (``_rollup.py``), the counters `StatusTable.stats` reads
for slices of whole hours, on SQLite and PostgreSQL: while several threads receive
statuses and register messages (moving their first-seen hour and tag), every read
equals a recount of the rows in the same snapshot; and after them, for every slice
size and tag.  Also: a table rolled up by `create` (rows already there), deletes and
PostgreSQL's TRUNCATE, a pulled status that only touches the row."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from _postgres import Database
from test_stats import Row, figures, is_sqlite, recount

from smsstatus import Status, StatusReport, encode_xml
from smsstatus.sql import Sent, StatusTable
from smsstatus.testing import sample_histories

UTC = timezone.utc
WRITERS = 3


def rows_of(connection: Any, table: StatusTable) -> list[Row]:
    """The latest rows, as `test_stats.recount` takes them."""
    found = connection.execute(
        f"SELECT id_sms, seen_at, state, final_at, tag FROM {table.name}"
        " WHERE seen_at IS NOT NULL"
    ).fetchall()

    def aware(value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    return [
        Row(id_sms, aware(seen), Status(state), aware(final), tag)
        for id_sms, seen, state, final, tag in found
    ]


def snapshot(connection: Any, table: StatusTable, **arguments: Any) -> tuple[Any, Any]:
    """`stats` and a recount of the rows, read in one snapshot."""
    # SQLite: a read transaction (WAL); PostgreSQL: the reader's transactions are
    # REPEATABLE READ.  Either way one snapshot, from the first statement on, which
    # `stats` joins.
    connection.execute("BEGIN" if is_sqlite(connection) else "SELECT 1")
    try:
        buckets = table.stats(connection, **arguments)
        rows = rows_of(connection, table)
    finally:
        connection.rollback()
    size = arguments.get("bucket", timedelta(hours=1))
    expected = recount(
        rows, arguments["since"], arguments["until"], size, arguments.get("tag")
    )
    return figures(buckets), expected


def test_the_figures_equal_a_recount_under_concurrent_writers(
    database: Database,
) -> None:
    setup = database.connect()
    table = StatusTable()
    table.create(setup)
    now = table.stats(setup, since=datetime.now(UTC))[0].start  # this hour
    rng = random.Random(20)
    reports = sample_histories(300, seed=20).reports
    ids = sorted({report.id_sms for report in reports})
    # Each writer: its share of the statuses, in documents of up to 12, and
    # registrations of a share of the messages (before, between or after their
    # statuses), sent up to two days ago, with or without a tag.
    work: list[list[tuple[str, Any]]] = [[] for _ in range(WRITERS)]
    for report in rng.sample(reports, len(reports)):
        work[rng.randrange(WRITERS)].append(("receive", [report]))
    for id_sms in rng.sample(ids, len(ids) // 2):
        sent_at = now - timedelta(minutes=rng.randrange(48 * 60))
        sent = Sent(id_sms, sent_at, rng.choice([None, "promo", "otp"]))
        share = work[rng.randrange(WRITERS)]
        share.insert(rng.randrange(len(share) + 1), ("register", [sent]))
    for share in work:  # consecutive receives of one writer go in one document
        merged: list[tuple[str, Any]] = []
        for kind, items in share:
            if (
                merged
                and kind == merged[-1][0] == "receive"
                and len(merged[-1][1]) < 12
            ):
                merged[-1][1].extend(items)
            else:
                merged.append((kind, list(items)))
        share[:] = merged
    errors: list[BaseException] = []

    def write(share: list[tuple[str, Any]]) -> None:
        connection = database.connect()
        try:
            for kind, items in share:
                if kind == "receive":
                    assert table.receive(connection, encode_xml(items)).status == 200
                else:
                    table.register(connection, items)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    writers = [threading.Thread(target=write, args=(share,)) for share in work]
    for thread in writers:
        thread.start()
    since, until = now - timedelta(days=3), now + timedelta(hours=1)
    reader = database.connect()
    if not is_sqlite(reader):
        import psycopg

        reader.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        reads = 0
        while any(thread.is_alive() for thread in writers) or not reads:
            got, expected = snapshot(reader, table, since=since, until=until)
            assert got == expected
            reads += 1
        for thread in writers:
            thread.join()
        assert not errors
        for bucket in (timedelta(hours=1), timedelta(hours=3), timedelta(days=1)):
            for tag in (None, "promo", "otp"):
                got, expected = snapshot(
                    reader, table, since=since, until=until, bucket=bucket, tag=tag
                )
                assert got == expected
        assert sum(messages for _, messages, _, _ in got) > 0  # some tagged "otp"
        total = table.stats(reader, since=since, until=until, bucket=timedelta(days=1))
        assert sum(b.messages for b in total) == len(ids)
        assert sum(b.final for b in total) > 0
    finally:
        reader.close()
        setup.close()


def test_create_rolls_up_the_rows_a_table_already_has(database: Database) -> None:
    connection = database.connect()
    try:
        table = StatusTable()
        table.create(connection)
        moment = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
        table.register(connection, [Sent(1, moment, "promo"), Sent(2, moment)])
        table.save(connection, [StatusReport(1, None, Status.READ)])
        before = table.stats(connection, since=moment, until=moment)
        connection.execute(f"DROP TABLE {table.name}_rollup")
        connection.commit()
        table.create(connection)
        assert table.stats(connection, since=moment, until=moment) == before
        (bucket,) = before
        assert bucket.messages == 2
        assert bucket.states[Status.READ] == bucket.states[Status.SEND] == 1
        assert bucket.to_final["more"] == 1  # read a long while after sent_at
    finally:
        connection.close()


def test_deletes_are_counted_whoever_makes_them(database: Database) -> None:
    connection = database.connect()
    try:
        table = StatusTable()
        table.create(connection)
        moment = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
        table.register(connection, [Sent(i, moment) for i in range(1, 6)])
        mark = "?" if is_sqlite(connection) else "%s"
        connection.execute(f"DELETE FROM {table.name} WHERE id_sms <= {mark}", (2,))
        connection.commit()
        (bucket,) = table.stats(connection, since=moment, until=moment)
        assert bucket.messages == bucket.states[Status.SEND] == 3
        if not is_sqlite(connection):
            connection.execute(f"TRUNCATE {table.name}")
            connection.commit()
            (bucket,) = table.stats(connection, since=moment, until=moment)
            assert bucket.messages == 0
    finally:
        connection.close()


def test_a_pulled_status_that_moves_nothing_changes_no_count(
    database: Database,
) -> None:
    connection = database.connect()
    try:
        table = StatusTable()
        table.create(connection)
        moment = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
        table.register(connection, [Sent(1, moment)])
        table.save(connection, [StatusReport(1, None, Status.DELIVER)])
        before = table.stats(connection, since=moment, until=moment)
        # An older status, pulled: the row is touched (changed_at), not moved.
        table.save(connection, [StatusReport(1, None, Status.SEND)], source="pull")
        assert table.stats(connection, since=moment, until=moment) == before
        assert before[0].states[Status.DELIVER] == before[0].messages == 1
    finally:
        connection.close()


@pytest.mark.parametrize("minutes", [30, 90])
def test_a_slice_of_no_whole_hours_is_counted_from_the_rows(
    connection: Any, minutes: int
) -> None:
    """Whatever the slice, the same figures: 90 minutes (not whole hours) scans
    the rows, 3 hours reads the roll-up."""
    table = StatusTable()
    table.create(connection)
    start = datetime(2026, 11, 20, tzinfo=UTC)
    table.register(
        connection,
        [Sent(i, start + timedelta(minutes=17 * i)) for i in range(1, 40)],
    )
    fine = table.stats(
        connection,
        since=start,
        until=start + timedelta(hours=11),
        bucket=timedelta(minutes=minutes),
    )
    coarse = table.stats(
        connection,
        since=start,
        until=start + timedelta(hours=11),
        bucket=timedelta(hours=3),
    )
    per = 180 // minutes
    assert [b.messages for b in coarse] == [
        sum(b.messages for b in fine[i : i + per]) for i in range(0, len(fine), per)
    ]
    assert sum(b.messages for b in coarse) == 39
