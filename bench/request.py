"""The whole request in process: each receiver as the manual sets it up against a
bare function doing the same library work on an open connection (issue 25).

Run from the project root (``pip install -e '.[test]'``; psycopg and a PostgreSQL
server's programs for the PostgreSQL half: without ``--dsn`` a throwaway server,
fsync on, is started and removed)::

    python bench/request.py
    python bench/request.py --documents 100 --rounds 1 --databases sqlite
    python bench/request.py --dsn 'host=/run/postgresql dbname=bench'

Strategy.  Every case is a WSGI application called directly (no server, no socket),
with the environ a server would pass, the gateway's zone set (``Europe/Moscow``) as
the README does, on each database: SQLite (a file of the case's own) and PostgreSQL
(a schema of the case's own).

- ``bare``: a WSGI function that reads the body, calls `StatusTable.receive` on a
  connection opened once (`connect_sqlite`: WAL, ``synchronous=FULL``; or
  ``psycopg.connect``) and answers the `Ack`: the library's work and nothing else;
- ``bare ASGI``: the same as an ASGI function, called as the FastAPI cases are (the
  library's work inline on the event loop): FastAPI's fair baseline, since the
  benchmark's own hand-off into the loop's thread counts in both;
- ``Flask, README``: the README's Flask app, a connection kept per thread
  (``per_thread``); ``Flask, per delivery``: a connection opened and closed per
  delivery (0.3's set-up), to show what a kept connection is worth;
- ``FastAPI, README`` and ``FastAPI, per delivery``: the same for the README's
  FastAPI app, called as ASGI on an event loop running in a thread of its own with a
  main task, as a uvicorn worker's (its store runs in Starlette's thread pool: the
  CPU time counts every thread);
- ``Django, README``: ``startproject``'s settings plus the README's lines, run from
  the README itself (persistent connections with health checks; on SQLite the WAL
  journal; on PostgreSQL prepared statements), migrated; then the same without
  what the README adds to 0.3's lines, to show what each is worth: ``Django, no
  WAL`` (SQLite), ``Django, no prepare_threshold`` (PostgreSQL),
  ``Django, CONN_MAX_AGE = 0`` and ``Django, 0.3's lines`` (neither: SQLite's
  rollback journal and a connection per request).

Each case gets the same documents (100 statuses of whole message histories, XML,
each a new message's), the cases taking turns a document each so that the machine's
other work weighs on all alike.  A figure is the process's CPU time (user and
system, every thread) of the call, per request, the median of ``--rounds`` rounds,
each on emptied tables.  On PostgreSQL the database's work is another process's:
when the server runs on this machine (the throwaway one, or a ``--dsn`` whose socket
directory holds its data directory) its CPU time is read too (`ServerClock`), from
before each call to 2 ms after the server is back to as many processes as before it
(the server process of a connection the request closed ends after the answer), and
a second pair of columns counts it in; SQLite's work
is the process's own, so only those columns compare with SQLite's.  The ratio is to
``bare``.  Every answer must be 200 and acknowledge the document's ids.  The targets
of issue 25, on both databases: Flask and FastAPI as the README shows them within
1.3 times the bare function, Django within 1.5.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _snippets import section_blocks
from _storage import Database, databases, machine, versions
from store import whole_histories

import smsstatus
from smsstatus import encode_xml
from smsstatus.sql import StatusTable, per_thread

TOKEN = "t" * 40
ZONE = "Europe/Moscow"
TARGETS = {"Flask, README": 1.3, "FastAPI, README": 1.3, "Django, README": 1.5}
Wsgi = Callable[[dict[str, Any], Any], Iterable[bytes]]
Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
# What ends the event loops `as_wsgi` made, at the end of the run.
STOPS: list[Callable[[], None]] = []
TABLES = [
    f"smsstatus_delivery{part}" for part in ("", "_event", "_webhook", "_rejected")
]


def bare(database: Database) -> Wsgi:
    """The library's work in a WSGI function: a connection opened once."""
    connection = database.connect()
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


def bare_asgi(database: Database) -> Wsgi:
    """The library's work in an ASGI function (inline on the loop), called as the
    FastAPI cases are."""
    connection = database.connect()
    table = StatusTable()
    zone = ZoneInfo(ZONE)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        ack = table.receive(connection, body, tz=zone, remote=scope["client"][0])
        headers = [(b"content-type", ack.content_type.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": ack.body})

    return as_wsgi(app)


def connector(database: Database, *, per_delivery: bool) -> Any:
    """The README's `connect` (one connection kept per thread), or 0.3's."""
    if per_delivery:
        return lambda: closing(database.connect())
    return per_thread(database.connect)


def flask(database: Database, *, per_delivery: bool) -> Wsgi:
    """The README's Flask app; with `per_delivery`, 0.3's connection per delivery."""
    import flask as flask_module

    import smsstatus.flask

    app = flask_module.Flask(__name__)
    app.config["SMSSTATUS_TOKEN"] = TOKEN
    app.config["SMSSTATUS_TIMEZONE"] = ZONE
    connect = connector(database, per_delivery=per_delivery)
    app.register_blueprint(smsstatus.flask.blueprint(connect))
    return app.wsgi_app  # type: ignore[no-any-return]


def fastapi(database: Database, *, per_delivery: bool) -> Wsgi:
    """The README's FastAPI app (with `per_delivery`, 0.3's connection per
    delivery)."""
    import fastapi as fastapi_module

    import smsstatus.fastapi

    api = fastapi_module.FastAPI()
    api.include_router(
        smsstatus.fastapi.router(
            token=TOKEN,
            connect=connector(database, per_delivery=per_delivery),
            timezone=ZONE,
        )
    )
    return as_wsgi(api)


def as_wsgi(app: Asgi) -> Wsgi:
    """An ASGI application behind the WSGI calling convention the cases share, run
    on an event loop of its own in this thread, as a uvicorn worker runs it."""
    # The loop runs only while a call is served, but its main task lives on across
    # calls, as a worker's: anyio's worker threads (and the connections `per_thread`
    # keeps in them) live as long as the task they are started from, which would
    # end with each request if each were a task of its own.
    loop = asyncio.new_event_loop()
    jobs: asyncio.Queue[tuple[Awaitable[None], asyncio.Future[None]]]
    jobs = asyncio.Queue()

    async def serve() -> None:
        while True:
            job, done = await jobs.get()
            try:
                await job
            except Exception as exc:
                done.set_exception(exc)
            else:
                done.set_result(None)

    served = loop.create_task(serve())

    def stop() -> None:  # ends anyio's worker threads, which the process waits for
        served.cancel()
        loop.run_until_complete(asyncio.wait([served]))
        loop.run_until_complete(asyncio.sleep(0))  # the task's done callbacks
        loop.close()

    STOPS.append(stop)

    def call(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
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

        done = loop.create_future()
        jobs.put_nowait((app(scope, receive, send), done))
        loop.run_until_complete(done if not served.done() else served)
        start_response(f"{sent[0]['status']} -", [])
        return [b"".join(m.get("body", b"") for m in sent[1:])]

    return call


# --- Django: one set-up a process, a database alias for each case -------------------

# The alias the next request is routed to (`Route`): every Django case is one alias
# of the same project, so that they can take turns with the others.
ROUTED = ["default"]


class Route:
    """The project's database router: every model to the case's alias."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return ROUTED[0]

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return ROUTED[0]

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return True


def readme_lines(database: dict[str, Any]) -> dict[str, Any]:
    """A ``startproject`` project's database entry as the README's settings lines
    leave it, and the settings those lines set."""
    os.environ.setdefault("SMSSTATUS_TOKEN", TOKEN)
    import django

    settings: dict[str, Any] = {
        "os": os,
        "django": django,  # the README says to import both
        "INSTALLED_APPS": [],
        "DATABASES": {"default": database},
    }
    exec(section_blocks("README.md", "## Django")[0], settings)
    return settings


def django_variants(kind: str) -> dict[str, Callable[[dict[str, Any]], None]]:
    """The Django cases on `kind`: each a change to the README's database entry."""

    def persistent_off(entry: dict[str, Any]) -> None:
        entry.pop("CONN_MAX_AGE", None)
        entry.pop("CONN_HEALTH_CHECKS", None)

    def wal_off(entry: dict[str, Any]) -> None:
        entry.get("OPTIONS", {}).pop("init_command", None)

    def neither(entry: dict[str, Any]) -> None:
        persistent_off(entry)
        wal_off(entry)

    def unprepared(entry: dict[str, Any]) -> None:
        entry["OPTIONS"].pop("prepare_threshold", None)

    variants = {"Django, README": lambda entry: None}
    if kind == "sqlite":
        variants["Django, no WAL"] = wal_off
    else:
        variants["Django, no prepare_threshold"] = unprepared
    variants["Django, CONN_MAX_AGE = 0"] = persistent_off
    if kind == "sqlite":
        variants["Django, 0.3's lines"] = neither
    return variants


def django_entry(database: Database) -> dict[str, Any]:
    """`startproject`'s database entry for `database` (before the README's lines)."""
    if database.kind == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": database.target}
    fields = dict(field.split("=", 1) for field in database.target.split())
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": fields.get("dbname", "postgres"),
        "HOST": fields.get("host", ""),
        "PORT": fields.get("port", ""),
        "USER": fields.get("user", ""),
        "OPTIONS": {"options": f"-c search_path={database.schema}"},
    }


def set_up_django(aliases: dict[str, dict[str, Any]], directory: str) -> Wsgi:
    """A ``startproject`` project with the README's lines and `aliases` (their
    database entries), migrated; its WSGI application."""
    import django as django_module
    from django.conf import settings
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    lines = readme_lines({"ENGINE": "django.db.backends.sqlite3"})
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
            *lines["INSTALLED_APPS"],
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
            # Never used by a case: Django wants one.
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": f"{directory}/default.sqlite3",
            },
            **aliases,
        },
        DATABASE_ROUTERS=[f"{__name__}.Route"],
        USE_TZ=True,
        TIME_ZONE="UTC",
        STATIC_URL="static/",
        SMSSTATUS_TOKEN=lines["SMSSTATUS_TOKEN"],
        SMSSTATUS_TIMEZONE=lines["SMSSTATUS_TIMEZONE"],
    )
    django_module.setup()
    for alias in aliases:
        call_command("migrate", database=alias, verbosity=0)
    return get_wsgi_application()  # type: ignore[no-any-return]


def routed(app: Wsgi, alias: str) -> Wsgi:
    def call(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        ROUTED[0] = alias
        return app(environ, start_response)

    return call


def __getattr__(name: str) -> Any:
    """This module is Django's ROOT_URLCONF: its ``urlpatterns``, made once Django
    is set up (the README's line, at the root so that every case has one URL)."""
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.urls import include, path

    return [path("", include("smsstatus.django.urls"))]


# --- the cases, their places, the run ---------------------------------------------

CASES: dict[str, Callable[[Database], Wsgi]] = {
    "bare": bare,
    "bare ASGI": bare_asgi,
    "Flask, README": lambda database: flask(database, per_delivery=False),
    "Flask, per delivery": lambda database: flask(database, per_delivery=True),
    "FastAPI, README": lambda database: fastapi(database, per_delivery=False),
    "FastAPI, per delivery": lambda database: fastapi(database, per_delivery=True),
}


def place(database: Database, name: str) -> Database:
    """A place of `name`'s own on `database`: a file beside it, or a schema."""
    if database.kind == "sqlite":
        return Database("sqlite", f"{Path(database.target).parent}/{name}.sqlite3")
    schema = f"request_{os.getpid()}_{name}"
    with closing(database.connect()) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.execute(f"CREATE SCHEMA {schema}")
        connection.commit()
    return Database("postgresql", database.target, schema)


def empty(database: Database, *, django: bool) -> None:
    """Delete every row of the ledger's tables (made by `StatusTable.create` for the
    cases that are not Django's, whose tables its migrations made); a Django case's
    SQLite file through a plain connection, which leaves its journal mode as is."""
    if django and database.kind == "sqlite":
        connection = sqlite3.connect(database.target)
    else:
        connection = database.connect()
        StatusTable().create(connection)
    with closing(connection):
        for name in TABLES:
            if database.kind == "sqlite":
                connection.execute(f"DELETE FROM {name}")
            else:
                connection.execute(f"TRUNCATE {name}")
        connection.commit()


def drop(database: Database) -> None:
    if database.kind == "postgresql":
        with closing(database.connect()) as connection:
            connection.execute(f"DROP SCHEMA {database.schema} CASCADE")
            connection.commit()


class ServerClock:
    """The CPU seconds a local PostgreSQL server has spent so far: its postmaster's
    and live processes' (``/proc/<pid>/schedstat``, to the nanosecond) and its
    ended ones' (a connection's server process, counted in the postmaster's
    children's times once it has ended: in clock ticks)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.tick = os.sysconf("SC_CLK_TCK")

    @classmethod
    def of(cls, database: Database) -> ServerClock | None:
        """The clock of `database`'s server, when it runs here (its socket
        directory holds the data directory, as `throwaway_server` makes it)."""
        fields = dict(field.split("=", 1) for field in database.target.split())
        try:
            with open(f"{fields.get('host', '')}/data/postmaster.pid") as pid:
                clock = cls(int(pid.readline()))
            clock()
        except (OSError, ValueError):
            return None
        return clock

    def processes(self) -> int:
        """How many processes the server runs besides its postmaster."""
        with open(f"/proc/{self.pid}/task/{self.pid}/children") as children:
            return len(children.read().split())

    def settle(self, processes: int) -> None:
        """Wait (at most 0.2 s) until the server is back to `processes`: a
        connection closed by the request has its server process end after the
        answer, and what that costs is the request's."""
        deadline = time.monotonic() + 0.2
        while self.processes() > processes and time.monotonic() < deadline:
            time.sleep(0.0005)
        time.sleep(0.002)  # and what the server does right after an answer

    def __call__(self) -> float:
        with open(f"/proc/{self.pid}/stat") as stat:
            ended = stat.read().rsplit(")", 1)[1].split()[13:15]  # cutime, cstime
        seconds = sum(int(ticks) for ticks in ended) / self.tick
        path = f"/proc/{self.pid}/task/{self.pid}/children"
        with open(path) as children:
            pids = [self.pid, *children.read().split()]
        for pid in pids:
            try:
                with open(f"/proc/{pid}/schedstat") as schedstat:
                    seconds += int(schedstat.read().split()[0]) / 1e9
            except OSError:  # ended meanwhile: counted next time, in cutime
                pass
        return seconds


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


@contextmanager
def places(found: list[Database], directory: str) -> Iterator[dict[str, Any]]:
    """For each database: its cases' places, and the Django project's aliases."""
    with ExitStack() as stack:
        plan: dict[str, Any] = {}
        aliases: dict[str, dict[str, Any]] = {}
        for database in found:
            cases: dict[str, tuple[Database, str | None]] = {}
            names = [*CASES, *django_variants(database.kind)]
            for number, case in enumerate(names):
                where = place(database, f"{database.kind}{number}")
                stack.callback(drop, where)
                alias = None
                if case.startswith("Django"):
                    alias = f"{database.kind}{number}"
                    entry = readme_lines(django_entry(where))["DATABASES"]["default"]
                    django_variants(database.kind)[case](entry)
                    aliases[alias] = entry
                cases[case] = (where, alias)
            plan[database.kind] = cases
        django = set_up_django(aliases, directory) if aliases else None
        yield {"plan": plan, "django": django}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--dsn", help="a PostgreSQL database to use (schemas made)")
    args = parser.parse_args(argv)
    histories = whole_histories(args.documents * 100, seed=args.documents)
    documents = [histories[i : i + 100] for i in range(0, len(histories), 100)]
    bodies = [encode_xml(document) for document in documents]
    expected = [{report.id_sms for report in document} for document in documents]
    with ExitStack() as stack:
        found = stack.enter_context(databases(args.databases.split(","), args.dsn))
        directory = stack.enter_context(tempfile.TemporaryDirectory())
        made = stack.enter_context(places(found, directory))
        stack.callback(lambda: [stop() for stop in STOPS])  # even after a failure
        clocks = {d.kind: ServerClock.of(d) for d in found if d.kind == "postgresql"}
        apps: dict[tuple[str, str], Wsgi] = {}
        for kind, cases in made["plan"].items():
            for case, (where, alias) in cases.items():
                if alias is None:
                    empty(where, django=False)
                    apps[kind, case] = CASES[case](where)
                else:
                    apps[kind, case] = routed(made["django"], alias)
        figures: dict[tuple[str, str], list[float]] = {key: [] for key in apps}
        served: dict[tuple[str, str], list[float]] = {key: [] for key in apps}
        for _ in range(args.rounds):
            for cases in made["plan"].values():
                for where, alias in cases.values():
                    empty(where, django=alias is not None)
            if made["django"] is not None:
                from django.db import connections

                connections.close_all()  # each round opens its connections anew
            spent = dict.fromkeys(apps, 0.0)
            server = dict.fromkeys(apps, 0.0)
            for body, ids in zip(bodies, expected, strict=True):
                for key, app in apps.items():
                    clock = clocks.get(key[0])
                    if clock:
                        processes, before = clock.processes(), clock()
                    started = time.process_time()
                    status, data = call(app, body)
                    spent[key] += time.process_time() - started
                    if clock:
                        clock.settle(processes)
                        server[key] += clock() - before
                    if (
                        not status.startswith("200")
                        or set(smsstatus.decode_ack(data, "xml")) != ids
                    ):
                        sys.exit(f"{key}: answered {status} {data[:80]!r}")
            for key in apps:
                figures[key].append(spent[key] / len(bodies) * 1e6)
                served[key].append(server[key] / len(bodies) * 1e6)
        where = ", ".join(versions(database) for database in found)
    print(
        f"smsstatus whole-request benchmark (in process): Python "
        f"{sys.version.split()[0]}, {machine()}, {where}; {len(bodies)} deliveries "
        f"of 100 statuses (XML, zone {ZONE}) a round, median of {args.rounds} rounds"
    )
    verdicts = []
    for database in found:
        kind = database.kind
        name = "SQLite" if kind == "sqlite" else "PostgreSQL"
        clocked = clocks.get(kind) is not None
        cases = [case for on, case in figures if on == kind]
        mine = {case: statistics.median(figures[kind, case]) for case in cases}
        # With the server's CPU: the median of each round's sum.
        both = {
            case: statistics.median(
                map(sum, zip(figures[kind, case], served[kind, case], strict=True))
            )
            for case in cases
        }
        print(f"\n## Per request, {name}\n")
        if clocked:
            print(
                "| case | µs CPU per request | ratio to bare "
                "| with the server's | ratio to bare |\n|---|---:|---:|---:|---:|"
            )
        else:
            print("| case | µs CPU per request | ratio to bare |\n|---|---:|---:|")
        for case in mine:
            row = f"| {case} | {mine[case]:.0f} | {mine[case] / mine['bare']:.2f} |"
            if clocked:
                row += f" {both[case]:.0f} | {both[case] / both['bare']:.2f} |"
            print(row)
        asgi = mine["FastAPI, README"] / mine["bare ASGI"]
        print(f"\nFastAPI, README to bare ASGI: {asgi:.2f}")
        measures = [("", mine)]
        if clocked:
            measures.append((", with the server's CPU", both))
        for case, target in TARGETS.items():
            for counted, figure in measures:
                ratio = figure[case] / figure["bare"]
                verdicts.append(
                    f"{'PASS' if ratio <= target else 'FAIL'} {case.split(',')[0]} as "
                    f"the README shows it, {name}{counted}: {ratio:.2f}x the bare "
                    f"WSGI function (target <= {target}x)"
                )
    print("\n## Targets\n")
    print("\n".join(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
