"""The ledger under concurrent writers: messages' histories, shuffled, duplicated and
replayed through `StatusTable.receive` by several processes at once, on SQLite and on
a real PostgreSQL server; and `create` run by several processes on a 0.2 table.

Whatever the interleaving: the history holds exactly the distinct reports, each
latest row is the message's latest report, every id acknowledged is stored (as a
status or as a rejected item), and nothing else is.
"""

from __future__ import annotations

import itertools
import multiprocessing
import random
from collections.abc import Iterator
from typing import Any

import pytest
from _postgres import Database
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsstatus import Format, StatusReport
from smsstatus.sql import StatusTable
from smsstatus.testing import sample_histories
from smsstatus.testing._simulator import encode_document

PROCESSES = 3
# Bad items carry ids no history uses (sample ids stay below 10**7).
BAD = '<state id_sms="{}" time="2026-02-30 10:00:00">deliver</state>'
BAD_JSON = '{{"id_sms": "{}", "time": "2026-02-30 10:00:00", "state": "deliver"}}'
BAD_IDS = range(10**8, 10**8 + 4)


def deliver(
    database: Database, name: str, bodies: list[bytes]
) -> list[tuple[int, ...]]:
    """One process's work: post every body through `receive`; the ids each Ack
    acknowledged."""
    table = StatusTable(name)
    connection = database.connect()
    try:
        return [table.receive(connection, body).ids for body in bodies]
    finally:
        connection.close()


def create(database: Database) -> None:
    connection = database.connect()
    try:
        StatusTable().create(connection)
    finally:
        connection.close()


@pytest.fixture(scope="module")
def pool() -> Iterator[Any]:
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as running:
        yield running


_tables = itertools.count()


def documents(
    pieces: list[StatusReport | str], format: Format, rng: random.Random
) -> list[bytes]:
    """`pieces` shuffled, a third of them twice, cut into documents of random
    sizes."""
    sent = pieces + [piece for piece in pieces if rng.random() < 0.3]
    rng.shuffle(sent)
    bodies, start = [], 0
    while start < len(sent):
        size = rng.randint(1, 25)
        bodies.append(encode_document(format, sent[start : start + size]))
        start += size
    return bodies


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    count=st.integers(1, 40),
    seed=st.integers(0, 2**32),
    bad=st.integers(0, len(BAD_IDS)),
    format=st.sampled_from(Format),
    rng=st.randoms(use_true_random=False),
)
def test_replayed_histories_leave_exactly_the_distinct_reports(
    database: Database,
    pool: Any,
    count: int,
    seed: int,
    bad: int,
    format: Format,
    rng: random.Random,
) -> None:
    histories = sample_histories(count, seed=seed)
    template = BAD if format is Format.XML else BAD_JSON
    bad_ids = set(BAD_IDS[:bad])
    pieces = [*histories.reports, *(template.format(i) for i in sorted(bad_ids))]
    name = f"ledger_{next(_tables)}"
    connection = database.connect()
    table = StatusTable(name)
    try:
        table.create(connection)
        work = [
            (database, name, documents(pieces, format, rng)) for _ in range(PROCESSES)
        ]
        # Bounded: a worker that dies would leave starmap waiting.
        results = pool.starmap_async(deliver, work, chunksize=1).get(timeout=120)
        acknowledged = {i for acks in results for ids in acks for i in ids}
        assert acknowledged == histories.latest.keys() | bad_ids
        assert table.load(connection, histories.latest) == histories.latest
        (stored,) = connection.execute(f"SELECT count(*) FROM {name}").fetchone()
        connection.commit()
        assert stored == len(histories.latest)  # nothing else
        for id_sms in histories.latest:
            events = [event.report for event in table.history(connection, id_sms)]
            distinct = {r for r in histories.reports if r.id_sms == id_sms}
            assert len(events) == len(distinct)
            assert set(events) == distinct
        rejected = table.rejected(connection, limit=100)
        assert sorted(item.id_sms for item in rejected) == sorted(bad_ids)
        posted = sum(len(bodies) for _, _, bodies in work)
        assert len(table.webhooks(connection, limit=10_000)) == posted
    finally:
        connection.close()


def test_create_from_several_processes_upgrades_a_02_table_once(
    database: Database, pool: Any
) -> None:
    connection = database.connect()
    try:
        ts = "datetime" if database.kind == "sqlite" else "timestamp with time zone"
        connection.execute(
            "CREATE TABLE smsstatus_delivery (id_sms bigint NOT NULL PRIMARY KEY,"
            f" time {ts} NULL, time_offset integer NULL, state varchar(14) NOT NULL,"
            " sms varchar(14) NULL, viber varchar(14) NULL,"
            f" changed_at {ts} NOT NULL)"
        )
        connection.execute(
            "INSERT INTO smsstatus_delivery (id_sms, state, changed_at)"
            " VALUES (1, 'read', '2026-11-20 08:00:00')"
        )
        connection.commit()
        pool.starmap_async(create, [(database,)] * PROCESSES).get(timeout=120)
        table = StatusTable()
        (row,) = connection.execute(
            "SELECT state, seen_at IS NOT NULL, final_at IS NOT NULL"
            " FROM smsstatus_delivery"
        ).fetchall()
        connection.commit()
        assert tuple(row) == ("read", True, True)
        assert table.receive(
            connection, encode_document(Format.XML, [BAD.format(1)])
        ).ids == (1,)
        assert len(table.rejected(connection)) == 1
    finally:
        connection.close()
