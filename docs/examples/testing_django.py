"""Prove that a Django endpoint takes the gateway's statuses:
``pytest testing_django.py``.

Settings, view and URLs are in this file to keep the example whole; in your project
they are your own (with pytest-django, ``"testserver"`` is allowed for you).
"""

from __future__ import annotations

import django
from django.conf import settings

settings.configure(
    ALLOWED_HOSTS=["testserver"],
    ROOT_URLCONF=__name__,
    SECRET_KEY="only-for-this-example",
    MIDDLEWARE=[
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
    ],
)
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django.views.decorators.http import require_POST  # noqa: E402
from hypothesis import given  # noqa: E402

import smsstatus  # noqa: E402
from smsstatus.strategies import hostile_payloads, xml_payloads  # noqa: E402
from smsstatus.testing import Gateway, sample_payload, sample_reports  # noqa: E402

# --- the application under test ---------------------------------------------------

stored: dict[int, smsstatus.StatusReport] = {}
kept_errors: list[smsstatus.ReportError] = []


def record(report: smsstatus.StatusReport) -> None:
    if report.supersedes(stored.get(report.id_sms)):
        stored[report.id_sms] = report


def keep(error: smsstatus.ReportError) -> bool:
    kept_errors.append(error)  # stored for a human to look at: acknowledge it
    return True


@csrf_exempt  # the gateway has no CSRF token
@require_POST
def statuses(request: HttpRequest) -> HttpResponse:
    ack = smsstatus.receive(request.body, record, on_error=keep)
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)


urlpatterns = [path("sms/statuses", statuses)]
application = get_wsgi_application()

# --- the tests --------------------------------------------------------------------


def test_every_status_is_acknowledged() -> None:
    reports = sample_reports(250, seed=1)
    gateway = Gateway("xml", batch_size=100, shuffle=True, duplicate=0.1, seed=1)
    delivery = gateway.deliver_wsgi(application, reports, path="/sms/statuses")
    assert not delivery.lost
    assert stored.keys() >= delivery.acknowledged


def test_bad_items_are_kept_and_acknowledged() -> None:
    payload = sample_payload(20, "json", seed=3, bad=2)  # as the gateway sends it
    delivery = Gateway("json").deliver_wsgi(application, payload, path="/sms/statuses")
    assert not delivery.lost
    assert len(kept_errors) == 2


@given(xml_payloads())
def test_any_valid_document_is_answered_with_200(payload: bytes) -> None:
    response = Client().post("/sms/statuses", payload, content_type="text/xml")
    assert response.status_code == 200


@given(hostile_payloads())
def test_hostile_bodies_are_refused_or_isolated(payload: bytes) -> None:
    response = Client().post("/sms/statuses", payload, content_type="text/xml")
    assert response.status_code in (200, 400)
