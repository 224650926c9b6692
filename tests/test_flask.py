"""smsstatus.flask: the blueprint, with Flask's test client, on SQLite and on the
session's real PostgreSQL server (the `database` fixture of conftest.py)."""

from __future__ import annotations

import contextlib
import io
import logging
import time
from contextlib import closing
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

pytest.importorskip("flask")

from _postgres import Database
from _snippets import python_blocks
from flask import Flask
from flask.testing import FlaskClient

import smsstatus
from smsstatus import Limits, ReportError, Status, StatusReport
from smsstatus._observe import Document, add_sink, remove_sink
from smsstatus.flask import blueprint
from smsstatus.sql import StatusTable, connect_sqlite
from smsstatus.testing import Gateway, sample_reports

TOKEN = "f" * 30 + "-flask-token"
URL = f"/sms/statuses/{TOKEN}"
MOSCOW = ZoneInfo("Europe/Moscow")


def make_app(database: Database, **options: Any) -> Flask:
    with closing(database.connect()) as connection:
        StatusTable().create(connection)
    app = Flask(__name__)
    app.config.update(SMSSTATUS_TOKEN=TOKEN, SMSSTATUS_TIMEZONE="Europe/Moscow")
    app.register_blueprint(
        blueprint(lambda: closing(database.connect()), **options), url_prefix="/sms"
    )
    return app


@pytest.fixture
def client(database: Database) -> FlaskClient:
    return make_app(database).test_client()


def stored(database: Database) -> dict[int, StatusReport]:
    with closing(database.connect()) as connection:
        return StatusTable().load(connection, range(100))


def report(id_sms: int, state: Status, minute: int = 0) -> StatusReport:
    return StatusReport(id_sms, time=datetime(2026, 11, 26, 9, minute), state=state)


def in_zone(report: StatusReport, zone: ZoneInfo) -> StatusReport:
    """The report as stored: its wall clock read in `zone`."""
    time = report.time and report.time.replace(tzinfo=zone)
    return attrs.evolve(report, time=time)


def as_stored(*reports: StatusReport) -> dict[int, StatusReport]:
    # The wall clock read in SMSSTATUS_TIMEZONE; load gives it back with its offset.
    return {r.id_sms: in_zone(r, MOSCOW) for r in reports}


def acked(response: Any, format: str = "xml") -> tuple[int, ...]:
    assert response.status_code == 200, response.data
    return smsstatus.decode_ack(response.data, format)


@pytest.mark.parametrize("url", [URL, URL + "/"])
def test_stores_and_acknowledges_with_or_without_a_slash(
    client: FlaskClient, database: Database, url: str
) -> None:
    batch = [
        report(1, Status.DELIVER, 3),
        report(1, Status.SEND),
        report(2, Status.READ),
    ]
    response = client.post(url, data=smsstatus.encode_xml(batch))
    assert response.content_type == "text/xml; charset=utf-8"
    assert acked(response) == (1, 2)
    assert stored(database) == as_stored(batch[0], batch[2])
    response = client.post(url, data=smsstatus.encode_json([report(1, Status.SEND)]))
    assert acked(response, "json") == (1,)
    assert stored(database) == as_stored(batch[0], batch[2])
    assert client.get(url).status_code == 405


@pytest.mark.parametrize("token", ["wrong", TOKEN[:-1], TOKEN + "x", "\u00e9" * 40])
def test_a_wrong_token_is_not_found(
    client: FlaskClient, database: Database, token: str
) -> None:
    body = smsstatus.encode_xml([report(1, Status.SEND)])
    assert client.post(f"/sms/statuses/{token}", data=body).status_code == 404
    assert stored(database) == {}


@pytest.mark.parametrize(
    "config", [{}, {"SMSSTATUS_TOKEN": ""}, {"SMSSTATUS_TOKEN": "x" * 31}]
)
def test_refuses_to_register_without_a_usable_token(config: dict[str, str]) -> None:
    app = Flask(__name__)
    app.config.update(config)
    with pytest.raises(ValueError, match="SMSSTATUS_TOKEN"):
        app.register_blueprint(blueprint(lambda: closing(io.BytesIO())))


def test_refuses_to_register_with_an_unknown_zone() -> None:
    app = Flask(__name__)
    app.config.update(SMSSTATUS_TOKEN=TOKEN, SMSSTATUS_TIMEZONE="Nowhere/Atlantis")
    with pytest.raises(KeyError, match="Atlantis"):
        app.register_blueprint(blueprint(lambda: closing(io.BytesIO())))


def test_the_zone_defaults_to_utc(database: Database) -> None:
    app = make_app(database)
    del app.config["SMSSTATUS_TIMEZONE"]
    body = smsstatus.encode_xml([report(1, Status.SEND)])
    acked(app.test_client().post(URL, data=body))
    assert stored(database)[1].time == datetime(2026, 11, 26, 9, tzinfo=ZoneInfo("UTC"))


def test_reads_a_chunked_body(client: FlaskClient, database: Database) -> None:
    body = smsstatus.encode_xml([report(1, Status.SEND), report(2, Status.SEND)])
    # No Content-Length: the body ends where the (de-chunked) stream ends.
    response = client.post(
        URL,
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert acked(response) == (1, 2)


def test_an_oversized_body_is_refused(database: Database) -> None:
    client = make_app(database, limits=Limits(max_bytes=1000)).test_client()
    body = smsstatus.encode_xml([report(1, Status.SEND)]) + b" " * 1000
    assert client.post(URL, data=body).status_code == 413
    chunked = client.post(
        URL,
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert chunked.status_code == 413
    assert client.post(URL, data=body[:1000]).status_code == 200
    assert set(stored(database)) == {1}


def test_an_oversized_body_is_a_document_for_the_sinks(database: Database) -> None:
    client = make_app(database, limits=Limits(max_bytes=1000)).test_client()
    documents: list[Document] = []
    add_sink(documents.append)
    try:
        assert client.post(URL, data=b" " * 1500).status_code == 413
        chunked = client.post(
            URL,
            input_stream=io.BytesIO(b" " * 1500),
            headers={"Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )
        assert chunked.status_code == 413
    finally:
        remove_sink(documents.append)
    # The declared length; without one, as far as it was read.
    assert [(d.code, d.size, d.body) for d in documents] == [
        (413, 1500, None),
        (413, 1001, None),
    ]


def test_on_error_keeps_bad_items(database: Database) -> None:
    kept: list[ReportError] = []

    def keep(error: ReportError) -> bool:
        kept.append(error)
        return True

    client = make_app(database, on_error=keep).test_client()
    body = (
        b'[{"id_sms": "1", "time": "", "state": "send"}, {"id_sms": "2", "state": "x"}]'
    )
    assert acked(client.post(URL, data=body), "json") == (1, 2)
    assert [error.id_sms for error in kept] == [2]


def rows(database: Database, sql: str) -> list[tuple[Any, ...]]:
    with closing(database.connect()) as connection:
        cursor = connection.cursor()
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]


def test_a_bad_item_is_kept_once_and_acknowledged_each_time(
    client: FlaskClient, database: Database
) -> None:
    body = b'[{"id_sms": "1", "time": "", "state": "send"}, {"id_sms": "2"}]'
    for _ in range(4):
        assert acked(client.post(URL, data=body), "json") == (1, 2)
    assert rows(database, "SELECT id_sms, raw FROM smsstatus_delivery_rejected") == [
        (2, '{"id_sms": "2"}')
    ]
    # A Webhook row per POST, with the peer's address.
    assert (
        rows(
            database,
            "SELECT remote, code, taken, rejected FROM smsstatus_delivery_webhook",
        )
        == [("127.0.0.1", 200, 2, 1)] * 4
    )


def test_an_explicit_on_error_still_decides(database: Database) -> None:
    client = make_app(database, on_error=lambda error: False).test_client()
    body = b'[{"id_sms": "1", "time": "", "state": "send"}, {"id_sms": "2"}]'
    assert acked(client.post(URL, data=body), "json") == (1,)


def failing_app(connect: Any, **options: Any) -> FlaskClient:
    app = Flask(__name__)
    app.config.update(SMSSTATUS_TOKEN=TOKEN)
    app.register_blueprint(blueprint(connect, **options))
    return app.test_client()


def unreachable() -> Any:
    raise OSError("connection refused")


@pytest.mark.parametrize("on_error", [None, lambda error: True])
def test_a_database_error_is_answered_503_never_a_500_page(
    tmp_path: Any, caplog: pytest.LogCaptureFixture, on_error: Any
) -> None:
    # No table: the store fails; no server: connect fails.
    empty = Database("sqlite", str(tmp_path / "empty.sqlite3"))
    body = smsstatus.encode_xml([report(1, Status.SEND)])
    for connect in (lambda: closing(empty.connect()), unreachable):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            response = failing_app(connect, on_error=on_error).post(
                f"/statuses/{TOKEN}", data=body
            )
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert b"<html" not in response.data.lower()
        assert TOKEN not in caplog.text
        assert body.decode() not in caplog.text
        # One line, on the smsstatus logger.
        (line,) = caplog.records
        assert (line.name, line.levelname) == ("smsstatus", "ERROR")
        assert line.getMessage().startswith("delivery not stored, answered 503")


def test_the_health_endpoint_reads_the_table(
    client: FlaskClient, tmp_path: Any
) -> None:
    response = client.get("/sms/statuses/health")
    assert (response.status_code, response.data) == (200, b"ok\n")
    empty = Database("sqlite", str(tmp_path / "empty.sqlite3"))
    for connect in (lambda: closing(empty.connect()), unreachable):
        response = failing_app(connect).get("/statuses/health")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"


def test_the_waits_are_bounded_for_the_delivery_only(
    postgresql_database: Database,
) -> None:
    with closing(postgresql_database.connect()) as connection:
        StatusTable().create(connection)
    # One connection the application keeps (as a pool would), given to every request.
    connection = postgresql_database.connect()
    app = Flask(__name__)
    app.config.update(SMSSTATUS_TOKEN=TOKEN, SMSSTATUS_DB_TIMEOUT=0.2)
    app.register_blueprint(
        blueprint(lambda: contextlib.nullcontext(connection)), url_prefix="/sms"
    )
    client = app.test_client()
    body = smsstatus.encode_xml([report(1, Status.SEND)])
    with closing(postgresql_database.connect()) as locker:
        locker.execute("LOCK TABLE smsstatus_delivery IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        assert client.post(URL, data=body).status_code == 503
        assert time.monotonic() - started < 5
    assert acked(client.post(URL, data=body)) == (1,)
    # SET LOCAL: the application's connection keeps no bound of ours.
    assert connection.execute("SHOW lock_timeout").fetchone() == ("0",)
    assert connection.execute("SHOW statement_timeout").fetchone() == ("0",)
    connection.close()


# --- the set-up shown in the README and the manual ------------------------------


@pytest.mark.usefixtures("collect_on_this_thread")  # the set-up uses per_thread
@pytest.mark.parametrize("page", ["README.md", "docs/flask.md"])
def test_the_documented_set_up_receives(
    page: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (snippet,) = python_blocks(page, "smsstatus.flask.blueprint")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SMSSTATUS_TOKEN", TOKEN)
    namespace: dict[str, Any] = {"__name__": "documented_app"}
    exec(compile(snippet, page, "exec"), namespace)
    reports = sample_reports(50, seed=1)
    prefix = "/sms" if "url_prefix" in snippet else ""
    delivery = Gateway(shuffle=True, duplicate=0.3, seed=1).deliver_wsgi(
        namespace["app"], reports, path=f"{prefix}/statuses/{TOKEN}"
    )
    assert delivery.acknowledged == {r.id_sms for r in reports}
    with closing(connect_sqlite(tmp_path / "statuses.sqlite3")) as connection:
        rows = StatusTable().load(connection, [r.id_sms for r in reports])
    assert rows == {r.id_sms: in_zone(r, MOSCOW) for r in reports}


def test_the_documented_werkzeug_log_filter(caplog: pytest.LogCaptureFixture) -> None:
    (snippet,) = python_blocks("docs/flask.md", 'getLogger("werkzeug")')
    logger = logging.getLogger("werkzeug")
    logger.filters.clear()  # the example app's own, if it was imported
    try:
        exec(compile(snippet, "docs/flask.md", "exec"), {})
        with caplog.at_level(logging.INFO, "werkzeug"):
            logger.info(
                '%s - - "%s" %s -',
                "127.0.0.1",
                f"POST /sms/statuses/{TOKEN} HTTP/1.1",
                "200",
            )
    finally:
        logger.filters.clear()
    assert caplog.messages == ['127.0.0.1 - - "POST /sms/statuses/*** HTTP/1.1" 200 -']
