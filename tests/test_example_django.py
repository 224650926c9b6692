"""The Django example project (examples/django_app), driven by Django's test client.

Django is configured here with ``settings.configure()`` from the example's own settings
module (with a temporary database), not through ``DJANGO_SETTINGS_MODULE``, so nothing
leaks into the environment of other tests.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytest.importorskip("django")

import django
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import Client

import smsstatus
from smsstatus import Status, StatusReport

EXAMPLES = Path(__file__).parents[1] / "examples"
TOKEN = "s3cret-token"
MSK = timezone(timedelta(hours=3))
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    b'<response><state id_sms="1" time="">&b;</state></response>'
)


@pytest.fixture(scope="module")
def delivery_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[type]:
    sys.path.insert(0, str(EXAMPLES / "django_app"))
    example = importlib.import_module("statusproject.settings")
    values = {name: getattr(example, name) for name in dir(example) if name.isupper()}
    database = tmp_path_factory.mktemp("django") / "statuses.sqlite3"
    values["DATABASES"] = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}
    }
    values.update(
        ALLOWED_HOSTS=["testserver"],
        SMSSTATUS_TOKEN=TOKEN,
        SMSSTATUS_TIMEZONE="Europe/Moscow",
    )
    settings.configure(**values)
    django.setup()
    call_command("migrate", verbosity=0)
    from deliveries.models import Delivery

    yield Delivery
    connections.close_all()


@pytest.fixture
def client(delivery_model: type) -> Client:
    delivery_model.objects.all().delete()  # type: ignore[attr-defined]
    # enforce_csrf_checks: the gateway sends no CSRF token, so the view must be exempt.
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def stored(delivery_model: type):  # type: ignore[no-untyped-def]
    def stored() -> dict[int, StatusReport]:
        rows = delivery_model.objects.all()  # type: ignore[attr-defined]
        return {row.id_sms: row.report() for row in rows}

    return stored


def report(id_sms: int, state: Status, minute: int = 0) -> StatusReport:
    return StatusReport(id_sms, time=datetime(2026, 11, 26, 9, minute), state=state)


def in_moscow(reports: list[StatusReport]) -> dict[int, StatusReport]:
    """What the view stores: the gateway's wall clock read in its zone."""
    return {
        r.id_sms: StatusReport(
            r.id_sms,
            time=r.time and r.time.replace(tzinfo=MSK),
            state=r.state,
            sms=r.sms,
            viber=r.viber,
        )
        for r in reports
    }


def post(client: Client, body: bytes, token: str = TOKEN):  # type: ignore[no-untyped-def]
    return client.post(f"/statuses/{token}", body, content_type="text/xml")


def test_stores_the_example_payload_and_acknowledges_it(client, stored) -> None:
    body = (EXAMPLES / "statuses.xml").read_bytes()
    response = post(client, body)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    good = list(smsstatus.decode(body).reports)
    assert smsstatus.decode_ack(response.content, "xml") == tuple(
        r.id_sms for r in good
    )
    assert stored() == in_moscow(good)


def test_answers_json_with_json(client, stored) -> None:
    batch = [report(7, Status.DELIVER)]
    response = client.post(
        f"/statuses/{TOKEN}", smsstatus.encode_json(batch), "application/json"
    )
    assert response["Content-Type"] == "application/json"
    assert smsstatus.decode_ack(response.content, "json") == (7,)
    assert stored() == in_moscow(batch)


def test_keeps_only_the_superseding_report_within_one_batch(client, stored) -> None:
    final = report(1, Status.READ, 9)
    batch = [
        report(1, Status.DELIVER, 5),
        report(1, Status.SEND),
        final,
        report(1, Status.DELIVER, 5),
        report(2, Status.SEND),
        report(2, Status.SEND),
    ]
    response = post(client, smsstatus.encode_xml(batch))
    assert smsstatus.decode_ack(response.content, "xml") == (1, 2)
    assert stored() == in_moscow([final, report(2, Status.SEND)])


def test_never_overwrites_a_final_state(client, stored) -> None:
    final = report(1, Status.EXPIRED, 3)
    post(client, smsstatus.encode_xml([final]))
    late = [report(1, Status.PARTLY_DELIVER, 1), report(1, Status.READ, 8)]
    response = post(client, smsstatus.encode_xml(late))
    assert smsstatus.decode_ack(response.content, "xml") == (1,)
    assert stored() == in_moscow([final])


def test_refuses_hostile_xml_and_writes_nothing(client, stored) -> None:
    response = post(client, BOMB)
    assert response.status_code == 400
    assert stored() == {}


@pytest.mark.parametrize("token", ["wrong", TOKEN + "x", TOKEN[:-1], "\u00e9t\u00e9"])
def test_a_wrong_token_is_not_found_and_writes_nothing(client, stored, token) -> None:
    response = post(client, smsstatus.encode_xml([report(1, Status.SEND)]), token)
    assert response.status_code == 404
    assert stored() == {}


def test_only_post_is_allowed(client) -> None:
    assert client.get(f"/statuses/{TOKEN}").status_code == 405


def test_a_failing_store_leaves_the_id_unacknowledged(
    client, stored, delivery_model, monkeypatch
) -> None:
    manager = delivery_model.objects  # type: ignore[attr-defined]
    real_record = manager.record

    def record(report: StatusReport) -> None:
        if report.id_sms == 2:
            raise RuntimeError("database is locked")
        real_record(report)

    monkeypatch.setattr(manager, "record", record)
    batch = [report(1, Status.DELIVER), report(2, Status.DELIVER)]
    response = post(client, smsstatus.encode_xml(batch))
    assert smsstatus.decode_ack(response.content, "xml") == (1,)
    assert stored() == in_moscow(batch[:1])


def test_takes_a_body_over_djangos_default_upload_limit(client, stored) -> None:
    batch = [report(1, Status.SEND)]
    body = smsstatus.encode_xml(batch) + b" " * 3_000_000  # Django's default: 2.5 MB
    response = post(client, body)
    assert response.status_code == 200
    assert stored() == in_moscow(batch)
