"""The whole request in process: a receiver as the manual sets it up against a bare
WSGI function doing the same library work on an open connection (issue 25).

Run from the project root (``pip install -e '.[test]'``)::

    python bench/request.py
    python bench/request.py --documents 200 --rounds 3

Strategy.  Every case is a WSGI application called directly (no server, no socket),
with the same environ a server would pass, on SQLite (a file in WAL mode opened by
`connect_sqlite`, ``synchronous=FULL`` as sqlite3 leaves it), with the gateway's zone
set (``Europe/Moscow``) as the README does:

- ``bare``: a WSGI function that reads the body, calls `StatusTable.receive` on a
  connection opened once, and answers the `Ack`: the library's work and nothing else;
- ``Flask, README``: the README's Flask app, a connection kept per thread
  (``per_thread(lambda: connect_sqlite(...))``);
- ``Flask, per delivery``: the same blueprint with 0.3's documented ``connect``, which
  opens and closes a connection per delivery (``closing(connect_sqlite(...))``), to
  show what a kept connection is worth;
- ``FastAPI, README`` and ``FastAPI, per delivery``: the README's FastAPI app, and the
  same with a connection per delivery, called as ASGI on one event loop running in
  a thread of its own as a worker's does (its store runs in Starlette's thread pool:
  the CPU time counts every thread);
- ``Django, README``: ``startproject``'s settings plus the README's lines (SQLite as
  Django opens it: no WAL, a connection per request), migrated.

Each case has a database of its own and gets the same documents (100 statuses of
whole message histories, XML, each a new message's), the cases taking turns a
document each so that the machine's other work weighs on all alike.  A figure is
the process's CPU time (user and system) of the WSGI call, per request, the median
of ``--rounds`` rounds, each on fresh databases; the ratio is to ``bare``.  Every
answer must be 200 and acknowledge the document's ids.  The targets of issue 25:
Flask and FastAPI as the README shows them within 1.3 times the bare function,
Django within 1.5.
"""

from __future__ import annotations

import argparse
import io
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _storage import machine
from store import whole_histories

import smsstatus
from smsstatus import encode_xml
from smsstatus.sql import StatusTable, connect_sqlite, per_thread

TOKEN = "t" * 40
ZONE = "Europe/Moscow"
TARGETS = {"Flask, README": 1.3, "FastAPI, README": 1.3, "Django, README": 1.5}
Wsgi = Callable[[dict[str, Any], Any], Iterable[bytes]]


def bare(path: str) -> Wsgi:
    """The library's work in a WSGI function: a connection opened once."""
    connection = connect_sqlite(path)
    table = StatusTable()
    zone = ZoneInfo(ZONE)

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size)
        ack = table.receive(
            connection, body, tz=zone, remote=environ.get("REMOTE_ADDR")
        )
        start_response(f"{ack.status} OK", [("Content-Type", ack.content_type)])
        return [ack.body]

    return app


def connector(path: str, *, per_delivery: bool) -> Any:
    """The README's `connect` (one connection kept per thread), or 0.3's."""
    if per_delivery:
        return lambda: closing(connect_sqlite(path))
    return per_thread(lambda: connect_sqlite(path))


def flask(path: str, *, per_delivery: bool) -> Wsgi:
    """The README's Flask app; with `per_delivery`, 0.3's connection per delivery."""
    import flask as flask_module

    import smsstatus.flask

    app = flask_module.Flask(__name__)
    app.config["SMSSTATUS_TOKEN"] = TOKEN
    app.config["SMSSTATUS_TIMEZONE"] = ZONE
    connect = connector(path, per_delivery=per_delivery)
    app.register_blueprint(smsstatus.flask.blueprint(connect))
    return app.wsgi_app  # type: ignore[no-any-return]


def django(path: str) -> Wsgi:
    """A ``startproject`` project's settings plus the README's lines (Django can be
    set up once a process: the first round's database serves every round)."""
    import django as django_module
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="bench",
            ALLOWED_HOSTS=["127.0.0.1"],
            ROOT_URLCONF=__name__,
            INSTALLED_APPS=[
                "django.contrib.admin",
                "django.contrib.auth",
                "django.contrib.contenttypes",
                "django.contrib.sessions",
                "django.contrib.messages",
                "django.contrib.staticfiles",
                "smsstatus.django",
            ],
            MIDDLEWARE=[
                "django.middleware.security.SecurityMiddleware",
                "django.contrib.sessions.middleware.SessionMiddleware",
                "django.middleware.common.CommonMiddleware",
                "django.middleware.csrf.CsrfViewMiddleware",
                "django.contrib.auth.middleware.AuthenticationMiddleware",
                "django.contrib.messages.middleware.MessageMiddleware",
                "django.middleware.clickjacking.XFrameOptionsMiddleware",
            ],
            DATABASES={
                "default": {
                    "ENGINE": "django.db.backends.sqlite3",
                    "NAME": path,
                    "OPTIONS": {"timeout": 20},
                }
            },
            USE_TZ=True,
            TIME_ZONE="UTC",
            STATIC_URL="static/",
            SMSSTATUS_TOKEN=TOKEN,
            SMSSTATUS_TIMEZONE=ZONE,
        )
        django_module.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()  # type: ignore[no-any-return]


def __getattr__(name: str) -> Any:
    """This module is Django's ROOT_URLCONF: its ``urlpatterns``, made once Django
    is set up (the README's line, at the root so that every case has one URL)."""
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.urls import include, path

    return [path("", include("smsstatus.django.urls"))]


def fastapi(path: str, *, per_delivery: bool) -> Wsgi:
    """The README's FastAPI app (with `per_delivery`, 0.3's connection per
    delivery), called as ASGI on an event loop of its own, behind the WSGI calling
    convention the other cases share."""
    import asyncio

    import fastapi as fastapi_module

    import smsstatus.fastapi

    api = fastapi_module.FastAPI()
    api.include_router(
        smsstatus.fastapi.router(
            token=TOKEN,
            connect=connector(path, per_delivery=per_delivery),
            timezone=ZONE,
        )
    )
    # One loop a round, as a uvicorn worker keeps one, its main task running all
    # along in a thread of its own: anyio's worker threads (and the connections
    # `per_thread` keeps in them) live as long as the loop's main task, and a loop
    # run per request would end them after each.
    loop = asyncio.new_event_loop()

    async def serve() -> None:  # a task, as uvicorn's: anyio finds it
        await loop.create_future()

    threading.Thread(
        target=lambda: loop.run_until_complete(serve()), daemon=True
    ).start()

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = environ["wsgi.input"].read()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": environ["PATH_INFO"],
            "raw_path": environ["PATH_INFO"].encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"content-type", environ["CONTENT_TYPE"].encode()),
                (b"content-length", environ["CONTENT_LENGTH"].encode()),
            ],
            "client": (environ["REMOTE_ADDR"], 40000),
            "server": ("127.0.0.1", 8000),
        }
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        asyncio.run_coroutine_threadsafe(api(scope, receive, send), loop).result()
        start_response(f"{sent[0]['status']} -", [])
        return [b"".join(m.get("body", b"") for m in sent[1:])]

    return app


ONCE = {"Django, README"}
TABLES = [
    f"smsstatus_delivery{part}" for part in ("", "_event", "_webhook", "_rejected")
]
CASES: dict[str, Callable[[str], Wsgi]] = {
    "bare": bare,
    "Flask, README": lambda path: flask(path, per_delivery=False),
    "Flask, per delivery": lambda path: flask(path, per_delivery=True),
    "FastAPI, README": lambda path: fastapi(path, per_delivery=False),
    "FastAPI, per delivery": lambda path: fastapi(path, per_delivery=True),
    "Django, README": django,
}


def environ(body: bytes) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": f"/statuses/{TOKEN}",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/xml",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def call(app: Wsgi, body: bytes) -> tuple[str, bytes]:
    answered: list[str] = []
    result = app(environ(body), lambda status, headers: answered.append(status))
    try:
        data = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return answered[0], data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    histories = whole_histories(args.documents * 100, seed=args.documents)
    documents = [histories[i : i + 100] for i in range(0, len(histories), 100)]
    bodies = [encode_xml(document) for document in documents]
    expected = [{report.id_sms for report in document} for document in documents]
    figures: dict[str, list[float]] = {case: [] for case in CASES}
    with tempfile.TemporaryDirectory() as directory:
        for round in range(args.rounds):
            apps = {}
            for number, (case, make) in enumerate(CASES.items()):
                # Django is set up once: its database is emptied instead.
                path = f"{directory}/{number}-{0 if case in ONCE else round}.sqlite3"
                if case not in ONCE:
                    with closing(connect_sqlite(path)) as connection:
                        StatusTable().create(connection)
                elif round:  # not in WAL mode: Django's connections as documented
                    with closing(sqlite3.connect(path)) as connection:
                        for name in TABLES:
                            connection.execute(f"DELETE FROM {name}")
                        connection.commit()
                apps[case] = make(path)
            spent = dict.fromkeys(CASES, 0.0)
            for body, ids in zip(bodies, expected, strict=True):
                for case, app in apps.items():
                    started = time.process_time()
                    status, data = call(app, body)
                    spent[case] += time.process_time() - started
                    if (
                        not status.startswith("200")
                        or set(smsstatus.decode_ack(data, "xml")) != ids
                    ):
                        sys.exit(f"{case}: answered {status} {data[:80]!r}")
            for case in CASES:
                figures[case].append(spent[case] / len(bodies) * 1e6)
    print(
        f"smsstatus whole-request benchmark (in process): Python "
        f"{sys.version.split()[0]}, {machine()}; {len(bodies)} deliveries of 100 "
        f"statuses (XML, zone {ZONE}) a round, SQLite, median of {args.rounds} rounds"
    )
    base = statistics.median(figures["bare"])
    print("\n## Per request\n")
    print("| case | µs CPU per request | ratio to bare |\n|---|---:|---:|")
    for case, values in figures.items():
        median = statistics.median(values)
        print(f"| {case} | {median:.0f} | {median / base:.2f} |")
    print()
    for case, target in TARGETS.items():
        ratio = statistics.median(figures[case]) / base
        verdict = "PASS" if ratio <= target else "FAIL"
        print(
            f"{verdict} {case.split(',')[0]} as the README shows it: {ratio:.2f}x "
            f"the bare WSGI function (target <= {target}x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
