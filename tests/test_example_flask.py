"""The Flask example app (examples/flask_app), driven by Flask's test client."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytest.importorskip("flask")

import smsstatus
from smsstatus import Status, StatusReport

sys.path.insert(0, str(Path(__file__).parents[1] / "examples" / "flask_app"))
import flask_statuses

EXAMPLES = Path(__file__).parents[1] / "examples"
TOKEN = "s3cret-token"
MSK = timezone(timedelta(hours=3))
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    b'<response><state id_sms="1" time="">&b;</state></response>'
)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "statuses.sqlite3"


@pytest.fixture
def client(database: Path) -> Iterator[object]:
    app = flask_statuses.create_app(
        {
            "SMSSTATUS_TOKEN": TOKEN,
            "SMSSTATUS_DATABASE": str(database),
            "SMSSTATUS_TIMEZONE": "Europe/Moscow",
        }
    )
    with app.test_client() as client:
        yield client


def rows(database: Path) -> dict[int, tuple[object, ...]]:
    with closing(sqlite3.connect(database)) as db:
        found = db.execute("SELECT id_sms, time, state, sms, viber FROM delivery")
        return {row[0]: row[1:] for row in found}


def report(id_sms: int, state: Status, minute: int = 0) -> StatusReport:
    return StatusReport(id_sms, time=datetime(2026, 11, 26, 9, minute), state=state)


def post(client, body: bytes, token: str = TOKEN):  # type: ignore[no-untyped-def]
    return client.post(f"/statuses/{token}", data=body)


def test_stores_the_example_payload_and_acknowledges_it(client, database) -> None:
    response = post(client, (EXAMPLES / "statuses.xml").read_bytes())
    assert response.status_code == 200
    assert response.content_type == "text/xml; charset=utf-8"
    acked = smsstatus.decode_ack(response.data, "xml")
    stored = rows(database)
    # The example holds eleven good items and one bad one, which is not acknowledged.
    assert len(acked) == 11
    assert sorted(acked) == sorted(stored)
    assert 5100242 not in stored
    assert stored[5100236] == (
        "2026-11-26 09:16:00+03:00",
        "deliver",
        "deliver",
        "expired",
    )
    assert stored[5100233] == (None, "send", "send", None)


def test_answers_json_with_json(client, database) -> None:
    body = smsstatus.encode_json([report(7, Status.DELIVER)])
    response = post(client, body)
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert smsstatus.decode_ack(response.data, "json") == (7,)
    assert rows(database) == {7: ("2026-11-26 09:00:00+03:00", "deliver", None, None)}


def test_keeps_only_the_superseding_report_within_one_batch(client, database) -> None:
    batch = [
        report(1, Status.DELIVER, 5),
        report(1, Status.SEND),
        report(1, Status.READ, 9),
        report(1, Status.DELIVER, 5),
        report(2, Status.SEND),
        report(2, Status.SEND),
    ]
    response = post(client, smsstatus.encode_xml(batch))
    assert smsstatus.decode_ack(response.data, "xml") == (1, 2)
    assert rows(database) == {
        1: ("2026-11-26 09:09:00+03:00", "read", None, None),
        2: ("2026-11-26 09:00:00+03:00", "send", None, None),
    }


def test_never_overwrites_a_final_state(client, database) -> None:
    post(client, smsstatus.encode_xml([report(1, Status.NOT_DELIVER, 3)]))
    late = [report(1, Status.DELIVER, 1), report(1, Status.EXPIRED, 8)]
    response = post(client, smsstatus.encode_xml(late))
    # Late reports are acknowledged (the gateway must stop sending them) but dropped.
    assert smsstatus.decode_ack(response.data, "xml") == (1,)
    assert rows(database) == {
        1: ("2026-11-26 09:03:00+03:00", "not_deliver", None, None)
    }


def test_refuses_hostile_xml_and_writes_nothing(client, database) -> None:
    response = post(client, BOMB)
    assert response.status_code == 400
    assert smsstatus.decode_ack(response.data, "xml") == ()
    assert rows(database) == {}


@pytest.mark.parametrize("token", ["wrong", TOKEN + "x", TOKEN[:-1], "\u00e9t\u00e9"])
def test_a_wrong_token_is_not_found_and_writes_nothing(client, database, token) -> None:
    response = post(client, smsstatus.encode_xml([report(1, Status.SEND)]), token)
    assert response.status_code == 404
    assert rows(database) == {}


def test_a_failing_store_leaves_the_id_unacknowledged(
    client, database, monkeypatch
) -> None:
    def record(db: sqlite3.Connection, report: StatusReport) -> None:
        if report.id_sms == 2:
            raise sqlite3.OperationalError("database is locked")
        real_record(db, report)

    real_record = flask_statuses.record
    monkeypatch.setattr(flask_statuses, "record", record)
    batch = [report(1, Status.DELIVER), report(2, Status.DELIVER)]
    response = post(client, smsstatus.encode_xml(batch))
    assert smsstatus.decode_ack(response.data, "xml") == (1,)
    assert set(rows(database)) == {1}


def test_refuses_a_body_over_the_limit_before_reading_it(client, database) -> None:
    response = post(client, b" " * (smsstatus.Limits().max_bytes + 1))
    assert response.status_code == 413
    assert rows(database) == {}


def test_needs_a_token() -> None:
    with pytest.raises(RuntimeError, match="SMSSTATUS_TOKEN"):
        flask_statuses.create_app({"SMSSTATUS_TOKEN": ""})
