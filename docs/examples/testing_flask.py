"""Prove that a Flask endpoint takes the gateway's statuses:
``pytest testing_flask.py``.

The app is defined here to keep the example whole; in your project, import it.
"""

from __future__ import annotations

import flask
import pytest
from hypothesis import given
from hypothesis import strategies as st

import smsstatus
from smsstatus.strategies import hostile_payloads, status_reports
from smsstatus.testing import Gateway, sample_reports

# --- the application under test ---------------------------------------------------


class Store:
    """Keeps the latest status of each message (a database in a real app)."""

    def __init__(self) -> None:
        self.latest: dict[int, smsstatus.StatusReport] = {}

    def record(self, report: smsstatus.StatusReport) -> None:
        if report.supersedes(self.latest.get(report.id_sms)):
            self.latest[report.id_sms] = report


app = flask.Flask(__name__)
store = Store()


@app.post("/sms/statuses")
def statuses() -> flask.Response:
    ack = smsstatus.receive(flask.request.get_data(), store.record)
    return flask.Response(ack.body, status=ack.status, content_type=ack.content_type)


# --- the tests --------------------------------------------------------------------


def test_every_status_is_acknowledged() -> None:
    reports = sample_reports(250, seed=1)
    gateway = Gateway("xml", shuffle=True, duplicate=0.1, seed=1)
    delivery = gateway.deliver_wsgi(app, reports, path="/sms/statuses")
    assert not delivery.lost
    assert delivery.acknowledged == {report.id_sms for report in reports}


def test_a_failed_store_is_retried_not_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    failures = iter([True, True])  # the first two reports fail, then all is well
    record = store.record

    def flaky_record(report: smsstatus.StatusReport) -> None:
        if next(failures, False):
            raise ConnectionError("database is restarting")
        record(report)

    monkeypatch.setattr(store, "record", flaky_record)
    reports = sample_reports(3, seed=2)
    delivery = Gateway("json").deliver_wsgi(app, reports, path="/sms/statuses")
    assert not delivery.lost
    # All three went once; the two that failed went again, and were taken.
    assert [len(attempt.sent) for attempt in delivery.attempts] == [3, 2]


@given(st.lists(status_reports(), max_size=30), st.integers())
def test_disorder_and_duplicates_keep_the_latest_status(
    reports: list[smsstatus.StatusReport], seed: int
) -> None:
    store.latest.clear()
    gateway = Gateway("json", shuffle=True, duplicate=0.3, seed=seed)
    delivery = gateway.deliver_wsgi(app, reports, path="/sms/statuses")
    assert not delivery.lost
    for report in reports:
        assert not report.supersedes(store.latest[report.id_sms])


@given(hostile_payloads())
def test_hostile_bodies_are_refused_or_isolated(payload: bytes) -> None:
    response = app.test_client().post("/sms/statuses", data=payload)
    assert response.status_code in (200, 400)
