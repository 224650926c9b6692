"""The FastAPI example app (examples/fastapi_app): with Starlette's TestClient, and
served by uvicorn on 127.0.0.1 to the gateway simulator.

The router itself is tested in test_fastapi.py; here, that the example wires it as
its README says and runs under the server the README names."""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from _snippets import python_blocks

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

import uvicorn
from starlette.testclient import TestClient

import smsstatus
from smsstatus.sql import StatusTable, connect_sqlite
from smsstatus.testing import Gateway, sample_reports

sys.path.insert(0, str(Path(__file__).parents[1] / "examples" / "fastapi_app"))
import fastapi_statuses

EXAMPLES = Path(__file__).parents[1] / "examples"

TOKEN = "fastapi-example-token-0123456789abcdef"
MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "statuses.sqlite3"


def stored(database: Path, ids: list[int]) -> dict[int, smsstatus.StatusReport]:
    with closing(connect_sqlite(database)) as connection:
        return StatusTable().load(connection, ids)


@pytest.mark.parametrize("name", ["statuses.xml", "statuses.json"])
def test_stores_the_example_payloads(database: Path, name: str) -> None:
    app = fastapi_statuses.create_app(
        token=TOKEN, database=str(database), timezone="Europe/Moscow"
    )
    body = (EXAMPLES / name).read_bytes()
    with TestClient(app) as client:
        response = client.post(f"/statuses/{TOKEN}", content=body)
        assert client.post("/statuses/wrong", content=body).status_code == 404
    assert response.status_code == 200
    good = smsstatus.decode(body, tz=MOSCOW).reports
    ids = [r.id_sms for r in good]
    # Eleven good items; the twelfth is invalid, kept and so acknowledged too.
    (bad,) = smsstatus.decode(body).errors
    assert smsstatus.decode_ack(response.content, name.split(".")[1]) == (
        *ids,
        bad.id_sms,
    )
    assert stored(database, ids) == {r.id_sms: r for r in good}


def test_needs_a_token(database: Path) -> None:
    with pytest.raises(ValueError, match="SMSSTATUS_TOKEN"):
        fastapi_statuses.create_app(token="", database=str(database))


@contextmanager
def serving(app: Any, **config: Any) -> Iterator[str]:
    """`app` under uvicorn, in a thread, on a socket opened here; yields the URL of
    the status endpoint."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, **{"log_level": "warning", **config}))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]})
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/statuses/{TOKEN}"
    finally:
        server.should_exit = True
        thread.join()
        listener.close()


@pytest.fixture
def served(database: Path) -> Iterator[str]:
    app = fastapi_statuses.create_app(
        token=TOKEN, database=str(database), timezone="Europe/Moscow"
    )
    with serving(app) as url:
        yield url


def test_under_uvicorn_a_disordered_delivery_arrives_whole(
    served: str, database: Path
) -> None:
    reports = sample_reports(300, seed=5)
    gateway = Gateway("json", batch_size=40, shuffle=True, duplicate=0.3, seed=5)
    delivery = gateway.deliver_http(served, reports)
    ids = [r.id_sms for r in reports]
    assert delivery.acknowledged == set(ids)
    assert not delivery.lost
    moscow = {
        r.id_sms: r
        for r in smsstatus.decode(smsstatus.encode_json(reports), tz=MOSCOW).reports
    }
    assert stored(database, ids) == moscow


UVICORN_LOGGERS = [
    logging.getLogger(name)
    for name in ("uvicorn.access", "uvicorn.error", "uvicorn.asgi")
]


def failing_mid_request(app: Any) -> Any:
    """`app`, except that a request with the header ``x-fail`` fails after reading
    its body's first piece, with an error quoting its path (as some do)."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and (b"x-fail", b"1") in scope["headers"]:
            await receive()
            raise RuntimeError(f"cannot store what came to {scope['path']}")
        await app(scope, receive, send)

    return wrapped


def test_the_documented_uvicorn_log_filters_hide_the_token_in_every_log(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (snippet,) = python_blocks("docs/fastapi.md", "RedactToken")
    for logger in UVICORN_LOGGERS:
        logger.filters.clear()  # the example's own, added when it was imported
    exec(compile(snippet, "docs/fastapi.md", "exec"), {})
    try:
        app = fastapi_statuses.create_app(token=TOKEN, database=str(database))
        with serving(failing_mid_request(app), log_level="trace") as url:
            body = smsstatus.encode_xml(sample_reports(3, seed=1))
            assert Gateway().deliver_http(url, body).lost == set()
            request = urllib.request.Request(url, body, headers={"x-fail": "1"})
            with pytest.raises(urllib.error.HTTPError) as failed:
                urllib.request.urlopen(request, timeout=30)
            with failed.value as answer:
                assert answer.code == 500
    finally:
        for logger in UVICORN_LOGGERS:
            logger.filters.clear()
    log = capsys.readouterr()
    logged = log.out + log.err
    assert TOKEN not in logged
    assert "POST /statuses/*** HTTP/1.1" in logged  # the access log
    assert "RuntimeError: cannot store what came to /statuses/***" in logged
    assert "'path': '/statuses/***'" in logged  # the ASGI scope, at trace level
