"""The receivers ``bench/load.py`` serves, and how it starts each on a real server.

Strategy.  Each receiver is an application factory that gunicorn or uvicorn imports
from this directory in every worker process, reading the database from the
environment (`ENVIRONMENT`): the run's parent process makes the tables, starts the
server on 127.0.0.1 and a free port, and stops it at the end.  Two receivers are
the yardsticks, each doing the library's work and nothing else: `bare_wsgi` on
gunicorn (read the body, `StatusTable.receive` on a connection kept per thread,
answer the `Ack`) and `bare_asgi` on uvicorn (the same in the event loop, on a
connection kept per worker).  Every other receiver is measured against the one on
its server (`BASELINE`).  All read the times in the gateway's zone (`ZONE`), as the
README sets them up.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from _storage import Database

from smsstatus import receive_batch
from smsstatus.sql import StatusTable, per_thread

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "django_app"
ENVIRONMENT = "SMSSTATUS_LOAD_DATABASE"  # kind, target and schema, tab-separated
DJANGO = "SMSSTATUS_LOAD_DJANGO"  # "per-request": no CONN_MAX_AGE, no WAL (before)
TOKEN = "load-run-token-0123456789abcdefghijklmnopqrstuvwxyz"
ZONE = "Europe/Moscow"

#: Each receiver's server and what it is.
RECEIVERS = {
    "wsgi": ("gunicorn", "bare WSGI function: `receive` on a kept connection"),
    "app": ("gunicorn", "0.2's path: `receive_batch` + `save`, kept connection"),
    "flask": ("gunicorn", "Flask, as the README: `per_thread`"),
    "flask-per-delivery": ("gunicorn", "Flask, a connection per delivery (0.2, 0.3)"),
    "django": ("gunicorn", "Django, as the README: persistent connections, WAL"),
    "django-per-request": (
        "gunicorn",
        "Django, a connection per request, no WAL (0.2, 0.3)",
    ),
    "asgi": ("uvicorn", "bare ASGI function: `receive` on a kept connection"),
    "asgi-thread": ("uvicorn", "the same, `receive` in anyio's worker threads"),
    "fastapi": ("uvicorn", "FastAPI, as the README: `per_thread`"),
    "fastapi-per-delivery": (
        "uvicorn",
        "FastAPI, a connection per delivery (0.2, 0.3)",
    ),
    "serve": ("uvicorn", "`smsstatus serve` (a log line per POST)"),
}
BASELINE = {"gunicorn": "wsgi", "uvicorn": "asgi"}
# The application factories each server imports (gunicorn calls the expression).
WSGI = {
    "wsgi": "bare_wsgi()",
    "app": "make_app()",
    "flask": "flask_app()",
    "flask-per-delivery": "flask_app(True)",
}
ASGI = {
    "asgi": "bare_asgi",
    "asgi-thread": "bare_asgi_threaded",
    "fastapi": "fastapi_app",
    "fastapi-per-delivery": "fastapi_per_delivery",
}


def database() -> Database:
    return Database(*os.environ[ENVIRONMENT].split("\t"))


def _answer(ack: Any, start_response: Callable[..., Any]) -> list[bytes]:
    """The WSGI answer of `ack`."""
    start_response(
        f"{ack.status} -",
        [("Content-Type", ack.content_type), ("Content-Length", str(len(ack.body)))],
    )
    return [ack.body]


def bare_wsgi() -> Callable[..., Iterable[bytes]]:
    """The library's work in a WSGI function: one connection kept per thread."""
    place, table, zone = database(), StatusTable(), ZoneInfo(ZONE)
    local = threading.local()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = place.connect()
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        ack = table.receive(connection, body, tz=zone, remote=environ["REMOTE_ADDR"])
        return _answer(ack, start_response)

    return app


def bare_asgi(threaded: bool = False) -> Callable[..., Any]:
    """The library's work in an ASGI function (run with ``--lifespan off``): one
    connection kept per worker, the store run in the event loop; `threaded`, in
    anyio's worker threads as Starlette runs a blocking function (a connection
    kept per thread)."""
    import anyio.to_thread

    place, table, zone = database(), StatusTable(), ZoneInfo(ZONE)
    connect = per_thread(place.connect)

    def store(body: bytes, remote: str) -> Any:
        with connect() as connection:
            return table.receive(connection, body, tz=zone, remote=remote)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body, remote = b"".join(chunks), scope["client"][0]
        if threaded:
            ack = await anyio.to_thread.run_sync(store, body, remote)
        else:
            ack = store(body, remote)
        headers = [
            (b"content-type", ack.content_type.encode("latin-1")),
            (b"content-length", str(len(ack.body)).encode("ascii")),
        ]
        await send(
            {"type": "http.response.start", "status": ack.status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": ack.body})

    return app


def bare_asgi_threaded() -> Callable[..., Any]:
    return bare_asgi(threaded=True)


def make_app() -> Callable[..., Iterable[bytes]]:
    """0.2's receiver: `receive_batch` + `StatusTable.save`, one connection per
    thread (no ledger: no history, no webhook rows)."""
    place, table, zone = database(), StatusTable(), ZoneInfo(ZONE)
    local = threading.local()

    def save(reports: Any) -> frozenset[int]:
        if not hasattr(local, "connection"):
            local.connection = place.connect()
        return table.save(local.connection, reports)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        ack = receive_batch(environ["wsgi.input"].read(length), save, tz=zone)
        return _answer(ack, start_response)

    return app


def connector(*, per_delivery: bool) -> Callable[[], Any]:
    """The README's `connect` (`per_thread`), or a connection per delivery."""
    place = database()
    if per_delivery:
        return lambda: closing(place.connect())
    return per_thread(place.connect)


def flask_app(per_delivery: bool = False) -> Any:
    """The README's Flask app, on the run's database."""
    from flask import Flask

    import smsstatus.flask

    app = Flask("load")
    app.config["SMSSTATUS_TOKEN"] = TOKEN
    app.config["SMSSTATUS_TIMEZONE"] = ZONE
    connect = connector(per_delivery=per_delivery)
    app.register_blueprint(smsstatus.flask.blueprint(connect))
    return app


def fastapi_app(per_delivery: bool = False) -> Any:
    """The README's FastAPI app, on the run's database."""
    from fastapi import FastAPI

    import smsstatus.fastapi

    app = FastAPI()
    connect = connector(per_delivery=per_delivery)
    # As the README: SQLite's deliveries take turns on one thread (0.3's set-up:
    # Starlette's thread pool).
    one = database().kind == "sqlite" and not per_delivery
    router = smsstatus.fastapi.router(
        token=TOKEN, connect=connect, timezone=ZONE, db_threads=1 if one else None
    )
    app.include_router(router)
    return app


def fastapi_per_delivery() -> Any:
    return fastapi_app(per_delivery=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(
    receiver: str, place: Database, *, workers: int, threads: int
) -> tuple[subprocess.Popen[bytes], int, str]:
    """Start `receiver` on `place`: its server process, port and POST path."""
    port = free_port()
    environment = {
        **os.environ,
        ENVIRONMENT: f"{place.kind}\t{place.target}\t{place.schema}",
        "SMSSTATUS_TOKEN": TOKEN,
        "SMSSTATUS_TIMEZONE": ZONE,
        "PYTHONPATH": str(HERE),
    }
    path = f"/statuses/{TOKEN}"
    gunicorn = ["-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--chdir", str(HERE)]
    gunicorn += ["--workers", str(workers), "--threads", str(threads)]
    gunicorn += ["--log-level", "warning"]
    uvicorn = ["-m", "uvicorn", "--port", str(port), "--workers", str(workers)]
    uvicorn += ["--app-dir", str(HERE), "--log-level", "warning", "--factory"]
    if receiver in WSGI:
        argv = [*gunicorn, f"_receivers:{WSGI[receiver]}"]
    elif receiver in ASGI:
        argv = [*uvicorn, f"_receivers:{ASGI[receiver]}"]
        # The bare functions answer no lifespan messages.
        argv[-1:-1] = ["--lifespan", "off"] if receiver.startswith("asgi") else []
    elif receiver == "serve":
        argv = ["-m", "smsstatus", "serve", "--db", place.url(), "--tz", ZONE]
        argv += ["--port", str(port), "--workers", str(workers)]
    else:  # django, django-per-request
        environment["DJANGO_SETTINGS_MODULE"] = "_load_django_settings"
        environment["PYTHONPATH"] = os.pathsep.join([str(HERE), str(EXAMPLE)])
        environment[DJANGO] = receiver.removeprefix("django").lstrip("-")
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--verbosity", "0"],
            env=environment,
            check=True,
        )
        argv = [*gunicorn, "statusproject.wsgi"]
        path = f"/sms/statuses/{TOKEN}"
    quiet = subprocess.DEVNULL if receiver == "serve" else None  # a line per POST
    server = subprocess.Popen(
        [sys.executable, *argv], env=environment, stdout=quiet, stderr=quiet
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, port, path
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                sys.exit(f"{receiver} did not start on port {port}")
            time.sleep(0.1)
