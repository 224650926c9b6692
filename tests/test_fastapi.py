"""smsstatus.fastapi: the router, with Starlette's test client on SQLite and on the
session's real PostgreSQL server, and its body limit measured on the ASGI interface
itself (the test client reads a whole request body into memory before the app sees
it; a real server hands it over piece by piece, as the tests here do)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

pytest.importorskip("fastapi")

from _postgres import Database
from _snippets import python_blocks
from fastapi import FastAPI
from fastapi.testclient import TestClient

import smsstatus
from smsstatus import Limits, ReportError, Status, StatusReport
from smsstatus._observe import Document, add_sink, remove_sink
from smsstatus.fastapi import router
from smsstatus.sql import StatusTable, connect_sqlite
from smsstatus.testing import Gateway, sample_reports

TOKEN = "a" * 28 + "-fastapi-token"
URL = f"/sms/statuses/{TOKEN}"
MIB = 1024 * 1024


def make_app(database: Database, **options: Any) -> FastAPI:
    with closing(database.connect()) as connection:
        StatusTable().create(connection)
    app = FastAPI()
    options.setdefault("timezone", "Europe/Moscow")
    app.include_router(
        router(token=TOKEN, connect=lambda: closing(database.connect()), **options),
        prefix="/sms",
    )
    return app


@pytest.fixture
def client(database: Database) -> TestClient:
    return TestClient(make_app(database))


def stored(database: Database) -> dict[int, StatusReport]:
    with closing(database.connect()) as connection:
        return StatusTable().load(connection, range(100))


def report(id_sms: int, state: Status, minute: int = 0) -> StatusReport:
    return StatusReport(id_sms, time=datetime(2026, 11, 26, 9, minute), state=state)


def acked(response: Any, format: str = "xml") -> tuple[int, ...]:
    assert response.status_code == 200, response.content
    return smsstatus.decode_ack(response.content, format)


@pytest.mark.parametrize("url", [URL, URL + "/"])
def test_stores_and_acknowledges_with_or_without_a_slash(
    client: TestClient, database: Database, url: str
) -> None:
    batch = [
        report(1, Status.DELIVER, 3),
        report(1, Status.SEND),
        report(2, Status.READ),
    ]
    response = client.post(url, content=smsstatus.encode_xml(batch))
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert acked(response) == (1, 2)
    moscow = ZoneInfo("Europe/Moscow")
    assert stored(database) == {
        r.id_sms: StatusReport(
            r.id_sms, time=r.time.replace(tzinfo=moscow), state=r.state
        )  # type: ignore[union-attr]
        for r in (batch[0], batch[2])
    }
    response = client.post(url, content=smsstatus.encode_json([report(3, Status.SEND)]))
    assert response.headers["content-type"] == "application/json"
    assert acked(response, "json") == (3,)
    assert client.get(url).status_code == 405
    assert len(client.get("/openapi.json").json()["paths"]) == 0  # the token stays out


@pytest.mark.parametrize("token", ["wrong", TOKEN[:-1], TOKEN + "x", "\u00e9" * 40])
def test_a_wrong_token_is_not_found(
    client: TestClient, database: Database, token: str
) -> None:
    body = smsstatus.encode_xml([report(1, Status.SEND)])
    assert client.post(f"/sms/statuses/{token}", content=body).status_code == 404
    assert stored(database) == {}


@pytest.mark.parametrize("token", ["", "x" * 31])
def test_refuses_a_missing_or_short_token(token: str) -> None:
    with pytest.raises(ValueError, match=r"is (missing|shorter)"):
        router(token=token, connect=lambda: closing(None))


def test_takes_a_zone_object(database: Database) -> None:
    client = TestClient(make_app(database, timezone=ZoneInfo("Asia/Tokyo")))
    acked(client.post(URL, content=smsstatus.encode_xml([report(1, Status.SEND)])))
    assert stored(database)[1].time == datetime(
        2026, 11, 26, 9, tzinfo=ZoneInfo("Asia/Tokyo")
    )


def test_reads_a_chunked_body(client: TestClient) -> None:
    body = smsstatus.encode_xml([report(1, Status.SEND), report(2, Status.SEND)])
    pieces = iter([body[:100], body[100:]])  # an iterator: sent chunked
    assert acked(client.post(URL, content=pieces)) == (1, 2)


def test_async_on_error(database: Database) -> None:
    kept: list[ReportError] = []

    async def keep(error: ReportError) -> bool:
        kept.append(error)
        return True

    client = TestClient(make_app(database, on_error=keep))
    body = (
        b'[{"id_sms": "1", "time": "", "state": "send"}, {"id_sms": "2", "state": "x"}]'
    )
    assert acked(client.post(URL, content=body), "json") == (1, 2)
    assert [error.id_sms for error in kept] == [2]


def rows(database: Database, sql: str) -> list[tuple[Any, ...]]:
    with closing(database.connect()) as connection:
        cursor = connection.cursor()
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]


def test_a_bad_item_is_kept_once_and_acknowledged_each_time(
    client: TestClient, database: Database
) -> None:
    body = b'[{"id_sms": "1", "time": "", "state": "send"}, {"id_sms": "2"}]'
    for _ in range(4):
        assert acked(client.post(URL, content=body), "json") == (1, 2)
    assert rows(database, "SELECT id_sms, raw FROM smsstatus_delivery_rejected") == [
        (2, '{"id_sms": "2"}')
    ]
    # A Webhook row per POST, with the peer's address (the test client's).
    assert (
        rows(
            database,
            "SELECT remote, code, taken, rejected FROM smsstatus_delivery_webhook",
        )
        == [("testclient", 200, 2, 1)] * 4
    )


def unreachable() -> Any:
    raise OSError("connection refused")


@pytest.mark.parametrize("on_error", [None, lambda error: True])
def test_a_database_error_is_answered_503(
    tmp_path: Any, caplog: pytest.LogCaptureFixture, on_error: Any
) -> None:
    empty = Database("sqlite", str(tmp_path / "empty.sqlite3"))
    body = smsstatus.encode_xml([report(1, Status.SEND)])
    for connect in (lambda: closing(empty.connect()), unreachable):
        app = FastAPI()
        app.include_router(router(token=TOKEN, connect=connect, on_error=on_error))
        caplog.clear()
        with caplog.at_level(logging.INFO):
            response = TestClient(app).post(f"/statuses/{TOKEN}", content=body)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        # (The test client's own log, httpx's, names the URL it requested.)
        served = [
            r.getMessage() for r in caplog.records if not r.name.startswith("httpx")
        ]
        (line,) = served  # one line, without the token
        assert line.startswith("delivery not stored, answered 503")
        assert TOKEN not in line


def test_the_health_endpoint_reads_the_table(client: TestClient, tmp_path: Any) -> None:
    response = client.get("/sms/statuses/health")
    assert (response.status_code, response.content) == (200, b"ok\n")
    empty = Database("sqlite", str(tmp_path / "empty.sqlite3"))
    for connect in (lambda: closing(empty.connect()), unreachable):
        app = FastAPI()
        app.include_router(router(token=TOKEN, connect=connect))
        response = TestClient(app).get("/statuses/health")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"


# --- the body limit, on the ASGI interface ----------------------------------------


def call(
    app: FastAPI, headers: list[tuple[bytes, bytes]], total: int, piece: bytes
) -> tuple[int, int]:
    """POST `total` bytes in `piece`s through the ASGI interface, as a server would;
    returns the answer's status and how many bytes the app asked for."""
    sent = 0
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent >= total:
            await asyncio.sleep(3600)  # a client that sends nothing more
        sent += len(piece)
        return {"type": "http.request", "body": piece, "more_body": sent < total}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": URL,
        "raw_path": URL.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 30))
    return status[0], sent


def test_a_64_mib_chunked_body_is_refused_without_being_held(
    database: Database,
) -> None:
    app = make_app(database, limits=Limits(max_bytes=4 * MIB))
    piece = b" " * (64 * 1024)
    tracemalloc.start()
    try:
        status, read = call(app, [(b"transfer-encoding", b"chunked")], 64 * MIB, piece)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status == 413
    assert read <= 4 * MIB + len(piece)  # it stopped reading just past the limit
    print(f"peak traced memory for a 64 MiB body: {peak / MIB:.1f} MiB")
    assert peak < 16 * MIB


def test_a_declared_length_over_the_limit_is_refused_before_reading(
    database: Database,
) -> None:
    app = make_app(database)
    length = str(Limits().max_bytes + 1).encode()
    status, read = call(app, [(b"content-length", length)], 64 * MIB, b" " * 1024)
    assert (status, read) == (413, 0)


def test_an_oversized_body_is_a_document_for_the_sinks(database: Database) -> None:
    app = make_app(database, limits=Limits(max_bytes=1000))
    documents: list[Document] = []
    add_sink(documents.append)
    try:
        assert call(app, [(b"content-length", b"1500")], 1500, b" " * 1500)[0] == 413
        chunked = [(b"transfer-encoding", b"chunked")]
        assert call(app, chunked, 1500, b" " * 600)[0] == 413
    finally:
        remove_sink(documents.append)
    # The declared length; without one, as far as it was read.
    assert [(d.code, d.size, d.body) for d in documents] == [
        (413, 1500, None),
        (413, 1200, None),
    ]


# --- the set-up shown in the README and the manual ------------------------------


@pytest.mark.parametrize("page", ["README.md", "docs/fastapi.md"])
def test_the_documented_set_up_receives(
    page: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (snippet,) = python_blocks(page, "smsstatus.fastapi.router")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SMSSTATUS_TOKEN", TOKEN)
    namespace: dict[str, Any] = {}
    exec(compile(snippet, page, "exec"), namespace)
    prefix = "/sms" if "prefix=" in snippet else ""
    client = TestClient(namespace["app"])

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        url = f"{prefix}/statuses/{TOKEN}"
        answer = client.post(url, content=body, headers={"Content-Type": content_type})
        return answer.status_code, answer.content

    reports = sample_reports(50, seed=1)
    delivery = Gateway(shuffle=True, duplicate=0.3, seed=1).deliver(send, reports)
    assert delivery.acknowledged == {r.id_sms for r in reports}
    moscow = ZoneInfo("Europe/Moscow")
    with closing(connect_sqlite(tmp_path / "statuses.sqlite3")) as connection:
        rows = StatusTable().load(connection, [r.id_sms for r in reports])
    assert rows == {
        r.id_sms: attrs.evolve(r, time=r.time and r.time.replace(tzinfo=moscow))
        for r in reports
    }


@pytest.mark.parametrize("db_threads", [1, 2])
def test_db_threads_bounds_the_deliveries_using_the_database_at_once(
    database: Database, db_threads: int
) -> None:
    import httpx

    with closing(database.connect()) as connection:
        StatusTable().create(connection)
    lock = threading.Lock()
    inside, most = [0], [0]

    @contextmanager
    def connect() -> Iterator[Any]:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            time.sleep(0.05)  # long enough for the other deliveries to arrive
            with closing(database.connect()) as connection:
                yield connection
        finally:
            with lock:
                inside[0] -= 1

    app = FastAPI()
    app.include_router(router(token=TOKEN, connect=connect, db_threads=db_threads))

    async def deliver_six() -> list[Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            bodies = [smsstatus.encode_xml([report(n, Status.SEND)]) for n in range(6)]
            return await asyncio.gather(
                *(http.post(f"/statuses/{TOKEN}", content=body) for body in bodies)
            )

    answers = asyncio.run(deliver_six())
    assert [acked(answer) for answer in answers] == [(n,) for n in range(6)]
    assert most[0] == db_threads
    assert set(stored(database)) == set(range(6))


def test_db_threads_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="db_threads must be at least 1, not 0"):
        router(token=TOKEN, connect=lambda: closing(None), db_threads=0)
