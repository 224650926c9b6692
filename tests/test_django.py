"""The reusable Django app (smsstatus.django), in this process with Django's test
client, on SQLite and on the session's real PostgreSQL server.

Django is configured once for the module with ``settings.configure()``: two
databases, ``default`` (a SQLite file) and ``postgresql`` (a database on the
session's server, when there is one), and each test routes every model to one of them
with a database router, so the very same view code runs on both backends.
"""

from __future__ import annotations

import io
import logging
import logging.config
import types
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from _snippets import python_blocks

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
from smsstatus.sql import StatusTable

TOKEN = "t" * 24 + "0123456789"
MOSCOW = ZoneInfo("Europe/Moscow")
URL = f"/sms/statuses/{TOKEN}"


def postgresql_settings(request: pytest.FixtureRequest) -> dict[str, Any] | None:
    """A new database on the session's PostgreSQL server, as Django settings; None
    when this machine has no server (the PostgreSQL tests then skip, saying so)."""
    try:
        conninfo = request.getfixturevalue("postgresql")
    except pytest.skip.Exception:
        return None
    import psycopg

    params = dict(part.split("=", 1) for part in conninfo.split())
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS smsstatus_django")
        admin.execute("CREATE DATABASE smsstatus_django")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "smsstatus_django",
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
    postgresql = postgresql_settings(request)
    if postgresql is not None:
        databases["postgresql"] = postgresql
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
    from smsstatus.django.models import Delivery, RejectedItem

    with override_settings(DATABASE_ROUTERS=[RouteTo(request.param)]):
        Delivery.objects.all().delete()
        RejectedItem.objects.all().delete()
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


def test_a_failing_store_acknowledges_nothing_and_sends_no_signal(
    client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from smsstatus.django import views

    def broken(connection: Any, reports: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(views._TABLE, "update", broken)
    with caplog.at_level(logging.ERROR, "smsstatus"), Signals() as signals:
        response = post(client, smsstatus.encode_xml([report(1, Status.SEND)]))
    assert acked(response) == ()
    assert signals.sent == []
    assert "disk full" in caplog.text


def test_a_driver_error_marks_djangos_connection_as_failed(
    alias: str, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # So that Django closes a broken persistent connection (CONN_MAX_AGE) at the
    # end of the request instead of handing it to the next one.
    from smsstatus.django import views

    connection = connections[alias]

    def broken(raw: Any, reports: Any) -> Any:
        raise connection.Database.OperationalError("server closed the connection")

    monkeypatch.setattr(views._TABLE, "update", broken)
    monkeypatch.setattr(connection, "errors_occurred", False)
    response = post(client, smsstatus.encode_xml([report(1, Status.SEND)]))
    assert acked(response) == ()
    assert connection.errors_occurred


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


def test_the_migration_makes_the_table_statustable_creates(alias: str) -> None:
    connection = connections[alias]
    connection.ensure_connection()
    raw = connection.connection
    if alias == "default":
        raw.execute("DROP TABLE IF EXISTS plain_delivery")
        StatusTable("plain_delivery").create(raw)
        ours, theirs = (
            columns(raw, "smsstatus_delivery"),
            columns(raw, "plain_delivery"),
        )
        raw.execute("DROP TABLE plain_delivery")
    else:
        raw.execute("DROP SCHEMA IF EXISTS plain CASCADE")
        raw.execute("CREATE SCHEMA plain")
        raw.execute("SET search_path TO plain")
        try:
            StatusTable().create(raw)
        finally:
            raw.execute("SET search_path TO public")
        ours = columns(raw, "smsstatus_delivery", "public")
        theirs = columns(raw, "smsstatus_delivery", "plain")
        raw.execute("DROP SCHEMA plain CASCADE")
    assert ours == theirs
    assert [column[0] for column in ours] == [
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


def test_the_documented_logging_settings_hide_the_token(
    aliases: set[str], capsys: pytest.CaptureFixture[str]
) -> None:
    (snippet,) = python_blocks("docs/django.md", "LOGGING = {")
    namespace: dict[str, Any] = {}
    exec(compile(snippet, "docs/django.md", "exec"), namespace)
    loggers = [logging.getLogger(name) for name in ("django.server", "django.request")]
    saved = [(x.handlers[:], x.propagate, x.level) for x in loggers]
    try:
        logging.config.dictConfig(namespace["LOGGING"])
        # What runserver and Django's request handling log, with the same arguments.
        loggers[0].info('"%s" %s %s', f"POST {URL} HTTP/1.1", "200", "64")
        loggers[1].warning("Not Found: %s", URL + "/")
    finally:
        for logger, (handlers, propagate, level) in zip(loggers, saved, strict=True):
            logger.handlers[:] = handlers
            logger.propagate, logger.level = propagate, level
    err = capsys.readouterr().err
    assert TOKEN not in err
    assert err.splitlines() == [
        '"POST /sms/statuses/*** HTTP/1.1" 200 64',
        "Not Found: /sms/statuses/***/",
    ]


def test_the_view_stores_outside_atomic_requests(
    client: Client, alias: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ATOMIC_REQUESTS is on for both databases here; the view opts out of it on each,
    # so that StatusTable begins (BEGIN IMMEDIATE on SQLite) and commits the batch.
    from smsstatus.django import views

    seen: list[bool] = []
    update = views._TABLE.update

    def spy(connection: Any, reports: Any) -> Any:
        seen.append(connections[alias].in_atomic_block)
        return update(connection, reports)

    monkeypatch.setattr(views._TABLE, "update", spy)
    assert acked(post(client, smsstatus.encode_xml([report(1, Status.SEND)]))) == (1,)
    assert seen == [False]


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
