"""smsstatus.pull.recover, and the point of it all: no status lost end to end.

The end-to-end test runs a real receiver (a WSGI app with `receive_batch` and
`StatusTable`, served on 127.0.0.1) and a `FakeGateway`; the receiver is down for every
push attempt of some statuses, which the gateway then reports lost, and recovery
pulls them so that the table ends exactly as the gateway's own records.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import attrs
import pytest

from smsstatus import Status, StatusReport, encode_xml, receive_batch
from smsstatus.pull import Credentials, GatewayUnavailable, recover
from smsstatus.sql import StatusTable
from smsstatus.testing import FakeGateway, sample_reports

REPORTS = sample_reports(250, seed=8)
IDS = [report.id_sms for report in REPORTS]


@pytest.fixture
def gateway() -> Any:
    with FakeGateway() as running:
        running.add(*REPORTS)
        yield running


class Store:
    """A store as `receive_batch` takes it, keeping what it was given."""

    def __init__(self, take: Any = None) -> None:
        self.calls: list[tuple[StatusReport, ...]] = []
        self.take = take

    def __call__(self, reports: tuple[StatusReport, ...]) -> Any:
        self.calls.append(reports)
        return self.take(reports) if self.take else None


def test_recover_hands_each_answer_to_the_store(gateway: FakeGateway) -> None:
    store = Store()
    asked = [*IDS, 777]  # 777: a message the gateway does not know
    recovery = recover(
        asked, gateway.credentials, store, base_url=gateway.url, chunk_size=100
    )
    assert [len(call) for call in store.calls] == [100, 100, 50]
    assert sum(store.calls, ()) == tuple(REPORTS)
    assert recovery.asked == tuple(asked)
    assert recovery.taken == frozenset(IDS)
    assert recovery.unanswered == {777}
    assert recovery.answer.batch.reports == tuple(REPORTS)
    assert [p.ids for p in gateway.pulled] == [
        tuple(asked[:100]),
        tuple(asked[100:200]),
        tuple(asked[200:]),
    ]


def test_the_store_gets_one_report_per_id_as_receive_batch_gives(
    gateway: FakeGateway,
) -> None:
    first, later = REPORTS[0], attrs.evolve(REPORTS[0], state=Status.SEND)
    gateway.misbehave("answer", body=encode_xml([later, first, later, REPORTS[1]]))
    store = Store()
    recover(IDS[:2], gateway.credentials, store, base_url=gateway.url)
    assert store.calls == [(first, REPORTS[1])]


def test_only_what_the_store_took_is_taken(gateway: FakeGateway, caplog: Any) -> None:
    store = Store(lambda reports: [reports[0].id_sms, 123456789])
    recovery = recover(IDS[:3], gateway.credentials, store, base_url=gateway.url)
    assert recovery.taken == {IDS[0]}
    failing = Store(lambda reports: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="smsstatus"):
        recovery = recover(IDS[:3], gateway.credentials, failing, base_url=gateway.url)
    assert recovery.taken == frozenset()
    assert "store failed" in caplog.text
    assert recovery.answer.batch.reports == tuple(REPORTS[:3])


def test_nothing_to_store_calls_no_store(gateway: FakeGateway) -> None:
    store = Store()
    recovery = recover([1, 2], gateway.credentials, store, base_url=gateway.url)
    assert store.calls == []
    assert recovery.taken == frozenset()
    assert recovery.unanswered == {1, 2}


def test_a_failure_half_way_keeps_what_was_stored(gateway: FakeGateway) -> None:
    # Storing the first chunk breaks the gateway for the second.
    store = Store(lambda reports: gateway.misbehave("5xx"))
    with pytest.raises(GatewayUnavailable):
        recover(IDS[:4], gateway.credentials, store, base_url=gateway.url, chunk_size=2)
    assert store.calls == [tuple(REPORTS[:2])]


def test_recover_refuses_what_cannot_work(gateway: FakeGateway) -> None:
    async def store(reports: tuple[StatusReport, ...]) -> None:
        pass

    with pytest.raises(TypeError, match="synchronously"):
        recover(IDS[:1], gateway.credentials, store, base_url=gateway.url)
    with pytest.raises(ValueError, match="chunk_size"):
        recover(IDS[:1], gateway.credentials, Store(), chunk_size=0)
    with pytest.raises(ValueError, match="no id_sms"):
        recover([], gateway.credentials, Store())
    assert gateway.pulled == ()


# --- end to end ------------------------------------------------------------------


def receiver(database: Any, table: StatusTable) -> Any:
    """The user's endpoint: `receive_batch` into `table`; `app.down` makes it answer
    503 to everything, as a receiver does while it is being deployed."""

    def app(environ: Any, start_response: Any) -> list[bytes]:
        if app.down:  # type: ignore[attr-defined]
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"down for maintenance"]
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        connection = database.connect()
        try:
            ack = receive_batch(body, lambda reports: table.save(connection, reports))
        finally:
            connection.close()
        start_response(f"{ack.status} OK", [("Content-Type", ack.content_type)])
        return [ack.body]

    app.down = False  # type: ignore[attr-defined]
    return app


@pytest.mark.parametrize("account", ["xml", "json"])
def test_statuses_lost_by_the_push_are_recovered(
    account: str, database: Any, serve: Any
) -> None:
    table = StatusTable()
    connection = database.connect()
    table.create(connection)
    app = receiver(database, table)
    url = serve(app)
    credentials = Credentials(token="a-token-for-the-test")
    finals = sample_reports(200, seed=21)
    ids = [report.id_sms for report in finals]
    with FakeGateway(account, credentials=credentials) as gateway:
        # Every message is sent, and its first status arrives (for a message that
        # is still at "send", that is its final look already).
        gateway.add(
            *(
                r
                if r.state is Status.SEND
                else StatusReport(r.id_sms, None, Status.SEND)
                for r in finals
            )
        )
        assert gateway.push(url).lost == frozenset()
        # Half the final statuses arrive; the receiver is down for the other half,
        # for all five attempts of each.
        gateway.add(*finals[:100])
        assert gateway.push(url).lost == frozenset()
        app.down = True
        gateway.add(*finals[100:])
        delivery = gateway.push(url)
        app.down = False
        assert delivery.lost == set(ids[100:]) == gateway.lost
        assert {a.number for a in delivery.attempts} == {1, 2, 3, 4, 5}
        stored = table.load(connection, ids)
        assert all(stored[i].state is Status.SEND for i in ids[100:])

        # Recovery: ask about every message not final and quiet for long enough
        # (here: any time at all), and store the answers the same way.
        pending = table.pending(connection, older_than=timedelta(0))
        assert set(ids[100:]) <= set(pending)
        recovery = recover(
            pending,
            credentials,
            lambda reports: table.save(connection, reports),
            base_url=gateway.url,
            format=account,
        )
        assert recovery.taken == set(pending)
        assert recovery.unanswered == frozenset()
        assert table.load(connection, ids) == gateway.latest()
        not_final = sorted(i for i, r in gateway.latest().items() if not r.is_final)
        assert sorted(table.pending(connection, older_than=timedelta(0))) == not_final
    connection.close()
