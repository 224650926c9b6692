"""The reusable Django app (smsstatus.django), in this process with Django's test
client, on SQLite and on the session's real PostgreSQL server.

Django is configured once for the module with ``settings.configure()``: two
databases, ``default`` (a SQLite file) and ``postgresql`` (a database on the
session's server, when there is one), and each test routes every model to one of them
with a database router, so the very same view code runs on both backends.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import time
import types
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import _postgres
import attrs
import pytest
from _faults import Deliveries, back_within_two

pytest.importorskip("django")

import django
from django.conf import settings
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connections, transaction
from django.test import Client
from django.test.utils import (
    override_settings,
    setup_test_environment,
    teardown_test_environment,
)

import smsstatus
from smsstatus import Limits, Status, StatusReport
from smsstatus._observe import Document, add_sink, remove_sink
from smsstatus.sql import Sent, StatusTable
from smsstatus.testing import Gateway

TOKEN = "t" * 24 + "0123456789"
MOSCOW = ZoneInfo("Europe/Moscow")
URL = f"/sms/statuses/{TOKEN}"


def postgresql_settings(
    request: pytest.FixtureRequest, name: str
) -> dict[str, Any] | None:
    """A new database `name` on the session's PostgreSQL server, as Django settings;
    None when this machine has no server (the PostgreSQL tests then skip, saying
    so)."""
    try:
        conninfo = request.getfixturevalue("postgresql")
    except pytest.skip.Exception:
        return None
    import psycopg

    params = dict(part.split("=", 1) for part in conninfo.split())
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "HOST": params["host"],
        "PORT": params["port"],
        "USER": params["user"],
    }


@pytest.fixture(scope="module")
def aliases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[set[str]]:
    databases: dict[str, Any] = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": tmp_path_factory.mktemp("django") / "db.sqlite3",
        }
    }
    postgresql = postgresql_settings(request, "smsstatus_django")
    if postgresql is not None:
        databases["postgresql"] = postgresql
        # A server of its own, stopped and restarted by the fault test, with
        # persistent connections and Django's health checks.
        server = request.getfixturevalue("restartable_postgresql")
        params = dict(part.split("=", 1) for part in server.conninfo.split())
        databases["restartable"] = {
            **postgresql,
            "NAME": "postgres",
            "HOST": params["host"],
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {"connect_timeout": 2},
        }
    # 0.2 databases, migrated by the migration test only.
    legacy: dict[str, Any] = {
        "legacy": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": tmp_path_factory.mktemp("django") / "legacy.sqlite3",
        }
    }
    if postgresql is not None:
        legacy["legacy_postgresql"] = postgresql_settings(request, "smsstatus_legacy")
    databases.update(legacy)
    for values in databases.values():
        # Every request in a transaction: the view must opt out and still work.
        values["ATOMIC_REQUESTS"] = True
    settings.configure(
        DEBUG=False,
        SECRET_KEY="only-for-the-tests",
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "smsstatus.django",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        ROOT_URLCONF="test_django_urls",
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        DATABASES=databases,
        USE_TZ=True,
        TIME_ZONE="UTC",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        SMSSTATUS_TOKEN=TOKEN,
        SMSSTATUS_TIMEZONE="Europe/Moscow",
    )
    django.setup()
    setup_test_environment()  # the test client records the templates' contexts
    import sys

    from django.contrib import admin
    from django.urls import include, path

    sys.modules["test_django_urls"] = types.SimpleNamespace(  # type: ignore[assignment]
        urlpatterns=[
            path("admin/", admin.site.urls),
            path("sms/", include("smsstatus.django.urls")),
        ]
    )
    for alias in databases:
        if alias not in legacy:
            call_command("migrate", database=alias, verbosity=0)
    yield set(databases)
    connections.close_all()
    teardown_test_environment()
    del sys.modules["test_django_urls"]


class RouteTo:
    """Sends every model's reads and writes to one database."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return self.alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return self.alias

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return True


@pytest.fixture(params=["default", "postgresql"], ids=["sqlite", "postgresql"])
def alias(request: pytest.FixtureRequest, aliases: set[str]) -> Iterator[str]:
    """Each test runs once per database, on empty tables."""
    if request.param not in aliases:
        pytest.skip("PostgreSQL NOT TESTED: no server on this machine")
    from smsstatus.django.models import Delivery, RejectedItem, StatusEvent, Webhook

    with override_settings(DATABASE_ROUTERS=[RouteTo(request.param)]):
        for model in (Delivery, RejectedItem, StatusEvent, Webhook):
            model.objects.all().delete()
        yield request.param


@pytest.fixture
def client(alias: str) -> Client:
    # enforce_csrf_checks: the gateway sends no CSRF token, so the view must be exempt.
    return Client(enforce_csrf_checks=True)


def stored() -> dict[int, StatusReport]:
    from smsstatus.django.models import Delivery

    return {row.id_sms: row.report() for row in Delivery.objects.all()}


def report(id_sms: int, state: Status, minute: int | None = 0) -> StatusReport:
    time = None if minute is None else datetime(2026, 11, 26, 9, minute)
    return StatusReport(id_sms, time=time, state=state)


def in_moscow(*reports: StatusReport) -> dict[int, StatusReport]:
    """What the app stores: the gateway's wall clock read in SMSSTATUS_TIMEZONE."""
    return {
        r.id_sms: attrs.evolve(r, time=r.time and r.time.replace(tzinfo=MOSCOW))
        for r in reports
    }


def post(client: Client, body: bytes, url: str = URL, **extra: Any) -> Any:
    return client.post(url, body, content_type="text/xml", **extra)


def acked(response: Any, format: str = "xml") -> tuple[int, ...]:
    assert response.status_code == 200, response.content
    return smsstatus.decode_ack(response.content, format)


# --- the view ------------------------------------------------------------------


def test_stores_the_batch_and_acknowledges_it(client: Client) -> None:
    batch = [
        StatusReport(
            1,
            time=datetime(2026, 11, 26, 9, 0),
            state=Status.DELIVER,
            sms=Status.DELIVER,
        ),
        report(2, Status.SEND, None),
        StatusReport(3, time=None, state=Status.READ, viber=Status.READ),
    ]
    response = post(client, smsstatus.encode_xml(batch))
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert acked(response) == (1, 2, 3)
    assert stored() == in_moscow(*batch)
    # The same rows, read by StatusTable on a plain connection of the same database.
    from django.db import router

    from smsstatus.django.models import Delivery

    raw = connections[router.db_for_read(Delivery)]
    loaded = StatusTable().load(raw.connection, [1, 2, 3])
    assert loaded == {
        i: StatusReport(
            i,
            time=r.time and r.time.astimezone(timezone(timedelta(hours=3))),
            state=r.state,
            sms=r.sms,
            viber=r.viber,
        )
        for i, r in in_moscow(*batch).items()
    }


def test_answers_json_with_json(client: Client) -> None:
    batch = [report(7, Status.DELIVER)]
    response = client.post(URL, smsstatus.encode_json(batch), "application/json")
    assert response["Content-Type"] == "application/json"
    assert acked(response, "json") == (7,)
    assert stored() == in_moscow(*batch)


def test_keeps_the_furthest_report_within_and_across_batches(client: Client) -> None:
    final = report(1, Status.READ, 9)
    first = [
        report(1, Status.DELIVER, 5),
        final,
        report(1, Status.SEND),
        report(2, Status.SEND),
    ]
    assert acked(post(client, smsstatus.encode_xml(first))) == (1, 2)
    late = [report(1, Status.EXPIRED, 10), report(2, Status.SEND, 3)]
    assert acked(post(client, smsstatus.encode_xml(late))) == (1, 2)
    assert stored() == in_moscow(final, report(2, Status.SEND))


@pytest.mark.parametrize("url", [URL, URL + "/"])
def test_with_or_without_a_trailing_slash_and_never_redirected(
    client: Client, url: str
) -> None:
    assert acked(post(client, smsstatus.encode_xml([report(5, Status.SEND)]), url)) == (
        5,
    )
    assert client.get(url).status_code == 405
    assert client.put(url, b"", content_type="text/xml").status_code == 405


@pytest.mark.parametrize(
    "token", ["wrong", TOKEN + "x", TOKEN[:-1], "\u00e9t\u00e9" * 12, TOKEN.upper()]
)
def test_a_wrong_token_is_not_found_and_writes_nothing(
    client: Client, token: str
) -> None:
    body = smsstatus.encode_xml([report(1, Status.SEND)])
    assert post(client, body, f"/sms/statuses/{token}").status_code == 404
    assert stored() == {}


@pytest.mark.parametrize("setting", [None, "", "short-token"])
def test_without_a_usable_token_every_delivery_is_not_found(
    client: Client, setting: str | None
) -> None:
    body = smsstatus.encode_xml([report(1, Status.SEND)])
    with override_settings(SMSSTATUS_TOKEN=setting):
        if setting is None:
            del settings.SMSSTATUS_TOKEN
        assert post(client, body, f"/sms/statuses/{setting}").status_code == 404
        assert post(client, body).status_code == 404
    assert stored() == {}


def test_refuses_hostile_xml_and_writes_nothing(client: Client) -> None:
    bomb = (
        b'<!DOCTYPE r [<!ENTITY a "aaaa">]>'
        b'<response><state id_sms="1" time="">&a;</state></response>'
    )
    assert post(client, bomb).status_code == 400
    assert stored() == {}


def test_reads_a_chunked_body(client: Client) -> None:
    # What a WSGI server gives for "Transfer-Encoding: chunked": no CONTENT_LENGTH
    # (so Django's request.body is b"") and the de-chunked body in wsgi.input.
    body = smsstatus.encode_xml([report(1, Status.DELIVER), report(2, Status.SEND)])
    response = post(
        client,
        body,
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body)},
    )
    assert acked(response) == (1, 2)
    assert stored() == in_moscow(report(1, Status.DELIVER), report(2, Status.SEND))


@pytest.mark.parametrize("length", [None, "declared"])
def test_reads_the_body_under_asgi(alias: str, length: str | None) -> None:
    # Under an ASGI server (uvicorn, daphne) Django's request has no wsgi.input: its
    # stream is the whole body, declared or chunked.
    from django.core.handlers.asgi import ASGIRequest

    from smsstatus.django.views import statuses

    body = smsstatus.encode_xml([report(1, Status.DELIVER), report(2, Status.SEND)])
    headers = [(b"content-type", b"text/xml")]
    if length is None:
        headers.append((b"transfer-encoding", b"chunked"))
    else:
        headers.append((b"content-length", str(len(body)).encode()))
    scope = {"type": "http", "method": "POST", "path": URL, "headers": headers}
    response = statuses(ASGIRequest(scope, io.BytesIO(body)), token=TOKEN)
    assert acked(response) == (1, 2)
    assert stored() == in_moscow(report(1, Status.DELIVER), report(2, Status.SEND))


def test_takes_a_body_over_djangos_upload_limit(client: Client) -> None:
    # DATA_UPLOAD_MAX_MEMORY_SIZE is 2.5 MB by default; a batch may be bigger.
    batch = [report(i, Status.SEND) for i in range(1, 60_001)]
    body = smsstatus.encode_xml(batch)
    assert len(body) > 3_000_000
    assert len(acked(post(client, body))) == 60_000
    assert len(stored()) == 60_000


def test_an_oversized_body_is_refused(client: Client) -> None:
    limit = Limits().max_bytes
    body = smsstatus.encode_xml([report(1, Status.SEND)]) + b" " * limit
    assert post(client, body).status_code == 413
    # Chunked, so the size is only known by reading: refused all the same.
    chunked = post(
        client,
        body,
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body)},
    )
    assert chunked.status_code == 413
    assert stored() == {}


def test_an_oversized_body_is_a_document_for_the_sinks(client: Client) -> None:
    limit = Limits().max_bytes
    documents: list[Document] = []
    add_sink(documents.append)
    try:
        assert post(client, b" " * (limit + 10)).status_code == 413
        chunked = post(
            client,
            b"",
            CONTENT_LENGTH="",
            HTTP_TRANSFER_ENCODING="chunked",
            **{"wsgi.input": io.BytesIO(b" " * (limit + 10))},
        )
        assert chunked.status_code == 413
    finally:
        remove_sink(documents.append)
    # The declared length; without one, as far as it was read.
    assert [(d.code, d.size, d.body) for d in documents] == [
        (413, limit + 10, None),
        (413, limit + 1, None),
    ]


def test_keeps_bad_items_as_rejected_items_and_acknowledges_them(
    client: Client,
) -> None:
    from smsstatus.django.models import RejectedItem

    body = (
        b'[{"id_sms": "1", "time": "", "state": "send"},'
        b' {"id_sms": "2", "time": "", "state": "delivered"},'
        b' {"id_sms": "99999999999999999999", "time": "", "state": "sent"},'
        b' {"time": "", "state": "send"}]'
    )
    response = client.post(URL, body, "application/json")
    assert acked(response, "json") == (1, 2, 99999999999999999999)
    assert stored() == in_moscow(report(1, Status.SEND, None))
    rejected = sorted(RejectedItem.objects.all(), key=lambda item: item.raw)
    assert [(item.id_sms, item.raw) for item in rejected] == [
        (2, '{"id_sms": "2", "time": "", "state": "delivered"}'),
        (None, '{"id_sms": "99999999999999999999", "time": "", "state": "sent"}'),
        (None, '{"time": "", "state": "send"}'),
    ]
    assert "delivered" in rejected[0].reason
    assert str(rejected[0]) == f"2: {rejected[0].reason}"
    assert all(item.received_at is not None for item in rejected)


def test_a_database_error_is_answered_503_and_logged_as_one_line(
    client: Client,
    alias: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from smsstatus.django import ledger

    connection = connections[alias]

    def broken(raw: Any, body: Any, **options: Any) -> Any:
        raise connection.Database.OperationalError("server closed\nthe connection")

    monkeypatch.setattr(ledger.TABLE, "receive", broken)
    body = smsstatus.encode_xml([report(1, Status.SEND)])
    # Inside a transaction of the caller's, the connection is theirs: left open.
    with transaction.atomic(using=alias):
        assert post(client, body).status_code == 503
        assert connection.connection is not None
    caplog.clear()
    with caplog.at_level(logging.INFO), Signals() as signals:
        response = post(client, body)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert signals.sent == []
    # One line, without the token or the body; Django's 500 machinery never ran.
    assert [r.getMessage() for r in caplog.records] == [
        "delivery not stored, answered 503: OperationalError: server closed the "
        "connection"
    ]
    assert caplog.records[0].exc_info is None
    # Closed, so that the next request opens a new connection (SQLite included,
    # whose is_usable() always says yes).
    assert connection.connection is None
    monkeypatch.undo()
    assert acked(post(client, body)) == (1,)


def test_a_database_that_cannot_be_reached_is_answered_503(
    client: Client, alias: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = connections[alias]
    connection.close()
    unreachable = (
        {"NAME": "/nonexistent/dir/db.sqlite3"}
        if alias == "default"
        else {"PORT": "1", "OPTIONS": {"connect_timeout": 2}}
    )
    for key, value in unreachable.items():
        monkeypatch.setitem(connection.settings_dict, key, value)
    try:
        response = post(client, smsstatus.encode_xml([report(1, Status.SEND)]))
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
        health = client.get("/sms/statuses/health")
        assert health.status_code == 503
        assert health.content == b"unavailable\n"
    finally:
        connection.close()


def test_the_health_endpoint_reads_the_table(client: Client, alias: str) -> None:
    response = client.get("/sms/statuses/health")
    assert (response.status_code, response.content) == (200, b"ok\n")
    with connections[alias].cursor() as cursor:
        cursor.execute("ALTER TABLE smsstatus_delivery RENAME TO moved_away")
    try:
        response = client.get("/sms/statuses/health")
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
    finally:
        with connections[alias].cursor() as cursor:
            cursor.execute("ALTER TABLE moved_away RENAME TO smsstatus_delivery")
    assert client.get("/sms/statuses/health").status_code == 200


def wsgi_delivery(reports: list[StatusReport]) -> Any:
    """One delivery through Django's WSGI handler, with the connection handling of
    a real server (close_old_connections at the start and end of each request)."""
    from django.core.handlers.wsgi import WSGIHandler

    return Gateway(attempts=1).deliver_wsgi(WSGIHandler(), reports, path=URL)


def test_a_failed_sqlite_connection_is_not_kept(
    aliases: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Django's SQLite is_usable() always says yes, so with CONN_MAX_AGE a connection
    # that failed (here: made read-only, as one opened while the file was) used to
    # be handed to every later request.  The view closes it.
    connection = connections["default"]
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    with override_settings(DATABASE_ROUTERS=[RouteTo("default")]):
        try:
            first = [report(i, Status.SEND) for i in (1, 2)]
            assert wsgi_delivery(first).acknowledged == {1, 2}
            connection.connection.execute("PRAGMA query_only = ON")
            failed = wsgi_delivery([report(3, Status.SEND)])
            assert [a.status for a in failed.attempts] == [503]
            assert wsgi_delivery([report(3, Status.SEND)]).acknowledged == {3}
        finally:
            connection.close()


def test_the_health_check_runs_before_the_delivery(
    aliases: set[str], monkeypatch: pytest.MonkeyPatch, postgresql: str
) -> None:
    # CONN_HEALTH_CHECKS is run when Django opens a cursor; the view used to take
    # the raw connection without one, so the first delivery after a server restart
    # failed on the dead persistent connection.
    if "postgresql" not in aliases:
        pytest.skip("PostgreSQL NOT TESTED: no server on this machine")
    import psycopg

    connection = connections["postgresql"]
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", True)
    with override_settings(DATABASE_ROUTERS=[RouteTo("postgresql")]):
        try:
            assert wsgi_delivery([report(1, Status.SEND)]).acknowledged == {1}
            pid = connection.connection.info.backend_pid
            with psycopg.connect(postgresql, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            delivery = wsgi_delivery([report(i, Status.SEND) for i in range(2, 12)])
            assert delivery.acknowledged == set(range(2, 12))
        finally:
            connection.close()


def test_a_held_lock_is_waited_for_within_the_bound_of_the_delivery_only(
    client: Client, alias: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bound: SQLite's busy timeout (the database's OPTIONS), PostgreSQL's
    # lock_timeout and statement_timeout (SMSSTATUS_DB_TIMEOUT).
    import sqlite3

    import psycopg

    connection = connections[alias]
    params = connection.settings_dict
    locker: Any
    if alias == "default":
        connection.close()
        monkeypatch.setitem(params, "OPTIONS", {"timeout": 0.2})
        locker = sqlite3.connect(params["NAME"], isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
    else:
        locker = psycopg.connect(
            host=params["HOST"],
            port=params["PORT"],
            user=params["USER"],
            dbname=params["NAME"],
        )
        locker.execute("LOCK TABLE smsstatus_delivery IN ACCESS EXCLUSIVE MODE")
    try:
        started = time.monotonic()
        with override_settings(SMSSTATUS_DB_TIMEOUT=0.2):
            response = post(client, smsstatus.encode_xml([report(1, Status.SEND)]))
        waited = time.monotonic() - started
    finally:
        locker.rollback()
        locker.close()
    assert response.status_code == 503
    assert waited < 5
    assert acked(post(client, smsstatus.encode_xml([report(1, Status.SEND)]))) == (1,)
    if alias == "postgresql":
        # SET LOCAL: the rest of the application's connection has no such bound.
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone() == ("0",)
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone() == ("0",)
    connection.close()


# --- the signal ----------------------------------------------------------------


class Signals:
    """Records every status_changed sent while it is entered."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, StatusReport, StatusReport | None]] = []

    def receive(
        self, sender: Any, report: StatusReport, previous: Any, **kw: Any
    ) -> None:
        self.sent.append((sender, report, previous))

    def __enter__(self) -> Signals:
        from smsstatus.django.signals import status_changed

        status_changed.connect(self.receive)
        return self

    def __exit__(self, *exc: object) -> None:
        from smsstatus.django.signals import status_changed

        status_changed.disconnect(self.receive)


def test_the_signal_fires_once_per_changed_row_and_never_for_duplicates(
    client: Client,
) -> None:
    from smsstatus.django.models import Delivery

    sent_1, sent_2 = report(1, Status.SEND, None), report(2, Status.SEND, None)
    delivered_1 = report(1, Status.DELIVER, 4)
    with Signals() as signals:
        post(client, smsstatus.encode_xml([sent_1, sent_2, sent_1]))
        assert signals.sent == [
            (Delivery, in_moscow(sent_1)[1], None),
            (Delivery, in_moscow(sent_2)[2], None),
        ]
        signals.sent.clear()
        # Duplicates and older statuses change nothing: no signal.
        post(client, smsstatus.encode_xml([sent_1, sent_2, sent_2]))
        assert signals.sent == []
        post(client, smsstatus.encode_xml([sent_2, delivered_1, sent_1]))
        assert signals.sent == [
            (Delivery, in_moscow(delivered_1)[1], in_moscow(sent_1)[1])
        ]


def test_the_signal_waits_for_the_commit_and_a_rollback_sends_none(
    client: Client, alias: str
) -> None:
    with Signals() as signals:
        with transaction.atomic(using=alias):
            post(client, smsstatus.encode_xml([report(1, Status.SEND)]))
            assert signals.sent == []  # written, but not committed yet
        assert [r.id_sms for _, r, _ in signals.sent] == [1]
        signals.sent.clear()

        def deliver_then_fail() -> None:
            with transaction.atomic(using=alias):
                post(client, smsstatus.encode_xml([report(2, Status.SEND)]))
                raise RuntimeError("the caller's transaction fails")

        with pytest.raises(RuntimeError):
            deliver_then_fail()
    assert signals.sent == []
    assert set(stored()) == {1}


def test_a_failing_receiver_is_logged_and_costs_nothing(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    from smsstatus.django.signals import status_changed

    def broken(**kwargs: Any) -> None:
        raise ValueError("receiver bug")

    status_changed.connect(broken)
    try:
        with caplog.at_level(logging.ERROR, "smsstatus"):
            response = post(client, smsstatus.encode_xml([report(1, Status.SEND)]))
    finally:
        status_changed.disconnect(broken)
    assert acked(response) == (1,)
    assert set(stored()) == {1}
    assert "receiver bug" in caplog.text


# --- settings and system checks -------------------------------------------------


def check_ids(**overrides: Any) -> set[str]:
    with override_settings(**overrides):
        for name, value in overrides.items():
            if value is None:
                delattr(settings, name)
        return {message.id for message in checks.run_checks() if message.id}


def test_system_checks_pass_with_a_good_configuration(aliases: set[str]) -> None:
    assert not {i for i in check_ids() if i.startswith("smsstatus")}


@pytest.mark.parametrize(
    "token", [None, "", "x" * 31, 12345678901234567890123456789012345]
)
def test_a_missing_or_short_token_is_a_system_check_error(
    aliases: set[str], token: object
) -> None:
    assert "smsstatus.E001" in check_ids(SMSSTATUS_TOKEN=token)
    with (
        override_settings(SMSSTATUS_TOKEN=token),
        pytest.raises(SystemCheckError, match="SMSSTATUS_TOKEN"),
    ):
        call_command("check")


def test_timezone_checks(aliases: set[str]) -> None:
    assert "smsstatus.E002" in check_ids(SMSSTATUS_TIMEZONE="Mars/Olympus_Mons")
    assert "smsstatus.E002" in check_ids(SMSSTATUS_TIMEZONE="../etc")
    assert "smsstatus.W001" in check_ids(USE_TZ=False)
    from smsstatus.django import conf

    with override_settings(TIME_ZONE="Asia/Tokyo"):
        del settings.SMSSTATUS_TIMEZONE
        assert conf.gateway_timezone() == ZoneInfo("Asia/Tokyo")


# --- models, migration, admin ---------------------------------------------------


def test_the_shipped_migration_matches_the_models(aliases: set[str]) -> None:
    call_command("makemigrations", "smsstatus", "--check", "--dry-run", verbosity=0)


def columns(
    connection: Any, table: str, schema: str | None = None
) -> list[tuple[Any, ...]]:
    """The columns of `table`: name, type, not null, primary key."""
    cursor = connection.cursor()
    if schema is None:  # SQLite
        cursor.execute(f"PRAGMA table_info({table})")
        found = [
            (name, type_, bool(notnull), bool(pk))
            for _, name, type_, notnull, _, pk in cursor.fetchall()
        ]
    else:
        cursor.execute(
            "SELECT c.column_name, c.data_type, c.character_maximum_length,"
            " c.is_nullable = 'NO', EXISTS (SELECT 1"
            " FROM information_schema.key_column_usage k"
            " WHERE k.table_schema = c.table_schema"
            " AND k.table_name = c.table_name AND k.column_name = c.column_name)"
            " FROM information_schema.columns c WHERE c.table_schema = %s"
            " AND c.table_name = %s ORDER BY c.ordinal_position",
            (schema, table),
        )
        found = [tuple(row) for row in cursor.fetchall()]
    cursor.close()
    return found


def test_the_migrations_make_the_tables_statustable_creates(alias: str) -> None:
    connection = connections[alias]
    connection.ensure_connection()
    raw = connection.connection
    suffixes = ("", "_event", "_webhook", "_rejected")
    if alias == "default":
        for suffix in suffixes:
            raw.execute(f"DROP TABLE IF EXISTS plain_delivery{suffix}")
        StatusTable("plain_delivery").create(raw)
        ours = [columns(raw, f"smsstatus_delivery{suffix}") for suffix in suffixes]
        theirs = [columns(raw, f"plain_delivery{suffix}") for suffix in suffixes]
        for suffix in suffixes:
            raw.execute(f"DROP TABLE plain_delivery{suffix}")
    else:
        raw.execute("DROP SCHEMA IF EXISTS plain CASCADE")
        raw.execute("CREATE SCHEMA plain")
        raw.execute("SET search_path TO plain")
        try:
            StatusTable().create(raw)
        finally:
            raw.execute("SET search_path TO public")
        ours, theirs = (
            [columns(raw, f"smsstatus_delivery{suffix}", schema) for suffix in suffixes]
            for schema in ("public", "plain")
        )
        raw.execute("DROP SCHEMA plain CASCADE")
    assert ours == theirs
    assert [column[0] for column in ours[0]] == [
        "id_sms",
        "time",
        "time_offset",
        "state",
        "sms",
        "viber",
        "changed_at",
        "sent_at",
        "tag",
        "seen_at",
        "final_at",
    ]
    # The models describe exactly these columns.
    from smsstatus.django.models import Delivery, RejectedItem, StatusEvent, Webhook

    for model, table in zip(
        (Delivery, StatusEvent, Webhook, RejectedItem), ours, strict=True
    ):
        assert {f.column for f in model._meta.concrete_fields} == {
            column[0] for column in table
        }


@pytest.fixture
def admin_client(client: Client) -> Client:
    from django.contrib.auth.models import User

    User.objects.filter(username="admin").delete()
    user = User.objects.create_superuser("admin", "admin@example.com", "pw")
    client.force_login(user)
    return client


def test_the_admin_lists_searches_and_filters_read_only(admin_client: Client) -> None:
    from smsstatus.django.models import Delivery

    batch = [
        report(10, Status.READ, 1),
        report(11, Status.DELIVER, 2),
        report(12, Status.SEND, None),
    ]
    post(admin_client, smsstatus.encode_xml(batch))
    post(admin_client, b'[{"id_sms": "13", "time": "", "state": "sent"}]')

    def listed(query: str) -> set[int]:
        response = admin_client.get("/admin/smsstatus/delivery/" + query)
        assert response.status_code == 200
        return {row.id_sms for row in response.context["cl"].result_list}

    assert listed("") == {10, 11, 12}
    assert listed("?q=11") == {11}
    assert listed("?q=abc") == set()
    assert listed("?q=99999999999999999999") == set()
    assert listed("?state__exact=send") == {12}
    assert listed("?final=yes") == {10}
    assert listed("?final=no") == {11, 12}
    page = admin_client.get("/admin/smsstatus/delivery/")
    assert b"Add delivery" not in page.content
    assert b"delete_selected" not in page.content
    detail = admin_client.get("/admin/smsstatus/delivery/10/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content  # a view, not a form
    assert admin_client.get("/admin/smsstatus/delivery/add/").status_code == 403
    assert admin_client.get("/admin/smsstatus/delivery/10/delete/").status_code == 403
    assert (
        admin_client.post(
            "/admin/smsstatus/delivery/10/change/", {"state": "send"}
        ).status_code
        == 403
    )
    assert Delivery.objects.get(id_sms=10).state == "read"

    rejected = admin_client.get("/admin/smsstatus/rejecteditem/")
    assert rejected.status_code == 200
    assert b"sent" in rejected.content
    assert (
        admin_client.get("/admin/smsstatus/rejecteditem/?q=13")
        .context["cl"]
        .result_count
        == 1
    )
    assert admin_client.get("/admin/smsstatus/rejecteditem/add/").status_code == 403
    assert admin_client.get("/admin/").status_code == 200


def test_the_app_keeps_the_token_out_of_djangos_request_logs(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    # No LOGGING setting here: the app's ready() protects Django's own loggers.
    with caplog.at_level(logging.INFO):
        assert post(client, b"<response>").status_code == 400
        assert post(client, b"<response/>", url=URL + "x").status_code == 404
        # What runserver's access log writes, on its logger.
        logging.getLogger("django.server").info(
            '"%s" %s %s', f"POST {URL} HTTP/1.1", "200", "64"
        )
    lines = [record.getMessage() for record in caplog.records]
    assert not [line for line in lines if TOKEN in line]
    assert {
        "Bad Request: /sms/statuses/***",
        "Not Found: /sms/statuses/***",
        '"POST /sms/statuses/*** HTTP/1.1" 200 64',
    } <= set(lines)


def test_the_view_stores_outside_atomic_requests(
    client: Client, alias: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ATOMIC_REQUESTS is on for both databases here; the view opts out of it on each,
    # so that StatusTable begins (BEGIN IMMEDIATE on SQLite) and commits the batch;
    # on PostgreSQL in a transaction of the view's own on the driver's connection,
    # whose waits it bounds (no atomic block of Django's).
    from smsstatus.django import ledger

    seen: list[tuple[int, bool]] = []
    receive = ledger.TABLE.receive

    def spy(connection: Any, body: Any, **options: Any) -> Any:
        if alias == "postgresql":
            begun = connection.info.transaction_status.name == "INTRANS"
        else:
            begun = connection.in_transaction
        seen.append((len(connections[alias].atomic_blocks), begun))
        return receive(connection, body, **options)

    monkeypatch.setattr(ledger.TABLE, "receive", spy)
    assert acked(post(client, smsstatus.encode_xml([report(1, Status.SEND)]))) == (1,)
    assert seen == [(0, alias == "postgresql")]


def test_a_row_gives_back_the_report_as_the_gateway_sent_it(aliases: set[str]) -> None:
    from smsstatus.django.models import Delivery

    utc = datetime(2026, 11, 26, 6, 0, tzinfo=timezone.utc)
    plus3 = timezone(timedelta(hours=3))
    row = Delivery(id_sms=1, time=utc, time_offset=10800, state="read", sms="read")
    assert row.report() == StatusReport(
        1,
        time=datetime(2026, 11, 26, 9, 0, tzinfo=plus3),
        state=Status.READ,
        sms=Status.READ,
    )
    assert row.is_final
    assert str(row) == "1: read"
    # A naive time was stored as its wall clock, with no offset.
    row = Delivery(id_sms=2, time=utc, time_offset=None, state="send")
    assert row.report().time == datetime(2026, 11, 26, 6, 0)
    assert not row.is_final
    # Without USE_TZ Django reads the stored UTC wall clock naive.
    row = Delivery(
        id_sms=3, time=datetime(2026, 11, 26, 6), time_offset=0, state="send"
    )
    assert row.report().time == utc
    assert Delivery(id_sms=4, time=None, state="send").report().time is None


def test_a_database_statustable_cannot_write_is_a_system_check_error(
    alias: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "smsstatus.E003" not in check_ids()
    if alias == "postgresql":
        from django.db.backends.postgresql import psycopg_any

        monkeypatch.setattr(psycopg_any, "is_psycopg3", False)
        assert "smsstatus.E003" in check_ids()
        monkeypatch.undo()
    monkeypatch.setattr(connections[alias], "vendor", "mysql")
    assert "smsstatus.E003" in check_ids()


# --- manage.py smsstatus_recover (issue 10) --------------------------------------


API_TOKEN = "api-token-for-the-tests"


def recover_command(*argv: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("smsstatus_recover", *argv, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@override_settings(SMSSTATUS_API_TOKEN=API_TOKEN)
def test_recover_pulls_what_the_push_lost_and_stores_it_as_the_view_does(
    client: Client,
) -> None:
    from smsstatus.pull import Credentials
    from smsstatus.testing import FakeGateway

    sent = [report(i, Status.SEND, None) for i in (1, 2, 3)]
    assert acked(post(client, smsstatus.encode_xml(sent))) == (1, 2, 3)
    read, delivered = report(1, Status.READ, 7), report(2, Status.DELIVER, 8)
    with (
        FakeGateway(credentials=Credentials(token=API_TOKEN)) as gateway,
        Signals() as signals,
    ):
        gateway.add(read, delivered)
        out, err = recover_command("--older-than", "0s", "--base-url", gateway.url)
    assert out == "asked about 3, stored 2, unanswered 1\n"
    assert err == ""
    assert gateway.pulled[0].ids == (1, 2, 3)
    assert stored() == in_moscow(read, delivered, sent[2])
    assert [(s[1].id_sms, s[2] and s[2].state) for s in signals.sent] == [
        (1, Status.SEND),
        (2, Status.SEND),
    ]
    from smsstatus.django.models import StatusEvent

    pulled = StatusEvent.objects.filter(source="pull").order_by("id_sms")
    assert [(e.id_sms, e.state, e.webhook_id) for e in pulled] == [
        (1, "read", None),
        (2, "deliver", None),
    ]


@override_settings(SMSSTATUS_API_LOGIN="shop", SMSSTATUS_API_PASSWORD=API_TOKEN)
def test_recover_asks_only_about_the_ids_given_or_old_enough(client: Client) -> None:
    from smsstatus.pull import Credentials
    from smsstatus.testing import FakeGateway

    post(client, smsstatus.encode_xml([report(i, Status.SEND, None) for i in (1, 2)]))
    with FakeGateway(
        credentials=Credentials(login="shop", password=API_TOKEN)
    ) as gateway:
        gateway.add(report(1, Status.DELIVER, 1), report(2, Status.EXPIRED, 2))
        assert recover_command("--base-url", gateway.url) == ("nothing pending\n", "")
        out, _ = recover_command("--base-url", gateway.url, "--format", "json", "2")
        assert [p.ids for p in gateway.pulled] == [(2,)]
    assert out == "asked about 1, stored 1, unanswered 0\n"
    assert stored() == in_moscow(
        report(1, Status.SEND, None), report(2, Status.EXPIRED, 2)
    )


def test_recover_fails_clearly_without_leaking_the_secret(alias: str) -> None:
    from django.core.management.base import CommandError

    from smsstatus.pull import Credentials
    from smsstatus.testing import FakeGateway

    with pytest.raises(
        CommandError, match="SMSSTATUS_API_TOKEN, or SMSSTATUS_API_LOGIN"
    ):
        recover_command("1")
    with (
        override_settings(SMSSTATUS_API_TOKEN=API_TOKEN),
        FakeGateway(credentials=Credentials(token=API_TOKEN)) as gateway,
    ):
        gateway.misbehave(
            "answer",
            body=b'<response><state id_sms="1" time="">lost</state></response>',
        )
        out, err = recover_command("--base-url", gateway.url, "1")
    assert out == "asked about 1, stored 0, unanswered 1\n"
    assert err == "items of the answer that are not statuses: 1\n"
    with override_settings(SMSSTATUS_API_LOGIN="shop"), pytest.raises(CommandError):
        recover_command("1")
    with (
        override_settings(SMSSTATUS_API_TOKEN=API_TOKEN),
        FakeGateway() as gateway,
        pytest.raises(CommandError, match="Incorrect login or password") as info,
    ):
        recover_command("--base-url", gateway.url, "1")
    assert API_TOKEN not in str(info.value)
    with (
        override_settings(SMSSTATUS_API_TOKEN=API_TOKEN),
        pytest.raises(CommandError, match="http"),
    ):
        recover_command("--base-url", "ftp://example.com", "1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0s", timedelta(0)),
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("01:30:00", timedelta(hours=1, minutes=30)),
        ("P1DT2H", timedelta(days=1, hours=2)),
    ],
)
def test_recover_reads_durations(
    aliases: set[str], text: str, expected: timedelta
) -> None:
    from smsstatus.django.management.commands.smsstatus_recover import duration

    assert duration(text) == expected


@pytest.mark.parametrize("text", ["soon", "-1:00:00", "5w", ""])
def test_recover_refuses_what_is_not_a_duration(aliases: set[str], text: str) -> None:
    from smsstatus.django.management.commands.smsstatus_recover import duration

    with pytest.raises(ValueError, match="not a duration"):
        duration(text)


@override_settings(SMSSTATUS_API_TOKEN=API_TOKEN)
def test_recover_walks_the_pending_messages_a_chunk_at_a_time(
    alias: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smsstatus.django.management.commands import smsstatus_recover
    from smsstatus.django.models import Delivery
    from smsstatus.pull import Credentials
    from smsstatus.testing import FakeGateway

    monkeypatch.setattr(smsstatus_recover, "CHUNK", 2)
    smsstatus.django.register_sent(range(1, 8))
    with FakeGateway(credentials=Credentials(token=API_TOKEN)) as gateway:
        # 1, 4 and 6 reach a final state; 2 moves on but is not final; the others
        # are unknown to the gateway and stay pending.
        gateway.add(
            report(1, Status.READ),
            report(2, Status.DELIVER),
            report(4, Status.EXPIRED),
            report(6, Status.NOT_DELIVER),
        )
        out, _ = recover_command("--older-than", "0s", "--base-url", gateway.url)
    asked = [request.ids for request in gateway.pulled]
    assert all(len(ids) <= 2 for ids in asked)
    assert sorted(i for ids in asked for i in ids) == [1, 2, 3, 4, 5, 6, 7]
    assert out == "asked about 7, stored 4, unanswered 3\n"
    final = Delivery.objects.filter(state__in=["read", "expired", "not_deliver"])
    assert {row.id_sms for row in final} == {1, 4, 6}


# --- the ledger (issue 19) -------------------------------------------------------


def test_a_bad_item_posted_four_times_is_kept_once_and_acknowledged_each_time(
    client: Client,
) -> None:
    from smsstatus.django.models import RejectedItem, Webhook

    body = b'[{"id_sms": "7", "time": "", "state": "sent"}]'
    for _ in range(4):
        assert acked(client.post(URL, body, "application/json"), "json") == (7,)
    (item,) = RejectedItem.objects.all()
    assert (item.id_sms, item.raw) == (
        7,
        '{"id_sms": "7", "time": "", "state": "sent"}',
    )
    webhooks = Webhook.objects.order_by("id")
    assert [(w.code, w.reports, w.taken, w.rejected) for w in webhooks] == [
        (200, 0, 1, 1)
    ] * 4
    assert item.webhook_id == webhooks[0].id
    assert bytes(webhooks[0].body) == body  # kept: it had a rejected item


def test_every_post_is_a_webhook_row_with_the_peer_address(client: Client) -> None:
    from smsstatus.django.models import StatusEvent, Webhook

    body = smsstatus.encode_xml([report(1, Status.SEND), report(1, Status.DELIVER, 2)])
    acked(post(client, body, REMOTE_ADDR="203.0.113.9"))
    assert (
        post(client, b"<response><oops", REMOTE_ADDR="203.0.113.9").status_code == 400
    )
    ok, refused = Webhook.objects.order_by("id")
    assert (ok.remote, ok.format, ok.code, ok.size, ok.body) == (
        "203.0.113.9",
        "xml",
        200,
        len(body),
        None,  # not kept: nothing wrong with it
    )
    assert refused.code == 400
    assert refused.refused
    assert bytes(refused.body) == b"<response><oops"
    events = StatusEvent.objects.all()
    assert {(e.id_sms, e.state, e.source, e.webhook_id) for e in events} == {
        (1, "send", "push", ok.id),
        (1, "deliver", "push", ok.id),
    }
    with override_settings(SMSSTATUS_KEEP_BODIES=True):
        acked(post(client, body))
    assert bytes(Webhook.objects.order_by("-id")[0].body) == body


def test_the_previous_rows_are_read_only_for_the_signals_receivers(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smsstatus.django import ledger

    given: list[Any] = []
    receive = ledger.TABLE.receive

    def spy(connection: Any, body: Any, **options: Any) -> Any:
        given.append(options["changes"])
        return receive(connection, body, **options)

    monkeypatch.setattr(ledger.TABLE, "receive", spy)
    post(client, smsstatus.encode_xml([report(1, Status.SEND)]))
    with Signals():
        post(client, smsstatus.encode_xml([report(1, Status.DELIVER)]))
    assert given[0] is None
    assert [c.report.state for c in given[1]] == [Status.DELIVER]


def test_register_sent_records_messages_before_their_first_status(
    client: Client, alias: str
) -> None:
    from smsstatus.django import register_sent
    from smsstatus.django.models import Delivery

    sent_at = datetime(2026, 11, 26, 6, 0, tzinfo=timezone.utc)
    assert register_sent([Sent(1, sent_at=sent_at, tag="welcome"), 2]) == {1, 2}
    rows = {row.id_sms: row for row in Delivery.objects.all()}
    assert (rows[1].state, rows[1].tag, rows[1].sent_at) == ("send", "welcome", sent_at)
    assert (rows[2].state, rows[2].tag, rows[2].time) == ("send", None, None)
    acked(post(client, smsstatus.encode_xml([report(1, Status.DELIVER)])))
    assert Delivery.objects.get(id_sms=1).tag == "welcome"

    # Inside a transaction of the caller's, it joins it.
    def register_then_fail() -> None:
        with transaction.atomic(using=alias):
            register_sent([3], using=alias)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        register_then_fail()
    assert not Delivery.objects.filter(id_sms=3).exists()


def test_prune_deletes_the_old_history_and_keeps_the_latest_rows(
    client: Client,
) -> None:
    from django.core.management.base import CommandError

    from smsstatus.django.models import Delivery, RejectedItem, StatusEvent, Webhook

    body = b'[{"id_sms": "1", "time": "", "state": "send"}, {"id_sms": "2"}]'
    acked(client.post(URL, body, "application/json"), "json")

    def prune(*argv: str) -> str:
        out = io.StringIO()
        call_command("smsstatus_prune", *argv, stdout=out)
        return out.getvalue()

    assert prune("--older-than", "1d") == (
        "deleted 0 events, 0 webhooks, 0 rejected items\n"
    )
    assert prune("--older-than", "0s") == (
        "deleted 1 events, 1 webhooks, 1 rejected items\n"
    )
    for model in (StatusEvent, Webhook, RejectedItem):
        assert not model.objects.exists()
    assert list(Delivery.objects.values_list("id_sms", flat=True)) == [1]
    with pytest.raises(CommandError, match="expected a duration such as 90s"):
        prune("--older-than", "1 week")


@pytest.mark.parametrize("legacy", ["legacy", "legacy_postgresql"])
def test_migrating_a_02_database_keeps_every_row(
    aliases: set[str], legacy: str
) -> None:
    if legacy not in aliases:
        pytest.skip("PostgreSQL NOT TESTED: no server on this machine")
    from django.db.migrations.executor import MigrationExecutor

    from smsstatus.django.models import Delivery, RejectedItem

    connection = connections[legacy]
    with override_settings(DATABASE_ROUTERS=[RouteTo(legacy)]):
        call_command("migrate", "smsstatus", "0001", database=legacy, verbosity=0)
        old = (
            MigrationExecutor(connection)
            .loader.project_state(("smsstatus", "0001_initial"))
            .apps
        )
        changed = datetime(2026, 11, 26, 6, 0, tzinfo=timezone.utc)
        rows = [
            {"id_sms": 1, "state": "read", "changed_at": changed},
            {"id_sms": 2, "state": "deliver", "sms": "deliver", "changed_at": changed},
            {
                "id_sms": 3,
                "time": changed,
                "time_offset": 10800,
                "state": "send",
                "changed_at": changed + timedelta(minutes=1),
            },
        ]
        for row in rows:
            old.get_model("smsstatus", "Delivery").objects.create(**row)
        items = [
            (5, "bad state", '{"id_sms": "5", "state": "x"}', 3),
            (5, "bad state", '{"id_sms": "5", "state": "x"}', 1),  # a repeat
            (None, "no id", '{"state": "send"}', 2),
            (6, "bad state", '{"id_sms": "6", "state": "x"}', 4),
        ]
        for id_sms, reason, raw, minute in items:
            old.get_model("smsstatus", "RejectedItem").objects.create(
                id_sms=id_sms,
                reason=reason,
                raw=raw,
                received_at=changed + timedelta(minutes=minute),
            )

        call_command("migrate", "smsstatus", database=legacy, verbosity=0)

        migrated = {row.id_sms: row for row in Delivery.objects.all()}
        assert sorted(migrated) == [1, 2, 3]
        for row in rows:
            got = migrated[row["id_sms"]]
            for field, value in row.items():
                assert getattr(got, field) == value
            assert got.seen_at == got.changed_at
            assert got.final_at == (got.changed_at if got.is_final else None)
        kept = RejectedItem.objects.order_by("received_at")
        assert [(i.id_sms, i.raw, i.received_at) for i in kept] == [
            (5, items[1][2], changed + timedelta(minutes=1)),  # the oldest of two
            (None, items[2][2], changed + timedelta(minutes=2)),
            (6, items[3][2], changed + timedelta(minutes=4)),
        ]
        assert all(
            i.raw_sha256 == hashlib.sha256(i.raw.encode()).hexdigest() for i in kept
        )
        with connection.cursor() as cursor:
            assert "smsstatus_rejecteditem" not in (
                connection.introspection.table_names(cursor)
            )
        # And it receives on the ledger: the same bad item adds no row.
        client = Client()
        acked(
            client.post(URL, b'[{"id_sms": "5", "state": "x"}]', "application/json"),
            "json",
        )
        acked(post(client, smsstatus.encode_xml([report(3, Status.READ)])))
        assert RejectedItem.objects.count() == 3
        assert Delivery.objects.get(id_sms=3).final_at is not None
    connection.close()


def test_the_admin_shows_the_ledger_read_only(admin_client: Client, alias: str) -> None:
    from smsstatus.django import ledger
    from smsstatus.django.models import StatusEvent, Webhook

    smsstatus.django.register_sent([20])
    page = admin_client.get("/admin/smsstatus/delivery/20/change/")
    assert b"No status received yet." in page.content
    post(admin_client, smsstatus.encode_xml([report(10, Status.SEND, None)]))
    post(admin_client, smsstatus.encode_xml([report(10, Status.DELIVER, 5)]))
    post(admin_client, smsstatus.encode_xml([report(10, Status.READ, 7)]))
    post(admin_client, b"not a document")

    def listed(page: str, query: str = "") -> list[Any]:
        response = admin_client.get(f"/admin/smsstatus/{page}/{query}")
        assert response.status_code == 200
        return list(response.context["cl"].result_list)

    assert {e.state for e in listed("statusevent")} == {"send", "deliver", "read"}
    assert [e.state for e in listed("statusevent", "?q=10&state__exact=read")] == [
        "read"
    ]
    assert len(listed("webhook")) == 4
    assert [w.code for w in listed("webhook", "?refused=yes")] == [400]
    assert len(listed("webhook", "?refused=no")) == 3
    assert len(listed("webhook", "?code__exact=400")) == 1
    refused = Webhook.objects.get(code=400)
    page = admin_client.get(f"/admin/smsstatus/webhook/{refused.id}/change/")
    assert page.status_code == 200
    assert b"not a document" in page.content
    for model in ("statusevent", "webhook"):
        assert admin_client.get(f"/admin/smsstatus/{model}/add/").status_code == 403
    # The message's page: its history, in the gateway's order.
    detail = admin_client.get("/admin/smsstatus/delivery/10/change/").content.decode()
    timeline = detail[detail.index("<table><thead><tr><th>time") :]
    # (States by their labels, as everywhere in the admin.)
    states = ("Sent", "Delivered", "Read")
    assert [timeline.index(f"<td>{s}</td>") for s in states] == (
        sorted(timeline.index(f"<td>{s}</td>") for s in states)
    )
    assert f"/admin/smsstatus/webhook/{refused.id - 1}/change/" in timeline
    assert str(StatusEvent.objects.get(state="read")) == "10: read"
    # A pulled status has no webhook; a delivery that was taken keeps no body.
    connections[alias].ensure_connection()
    ledger.TABLE.save(
        connections[alias].connection, [report(20, Status.EXPIRED)], source="pull"
    )
    page = admin_client.get("/admin/smsstatus/delivery/20/change/").content.decode()
    assert "<td>Expired</td>" in page
    assert "<td>pull</td><td></td></tr>" in page
    kept_none = Webhook.objects.filter(code=200).first()
    assert kept_none is not None
    page = admin_client.get(f"/admin/smsstatus/webhook/{kept_none.id}/change/")
    assert b'<div class="readonly">-</div>' in page.content


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_postgresql_restart_and_stop_under_the_view(
    aliases: set[str], restartable_postgresql: _postgres.Server, mode: str
) -> None:
    # Issue 24: 503 while the server is gone, a full acknowledgement on the first or
    # second delivery once it is back (CONN_MAX_AGE=600, CONN_HEALTH_CHECKS), and no
    # acknowledged id missing.
    from django.core.handlers.wsgi import WSGIHandler

    from smsstatus.django.models import Delivery

    with override_settings(DATABASE_ROUTERS=[RouteTo("restartable")]):
        Delivery.objects.all().delete()
        deliveries = Deliveries(WSGIHandler(), URL, "/sms/statuses/health")
        assert deliveries.deliver(deliveries.batch()) == 200
        restartable_postgresql.ctl("restart", "-m", mode)
        back_within_two(deliveries)
        restartable_postgresql.ctl("stop", "-m", mode)
        try:
            gone = deliveries.batch()
            assert deliveries.deliver(gone) == 503
            assert deliveries.health() == 503
        finally:
            restartable_postgresql.ctl("start")
        assert deliveries.health() == 200
        assert deliveries.deliver(gone) == 200
        back_within_two(deliveries)
        stored = set(Delivery.objects.values_list("id_sms", flat=True))
    assert stored == deliveries.acknowledged == set(range(1, 41))


# --- what a new user tripped on (issue 18) ---------------------------------------


def test_a_zone_left_to_utc_or_djangos_default_is_a_warning(aliases: set[str]) -> None:
    assert "smsstatus.W002" in check_ids(SMSSTATUS_TIMEZONE=None)  # TIME_ZONE "UTC"
    assert "smsstatus.W002" in check_ids(SMSSTATUS_TIMEZONE="", TIME_ZONE="Etc/UTC")
    # A zone chosen for the gateway, or a project zone other than UTC, is no warning.
    assert "smsstatus.W002" not in check_ids(SMSSTATUS_TIMEZONE="UTC")
    assert "smsstatus.W002" not in check_ids(
        SMSSTATUS_TIMEZONE=None, TIME_ZONE="Europe/Moscow"
    )


def shown(response: Any) -> tuple[list[str], list[list[str]]]:
    """A changelist's column headers and its rows' cells, as text; asserts that no
    cell refuses to wrap (which pushed the last column off a 1400 px screen)."""
    from django.contrib.admin.templatetags.admin_list import result_headers, results
    from django.utils.html import strip_tags

    assert response.status_code == 200
    cl = response.context["cl"]
    rows = [list(row) for row in results(cl)]
    assert not [cell for row in rows for cell in row if "nowrap" in cell]
    headers = [str(header["text"]) for header in result_headers(cl)]
    return headers, [[strip_tags(cell) for cell in row] for row in rows]


def test_the_admin_shows_labels_and_times_to_the_second_with_their_zone(
    admin_client: Client,
) -> None:
    at = datetime(2026, 11, 26, 9, 14, 2)  # the gateway's wall clock, in Moscow
    post(
        admin_client,
        smsstatus.encode_xml(
            [
                StatusReport(41, time=at, state=Status.NOT_DELIVER, sms=Status.EXPIRED),
                StatusReport(42, time=None, state=Status.PARTLY_DELIVER),
            ]
        ),
    )
    post(admin_client, b'[{"id_sms": "43", "time": "", "state": "sent"}]')
    headers, rows = shown(admin_client.get("/admin/smsstatus/delivery/?o=1"))
    assert headers == [
        "id_sms", "state", "final", "sms", "viber", "time", "changed at"
    ]  # fmt: skip
    (changed,) = {row[6] for row in rows}  # one save: one changed_at
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", changed)
    assert [row[:6] for row in rows] == [
        ["41", "Not delivered", "", "Expired", "-", "2026-11-26 06:14:02 UTC"],
        ["42", "Sent, no report", "", "-", "-", "-"],
    ]
    with override_settings(TIME_ZONE="Asia/Tokyo"):
        _, rows = shown(admin_client.get("/admin/smsstatus/delivery/?o=1"))
        assert rows[0][5] == "2026-11-26 15:14:02 JST"
    with override_settings(USE_TZ=False):  # naive times (W001): no zone to name
        _, rows = shown(admin_client.get("/admin/smsstatus/delivery/?o=1"))
        assert rows[0][5] == "2026-11-26 06:14:02"
    filters = admin_client.get("/admin/smsstatus/delivery/").context["cl"]
    (by_state,) = [f for f in filters.filter_specs if f.title == "state"]
    assert [label for _, label in by_state.lookup_choices] == [
        "Sent", "Sent, no report", "Delivered", "Read", "Not delivered", "Expired"
    ]  # fmt: skip
    page = admin_client.get("/admin/smsstatus/delivery/41/change/").content.decode()
    assert re.search(r"field-state_.*?Not delivered", page, re.S)
    assert re.search(r"field-time_.*?2026-11-26 06:14:02 UTC", page, re.S)
    assert re.search(r"field-viber_.*?readonly\">-<", page, re.S)
    # The rejected items: the same spelling of id_sms, on the list and on the page.
    rejected_headers, rejected = shown(
        admin_client.get("/admin/smsstatus/rejecteditem/")
    )
    assert rejected_headers == ["received at", "id_sms", "reason"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", rejected[0][0])
    from smsstatus.django.models import RejectedItem

    item = RejectedItem.objects.get()
    page = admin_client.get(f"/admin/smsstatus/rejecteditem/{item.pk}/change/")
    assert "Id_sms:" in page.content.decode()
    assert (
        "Id_sms:"
        in admin_client.get("/admin/smsstatus/delivery/41/change/").content.decode()
    )


def test_the_admin_finds_messages_by_the_first_digits_of_their_id(
    admin_client: Client,
) -> None:
    ids = [0, 5, 51, 510023, 5100231, 5100232, 6100231, 2**63 - 1]
    post(
        admin_client,
        smsstatus.encode_xml([StatusReport(i, None, Status.SEND) for i in ids]),
    )

    def found(term: str, page: str = "delivery") -> set[int]:
        response = admin_client.get(f"/admin/smsstatus/{page}/", {"q": term})
        assert response.status_code == 200
        return {row.id_sms for row in response.context["cl"].result_list}

    assert found("51002") == {510023, 5100231, 5100232}
    assert found(" 5100231 ") == {5100231}
    assert found("5") == {5, 51, 510023, 5100231, 5100232}
    assert found("0") == {0}
    assert found("05") == set()
    assert found("9223372036854775807") == {2**63 - 1}
    assert found("922337203685477") == {2**63 - 1}
    assert found("9223372036854775808") == set()
    assert found("1" * 5000) == set()
    assert found("5a") == set()
    assert found("\uff15") == set()  # a full-width 5
    post(admin_client, b'[{"id_sms": "5100233", "time": "", "state": "sent"}]')
    assert found("510023", "rejecteditem") == {5100233}


# --- the dashboard (smsstatus/django/dashboard.py) -------------------------------


def test_the_dashboard_is_for_staff_with_the_view_permission(
    client: Client, alias: str
) -> None:
    from django.contrib.auth.models import Permission, User

    connection = connections[alias]
    connection.ensure_connection()
    table = StatusTable()
    table.create(connection.connection)
    table.save(connection.connection, [report(1, Status.READ), report(2, Status.SEND)])
    table.receive(connection.connection, b"<response><state")  # refused
    url = "/admin/smsstatus/dashboard/"
    assert client.get(url).status_code == 302  # to the login page
    User.objects.filter(username__in=["viewer", "nobody"]).delete()
    nobody = User.objects.create_user("nobody", password="pw", is_staff=True)
    client.force_login(nobody)
    assert client.get(url).status_code == 403
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client.force_login(viewer)
    index = client.get("/admin/smsstatus/")
    assert index.status_code == 200
    assert f'<a href="{url}">Delivery dashboard</a>'.encode() in index.content
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="smsstatus-chart"') == 6
    assert "<dt>messages</dt><dd>2</dd>" in html
    assert "<dt>delivery rate</dt><dd>50.0 %</dd>" in html
    assert "refused #" in html
    assert '<a href="/admin/smsstatus/">SMS delivery statuses</a>' in html
