"""The FastAPI example app (examples/fastapi_app), driven by Starlette's TestClient."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")  # Starlette's TestClient is built on it

from starlette.testclient import TestClient

import smsstatus
from smsstatus import Status, StatusReport

sys.path.insert(0, str(Path(__file__).parents[1] / "examples" / "fastapi_app"))
import fastapi_statuses

EXAMPLES = Path(__file__).parents[1] / "examples"
TOKEN = "s3cret-token"
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    b'<response><state id_sms="1" time="">&b;</state></response>'
)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "statuses.sqlite3"


@pytest.fixture
def client(database: Path) -> Iterator[TestClient]:
    app = fastapi_statuses.create_app(
        token=TOKEN, database=str(database), timezone="Europe/Moscow"
    )
    with TestClient(app) as client:
        yield client


def rows(database: Path) -> dict[int, tuple[object, ...]]:
    with closing(sqlite3.connect(database)) as db:
        found = db.execute("SELECT id_sms, time, state, sms, viber FROM delivery")
        return {row[0]: row[1:] for row in found}


def report(id_sms: int, state: Status, minute: int = 0) -> StatusReport:
    return StatusReport(id_sms, time=datetime(2026, 11, 26, 9, minute), state=state)


def post(client: TestClient, body: bytes, token: str = TOKEN):  # type: ignore[no-untyped-def]
    return client.post(f"/statuses/{token}", content=body)


def test_stores_the_example_payload_and_acknowledges_it(client, database) -> None:
    response = post(client, (EXAMPLES / "statuses.json").read_bytes())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    acked = smsstatus.decode_ack(response.content, "json")
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
    assert stored[5100239] == (None, "send", None, None)


def test_answers_xml_with_xml(client, database) -> None:
    response = post(client, smsstatus.encode_xml([report(7, Status.DELIVER)]))
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert smsstatus.decode_ack(response.content, "xml") == (7,)
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
    assert smsstatus.decode_ack(response.content, "xml") == (1, 2)
    assert rows(database) == {
        1: ("2026-11-26 09:09:00+03:00", "read", None, None),
        2: ("2026-11-26 09:00:00+03:00", "send", None, None),
    }


def test_never_overwrites_a_final_state(client, database) -> None:
    post(client, smsstatus.encode_xml([report(1, Status.READ, 3)]))
    late = [report(1, Status.DELIVER, 1), report(1, Status.NOT_DELIVER, 8)]
    response = post(client, smsstatus.encode_xml(late))
    assert smsstatus.decode_ack(response.content, "xml") == (1,)
    assert rows(database) == {1: ("2026-11-26 09:03:00+03:00", "read", None, None)}


def test_refuses_hostile_xml_and_writes_nothing(client, database) -> None:
    response = post(client, BOMB)
    assert response.status_code == 400
    assert rows(database) == {}


@pytest.mark.parametrize("token", ["wrong", TOKEN + "x", TOKEN[:-1], "\u00e9t\u00e9"])
def test_a_wrong_token_is_not_found_and_writes_nothing(client, database, token) -> None:
    response = post(client, smsstatus.encode_xml([report(1, Status.SEND)]), token)
    assert response.status_code == 404
    assert rows(database) == {}


def test_a_failing_store_leaves_the_id_unacknowledged(
    client, database, monkeypatch
) -> None:
    def record(engine: object, report: StatusReport) -> None:
        if report.id_sms == 2:
            raise sqlite3.OperationalError("database is locked")
        real_record(engine, report)

    real_record = fastapi_statuses.record
    monkeypatch.setattr(fastapi_statuses, "record", record)
    batch = [report(1, Status.DELIVER), report(2, Status.DELIVER)]
    response = post(client, smsstatus.encode_xml(batch))
    assert smsstatus.decode_ack(response.content, "xml") == (1,)
    assert set(rows(database)) == {1}


def test_needs_a_token(monkeypatch) -> None:
    monkeypatch.delenv("SMSSTATUS_TOKEN", raising=False)
    with pytest.raises(RuntimeError, match="SMSSTATUS_TOKEN"):
        fastapi_statuses.create_app()
