"""End to end over real HTTP: the gateway simulator against the Flask example app.

The app runs in a real WSGI server (werkzeug's) on 127.0.0.1 in a thread, and
`Gateway.deliver_http` posts each message's whole history of statuses, shuffled and
partly duplicated, while the app's store fails now and then: before writing (nothing
stored) and after writing (stored, but not acknowledged, so it comes again).
"""

from __future__ import annotations

import http.client
import random
import sqlite3
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("flask")

from werkzeug.serving import make_server

import smsstatus
from smsstatus import Status, StatusReport
from smsstatus.sql import StatusTable, connect_sqlite
from smsstatus.testing import Gateway

sys.path.insert(0, str(Path(__file__).parents[1] / "examples" / "flask_app"))
import flask_statuses

TOKEN = "end-to-end-token-0123456789abcdefgh"
GATEWAY_TZ = "Europe/Moscow"
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    b'<response><state id_sms="1" time="">&b;</state></response>'
)

# The ways a message's status moves, each step further along than the one before.
PATHS = (
    (Status.SEND,),
    (Status.SEND, Status.DELIVER),
    (Status.SEND, Status.DELIVER, Status.READ),
    (Status.SEND, Status.PARTLY_DELIVER),
    (Status.SEND, Status.PARTLY_DELIVER, Status.DELIVER),
    (Status.SEND, Status.NOT_DELIVER),
    (Status.SEND, Status.EXPIRED),
    (Status.DELIVER, Status.READ),
)


def histories(count: int, seed: int) -> dict[int, list[StatusReport]]:
    """Every status each of `count` messages went through, oldest first."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 26, 9, 0, 0)
    found = {}
    for n in range(count):
        id_sms = 7_000_000 + n
        steps = rng.choice(PATHS)
        found[id_sms] = [
            StatusReport(
                id_sms,
                time=None if state is Status.SEND else start + timedelta(minutes=k),
                state=state,
            )
            for k, state in enumerate(steps)
        ]
    return found


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "statuses.sqlite3"


@pytest.fixture
def server(database: Path) -> Iterator[str]:
    """The Flask example served over HTTP; yields its base URL."""
    app = flask_statuses.create_app(
        {
            "SMSSTATUS_TOKEN": TOKEN,
            "SMSSTATUS_DATABASE": str(database),
            "SMSSTATUS_TIMEZONE": GATEWAY_TZ,
        }
    )
    httpd = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/statuses/"
    finally:
        httpd.shutdown()
        thread.join()
        httpd.server_close()


@pytest.fixture
def flaky_store(monkeypatch: pytest.MonkeyPatch) -> Counter[StatusReport]:
    """Make the app's store fail now and then, for a whole document as a database
    does; count the calls per report."""
    calls: Counter[StatusReport] = Counter()
    real_receive = StatusTable.receive

    def receive(
        table: StatusTable, connection: Any, body: Any, **options: Any
    ) -> smsstatus.Ack:
        reports = list(smsstatus.decode(body).reports)
        calls.update(reports)
        if any(r.id_sms % 7 == 0 and calls[r] <= 2 for r in reports):
            raise sqlite3.OperationalError("database is locked")
        if any(r.id_sms % 3 == 0 and calls[r] == 1 for r in reports):
            raise sqlite3.OperationalError("disk I/O error")
        ack = real_receive(table, connection, body, **options)
        if any(r.id_sms % 5 == 0 and calls[r] == 1 for r in reports):
            raise ConnectionError("stored, but the answer never left")
        return ack

    monkeypatch.setattr(StatusTable, "receive", receive)
    return calls


def stored(database: Path) -> dict[int, tuple[object, ...]]:
    with closing(connect_sqlite(database)) as db:
        found = StatusTable().load(db, range(7_000_000, 7_001_000))
    return {i: as_stored(report) for i, report in found.items()}


def as_stored(report: StatusReport) -> tuple[object, ...]:
    time = report.time and report.time.replace(tzinfo=ZoneInfo(GATEWAY_TZ))
    return (time, report.state)


@pytest.mark.parametrize("format", ["xml", "json"])
def test_every_status_arrives_once_in_spite_of_disorder_and_failures(
    server, database, flaky_store, format
) -> None:
    messages = histories(150, seed=4)
    reports = [report for history in messages.values() for report in history]
    gateway = Gateway(format, batch_size=40, shuffle=True, duplicate=0.3, seed=11)

    delivery = gateway.deliver_http(server + TOKEN, reports)

    assert delivery.acknowledged == set(messages)
    assert not delivery.lost
    # The failures were real: some statuses needed a third attempt.
    assert max(attempt.number for attempt in delivery.attempts) >= 3
    assert any(count > 1 for count in flaky_store.values())
    # Exactly the report that supersedes all the others, per message.
    assert stored(database) == {
        id_sms: as_stored(history[-1]) for id_sms, history in messages.items()
    }

    # The gateway re-sends old and contradicting statuses: all are acknowledged, and
    # none replaces what is stored, final states included.
    late = [
        StatusReport(id_sms, time=datetime(2026, 11, 27), state=state)
        for id_sms, history in messages.items()
        if history[-1].is_final
        for state in (Status.DELIVER, Status.EXPIRED, Status.READ)
    ] + [history[0] for history in messages.values()]
    before = stored(database)
    again = gateway.deliver_http(server + TOKEN, late)
    assert again.acknowledged == {report.id_sms for report in late}
    assert stored(database) == before


def test_hostile_xml_gets_400_and_writes_nothing(server, database) -> None:
    request = urllib.request.Request(server + TOKEN, data=BOMB, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    refused.value.close()
    assert refused.value.code == 400
    assert stored(database) == {}


@pytest.mark.parametrize("token", ["wrong", TOKEN[:-1], TOKEN + "-"])
def test_a_wrong_token_gets_404_and_every_status_is_lost(
    server, database, token
) -> None:
    reports = [r for history in histories(5, seed=1).values() for r in history]
    delivery = Gateway(attempts=2).deliver_http(server + token, reports)
    assert delivery.lost == {report.id_sms for report in reports}
    assert {attempt.status for attempt in delivery.attempts} == {404}
    assert stored(database) == {}


def test_a_chunked_request_is_read_whole(server, database) -> None:
    # No Content-Length: the server de-chunks, the blueprint reads to the end.
    reports = [r for history in histories(20, seed=2).values() for r in history]
    body = smsstatus.encode_xml(reports)
    url = urllib.parse.urlsplit(server + TOKEN)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    with closing(connection):
        pieces = (body[i : i + 500] for i in range(0, len(body), 500))
        connection.request("POST", url.path, body=pieces, encode_chunked=True)
        answer = connection.getresponse()
        acked = smsstatus.decode_ack(answer.read(), "xml")
    assert answer.status == 200
    assert set(acked) == {r.id_sms for r in reports}
    assert len(stored(database)) == 20
