"""smsstatus.sql's `StatusTable.stats` and `Bucket`, on SQLite and PostgreSQL: the
figures against a recount of the rows in Python, empty slices, the arguments it
refuses, the tag filter, and consistency while others write."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from _postgres import Database

from smsstatus import Status, StatusReport
from smsstatus.sql import Bucket, Sent, StatusTable
from smsstatus.sql._stats import TO_FINAL

UTC = timezone.utc
DAY0 = datetime(2026, 11, 20, tzinfo=UTC)
FINAL = {Status.NOT_DELIVER, Status.EXPIRED, Status.READ}
BOUNDS = [10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600]


@attrs.frozen
class Row:
    id_sms: int
    seen_at: datetime
    state: Status
    final_at: datetime | None = None
    tag: str | None = None


def is_sqlite(connection: Any) -> bool:
    return type(connection).__module__.startswith("sqlite3")


def ledger(connection: Any) -> StatusTable:
    table = StatusTable()
    table.create(connection)
    return table


def stored(connection: Any, moment: datetime | None) -> Any:
    if moment is None or not is_sqlite(connection):
        return moment
    # As the ledger writes the database's clock on SQLite.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def insert(connection: Any, table: StatusTable, rows: Iterable[Row]) -> None:
    mark = "?" if is_sqlite(connection) else "%s"
    marks = ", ".join([mark] * 7)
    for row in rows:
        connection.execute(
            f"INSERT INTO {table.name} (id_sms, state, changed_at, seen_at,"
            f" final_at, tag, sent_at) VALUES ({marks})",
            (
                row.id_sms,
                row.state.value,
                stored(connection, row.final_at or row.seen_at),
                stored(connection, row.seen_at),
                stored(connection, row.final_at),
                row.tag,
                stored(connection, row.seen_at) if row.tag else None,
            ),
        )
    connection.commit()


def recount(
    rows: Iterable[Row],
    since: datetime,
    until: datetime,
    size: timedelta,
    tag: str | None = None,
) -> list[tuple[datetime, int, dict[Status, int], dict[str, int]]]:
    """What `stats` should say, counted in Python from the rows themselves."""
    day = since.replace(hour=0, minute=0, second=0, microsecond=0)
    start = day + (since - day) // size * size
    slices = []
    while start <= until:
        mine = [
            row
            for row in rows
            if start <= row.seen_at < start + size and (tag is None or row.tag == tag)
        ]
        states = Counter(row.state for row in mine)
        to_final: Counter[str] = Counter()
        for row in mine:
            if row.state in FINAL and row.final_at is not None:
                duration = row.final_at - row.seen_at
                below = [b for b in BOUNDS if duration < timedelta(seconds=b)]
                to_final[TO_FINAL[BOUNDS.index(below[0])] if below else "more"] += 1
        slices.append((start, len(mine), dict(states), dict(to_final)))
        start += size
    return slices


def figures(
    buckets: list[Bucket],
) -> list[tuple[datetime, int, dict[Status, int], dict[str, int]]]:
    return [
        (
            b.start,
            b.messages,
            {s: n for s, n in b.states.items() if n},
            {k: n for k, n in b.to_final.items() if n},
        )
        for b in buckets
    ]


def random_rows(count: int, seed: int, *, first_id: int = 1) -> list[Row]:
    rng = random.Random(seed)
    rows = []
    for id_sms in range(first_id, first_id + count):
        # To the millisecond, as SQLite's clock; some exactly on a slice's edge.
        seen_at = DAY0 + timedelta(milliseconds=rng.randrange(3 * 86400 * 1000))
        if rng.random() < 0.1:
            seen_at = seen_at.replace(minute=0, second=0, microsecond=0)
        state = rng.choice(list(Status))
        final_at = None
        if state in FINAL:
            bound = rng.choice(BOUNDS)
            # Exactly on a class's bound, just below it, or anywhere.
            final_at = seen_at + rng.choice(
                [
                    timedelta(seconds=bound),
                    timedelta(seconds=bound, milliseconds=-1),
                    timedelta(milliseconds=rng.randrange(2 * 86400 * 1000)),
                ]
            )
        tag = rng.choice([None, "promo", "otp"])
        rows.append(Row(id_sms, seen_at, state, final_at, tag))
    return rows


@pytest.mark.parametrize(
    ("since", "until", "size"),
    [
        (DAY0 + timedelta(hours=5, minutes=17), DAY0 + timedelta(hours=29), "1h"),
        (DAY0 - timedelta(days=2), DAY0 + timedelta(days=4), "1d"),
        (DAY0 + timedelta(hours=23), DAY0 + timedelta(hours=25, minutes=3), "15m"),
        (DAY0 + timedelta(hours=7, seconds=1), DAY0 + timedelta(hours=7), "1h"),
    ],
)
def test_the_figures_are_a_recount_of_the_rows(
    connection: Any, since: datetime, until: datetime, size: str
) -> None:
    table = ledger(connection)
    rows = random_rows(600, seed=len(size))
    insert(connection, table, rows)
    bucket = {"1h": timedelta(hours=1), "1d": timedelta(days=1)}.get(
        size, timedelta(minutes=15)
    )
    buckets = table.stats(connection, since=since, until=until, bucket=bucket)
    assert figures(buckets) == recount(rows, since, until, bucket)
    # Slices before and after the data are there, empty.
    assert len(buckets) == (until - buckets[0].start) // bucket + 1
    for b in buckets:
        assert sum(b.states.values()) == b.messages
        assert sum(b.to_final.values()) == b.final
        assert list(b.states) == list(Status)
        assert list(b.to_final) == list(TO_FINAL)


def test_slices_with_nothing_in_them_are_there_with_zeros(connection: Any) -> None:
    table = ledger(connection)
    insert(connection, table, [Row(1, DAY0 + timedelta(hours=3), Status.DELIVER)])
    buckets = table.stats(
        connection, since=DAY0, until=DAY0 + timedelta(hours=5, minutes=59)
    )
    assert [b.start for b in buckets] == [DAY0 + timedelta(hours=h) for h in range(6)]
    assert [b.messages for b in buckets] == [0, 0, 0, 1, 0, 0]
    empty = buckets[0]
    assert empty.delivery_rate is None
    assert empty.final == empty.delivered == 0
    assert set(empty.states.values()) == set(empty.to_final.values()) == {0}
    assert buckets[3].delivery_rate == 1.0
    assert buckets[3].final == 0  # deliver is not final: read may follow


def test_the_properties() -> None:
    bucket = Bucket(
        DAY0,
        4,
        {Status.READ: 1, Status.DELIVER: 1, Status.EXPIRED: 1, Status.SEND: 1},
        {"10s": 2},
    )
    assert bucket.final == 2
    assert bucket.delivered == 2
    assert bucket.delivery_rate == 0.5
    assert bucket.states[Status.NOT_DELIVER] == 0
    assert bucket.to_final["more"] == 0
    with pytest.raises(TypeError):
        bucket.states[Status.SEND] = 2  # type: ignore[index]


def test_aware_times_of_any_zone_mean_their_utc_instant(connection: Any) -> None:
    table = ledger(connection)
    insert(connection, table, [Row(1, DAY0 + timedelta(minutes=30), Status.READ)])
    plus3 = timezone(timedelta(hours=3))
    buckets = table.stats(
        connection,
        since=DAY0.astimezone(plus3),
        until=(DAY0 + timedelta(minutes=59)).astimezone(plus3),
    )
    assert [(b.start, b.messages) for b in buckets] == [(DAY0, 1)]
    assert buckets[0].start.tzinfo == UTC


@pytest.mark.parametrize(
    "bucket",
    [
        timedelta(seconds=30),
        timedelta(seconds=61),
        timedelta(minutes=7),
        timedelta(minutes=1, milliseconds=500),
        timedelta(days=2),
        timedelta(0),
        timedelta(hours=-1),
    ],
)
def test_a_slice_that_does_not_divide_a_day_is_refused(
    connection: Any, bucket: timedelta
) -> None:
    table = ledger(connection)
    with pytest.raises(ValueError, match="divide a day"):
        table.stats(connection, since=DAY0, until=DAY0, bucket=bucket)


@pytest.mark.parametrize("bucket", [timedelta(minutes=1), timedelta(seconds=90)])
def test_any_whole_divisor_of_a_day_of_a_minute_or_more_is_taken(
    connection: Any, bucket: timedelta
) -> None:
    table = ledger(connection)
    buckets = table.stats(
        connection, since=DAY0, until=DAY0 + timedelta(minutes=3), bucket=bucket
    )
    assert [b.start - DAY0 for b in buckets] == [
        bucket * i for i in range(len(buckets))
    ]
    assert buckets[-1].start <= DAY0 + timedelta(minutes=3) < buckets[-1].start + bucket


def test_naive_times_are_refused(connection: Any) -> None:
    table = ledger(connection)
    naive = DAY0.replace(tzinfo=None)
    with pytest.raises(ValueError, match="since must be an aware"):
        table.stats(connection, since=naive, until=DAY0)
    with pytest.raises(ValueError, match="until must be an aware"):
        table.stats(connection, since=DAY0, until=naive)


def test_until_defaults_to_the_databases_clock(connection: Any) -> None:
    table = ledger(connection)
    now = datetime.now(UTC)
    insert(connection, table, [Row(1, now, Status.SEND, tag="x")])
    buckets = table.stats(
        connection, since=now - timedelta(hours=3), bucket=timedelta(minutes=1)
    )
    assert buckets[0].start == (now - timedelta(hours=3)).replace(
        second=0, microsecond=0
    )
    # The last slice holds the database's now; the one row is in it or just before.
    assert (
        buckets[-1].start
        <= datetime.now(UTC)
        < buckets[-1].start + timedelta(minutes=1)
    )
    assert sum(b.messages for b in buckets) == 1
    assert sum(b.messages for b in buckets[-2:]) == 1


def test_the_tag_keeps_only_messages_registered_with_it(connection: Any) -> None:
    table = ledger(connection)
    rows = random_rows(300, seed=7)
    insert(connection, table, rows)
    since, until = DAY0, DAY0 + timedelta(days=3)
    for tag in ["promo", "otp", "none-such"]:
        buckets = table.stats(
            connection, since=since, until=until, bucket=timedelta(hours=6), tag=tag
        )
        expected = recount(rows, since, until, timedelta(hours=6), tag)
        assert figures(buckets) == expected
    promo = sum(
        b.messages
        for b in table.stats(connection, since=since, until=until, tag="promo")
    )
    assert promo == sum(row.tag == "promo" for row in rows) > 0


def test_the_figures_are_a_snapshot_while_others_write(database: Database) -> None:
    """A writer inserts ten rows per transaction; every read sees whole
    transactions only, and the last one the recount of everything."""
    setup = database.connect()
    table = ledger(setup)
    rows = random_rows(400, seed=11)
    stop = threading.Event()

    def write() -> None:
        writer = database.connect()
        try:
            for start in range(0, len(rows), 10):
                insert(writer, table, rows[start : start + 10])
        finally:
            writer.close()
            stop.set()

    since, until = DAY0, DAY0 + timedelta(days=3)
    thread = threading.Thread(target=write)
    thread.start()
    seen = []
    reader = database.connect()
    try:
        while not stop.is_set():
            buckets = table.stats(reader, since=since, until=until)
            seen.append(sum(b.messages for b in buckets))
        thread.join()
        assert all(total % 10 == 0 for total in seen)
        assert seen == sorted(seen)
        final = table.stats(reader, since=since, until=until)
        assert figures(final) == recount(rows, since, until, timedelta(hours=1))
    finally:
        reader.close()
        setup.close()


def test_a_connection_of_another_kind_is_refused() -> None:
    with pytest.raises(TypeError, match="sqlite3"):
        StatusTable().stats(object(), since=DAY0, until=DAY0)


def test_postgresql_classes_to_the_microsecond(postgresql_database: Database) -> None:
    connection = postgresql_database.connect()
    try:
        table = ledger(connection)
        edge = DAY0 + timedelta(hours=1)
        micro = timedelta(microseconds=1)
        rows = [
            Row(1, edge - micro, Status.READ, edge - micro + timedelta(seconds=10)),
            Row(2, edge, Status.READ, edge + timedelta(seconds=10) - micro),
            Row(3, edge + micro, Status.EXPIRED, edge + timedelta(hours=24, seconds=1)),
            Row(4, edge, Status.EXPIRED, edge + timedelta(hours=24) - micro),
        ]
        insert(connection, table, rows)
        buckets = table.stats(connection, since=DAY0, until=edge)
        assert figures(buckets) == recount(rows, DAY0, edge, timedelta(hours=1))
        assert [b.messages for b in buckets] == [1, 3]
        assert dict(buckets[0].to_final)["30s"] == 1
        assert {k: n for k, n in buckets[1].to_final.items() if n} == {
            "10s": 1,
            "24h": 1,
            "more": 1,
        }
    finally:
        connection.close()


def test_first_seen_is_the_registration_else_the_first_status(
    connection: Any,
) -> None:
    table = ledger(connection)
    now = datetime.now(UTC)
    sent = now - timedelta(hours=5)
    table.register(connection, [Sent(1, sent_at=sent, tag="a"), Sent(3, tag="a")])
    table.save(
        connection,
        [
            StatusReport(1, time=None, state=Status.READ),
            StatusReport(2, time=None, state=Status.DELIVER),
        ],
    )
    buckets = table.stats(connection, since=now - timedelta(hours=6))
    seen = {b.start: b for b in buckets if b.messages}
    assert len(seen) <= 2  # 1 five hours ago; 2 and 3 now (or just before)
    first = seen[sent.replace(minute=0, second=0, microsecond=0)]
    assert first.messages == 1
    assert first.states[Status.READ] == 1
    # First final is when the read status arrived: about five hours after.
    assert first.to_final["6h"] == 1
    assert sum(b.states[Status.SEND] for b in buckets) == 1  # 3: registered only
    assert sum(b.states[Status.DELIVER] for b in buckets) == 1
    tagged = table.stats(connection, since=now - timedelta(hours=6), tag="a")
    assert sum(b.messages for b in tagged) == 2


def test_until_before_the_slice_of_since_gives_no_slices(connection: Any) -> None:
    table = ledger(connection)
    assert table.stats(connection, since=DAY0, until=DAY0 - timedelta(minutes=1)) == []
