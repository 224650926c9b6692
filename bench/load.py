"""HTTP load run: receivers under 32 gateways delivering to them at once.

Run from the project root (gunicorn, uvicorn and psycopg come with the ``test``
extra)::

    python bench/load.py                          # 5 000 messages, both databases
    python bench/load.py --messages 500 --databases sqlite
    python bench/load.py --receivers serve,flask  # smsstatus serve vs Flask
    python bench/load.py --receivers all          # every receiver

The receivers (``--receivers``, each run in turn on each database, each on tables of
its own): ``app``, the minimal WSGI app below on gunicorn (0.2's path:
`receive_batch` + `StatusTable.save`); ``flask``, `smsstatus.flask.blueprint` on
gunicorn; ``fastapi``, `smsstatus.fastapi.router` on uvicorn; ``django``, the
example project (examples/django_app) on gunicorn; ``serve``, the ``smsstatus serve``
command (uvicorn).  All get ``--workers`` processes; the gunicorn ones ``--threads``
threads each.

Strategy. The app (`make_app`, below) is the whole receiver a user would write:
decode, store the document's statuses in one `StatusTable.save`, answer with the
`Ack`; one connection per worker thread. gunicorn serves it on 127.0.0.1 (a free port)
with ``--workers`` processes of ``--threads`` threads. The statuses are ``--messages``
messages' histories (`sample_histories`: one to three statuses each), shuffled and
dealt round-robin to ``--senders`` `Gateway` simulators, so one message's statuses
reach the server through different senders at the same time; each sender shuffles its
share again, sends a fifth of it twice, in documents of 100, and re-sends what is not
acknowledged as the gateway does (5 attempts). All senders start together in threads;
statuses/s is the statuses of the histories over the wall time until the last sender
is done; p50 and p99 are the latencies of the POSTs as the senders saw them (the
time from one attempt to the next, document encoding included). Then the run checks
what matters: no id lost (every id acknowledged),
every row exact (the latest status of its message), the history exact (one event per
distinct status, whatever the duplicates and retries) and, for the receivers on the
ledger's `StatusTable.receive`, one webhook row per POST the receiver answered.
Everything is bounded: the count by ``--messages``, each request by a 10 s timeout,
the server's start by 30 s, and the server is stopped at the end. Exits 1 when an id
was lost or a row, the history or the webhooks are wrong.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

import attrs
from _storage import Database, databases, machine, versions

from smsstatus import StatusReport, receive_batch
from smsstatus.sql import StatusTable
from smsstatus.testing import Delivery, Gateway, sample_histories

HERE = Path(__file__).resolve().parent
ENVIRONMENT = "SMSSTATUS_LOAD_DATABASE"  # kind, target and schema, tab-separated
TOKEN = "load-run-token-0123456789abcdefghijklmnopqrstuvwxyz"
RECEIVERS = ("app", "flask", "fastapi", "django", "serve")
EXAMPLE = HERE.parent / "examples" / "django_app"


def make_app() -> Callable[..., Iterable[bytes]]:
    """The WSGI receiver, on the database `ENVIRONMENT` names."""
    database = Database(*os.environ[ENVIRONMENT].split("\t"))
    table = StatusTable()
    local = threading.local()

    def save(reports: Any) -> frozenset[int]:
        if not hasattr(local, "connection"):
            local.connection = database.connect()
        return table.save(local.connection, reports)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ["REQUEST_METHOD"] != "POST":
            start_response("405 Method Not Allowed", [("Allow", "POST")])
            return [b""]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        ack = receive_batch(environ["wsgi.input"].read(length), save)
        start_response(
            f"{ack.status} {'OK' if ack.status == 200 else 'Bad Request'}",
            [
                ("Content-Type", ack.content_type),
                ("Content-Length", str(len(ack.body))),
            ],
        )
        return [ack.body]

    return app


def make_flask_app() -> Any:
    """`smsstatus.flask.blueprint` on the database `ENVIRONMENT` names, one
    connection per worker thread (as with a pool)."""
    from contextlib import nullcontext

    from flask import Flask

    from smsstatus.flask import blueprint

    database = Database(*os.environ[ENVIRONMENT].split("\t"))
    local = threading.local()

    def connect() -> Any:
        if not hasattr(local, "connection"):
            local.connection = database.connect()
        return nullcontext(local.connection)

    app = Flask("load")
    app.config["SMSSTATUS_TOKEN"] = TOKEN
    app.register_blueprint(blueprint(connect))
    return app


def make_fastapi_app() -> Any:
    """`smsstatus.fastapi.router` on the database `ENVIRONMENT` names, one connection
    per thread of the worker's pool (as with a pool)."""
    from contextlib import nullcontext

    from fastapi import FastAPI

    from smsstatus.fastapi import router

    database = Database(*os.environ[ENVIRONMENT].split("\t"))
    local = threading.local()

    def connect() -> Any:
        if not hasattr(local, "connection"):
            local.connection = database.connect()
        return nullcontext(local.connection)

    app = FastAPI()
    app.include_router(router(token=TOKEN, connect=connect))
    return app


def own_tables(receiver: str, database: Database) -> Database:
    """A place of `receiver`'s own on `database`: a file beside it, or a schema."""
    if database.kind == "sqlite":
        return Database("sqlite", f"{Path(database.target).parent}/{receiver}.sqlite3")
    schema = f"load_{receiver}"
    connection = database.connect()
    try:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.execute(f"CREATE SCHEMA {schema}")
        connection.commit()
    finally:
        connection.close()
    return Database("postgresql", database.target, schema)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(
    receiver: str, database: Database, args: Any
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    environment = {
        **os.environ,
        ENVIRONMENT: f"{database.kind}\t{database.target}\t{database.schema}",
        "SMSSTATUS_TOKEN": TOKEN,
    }
    gunicorn = ["-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    gunicorn += ["--workers", str(args.workers), "--threads", str(args.threads)]
    gunicorn += ["--log-level", "warning"]
    url = f"http://127.0.0.1:{port}/statuses/{TOKEN}"
    if receiver == "serve":
        argv = ["-m", "smsstatus", "serve", "--db", database.url()]
        argv += ["--port", str(port), "--workers", str(args.workers)]
    elif receiver == "fastapi":
        argv = ["-m", "uvicorn", "--factory", "load:make_fastapi_app"]
        argv += ["--app-dir", str(HERE), "--port", str(port)]
        argv += ["--workers", str(args.workers), "--log-level", "warning"]
    elif receiver == "django":
        environment["DJANGO_SETTINGS_MODULE"] = "_load_django_settings"
        environment["PYTHONPATH"] = os.pathsep.join([str(HERE), str(EXAMPLE)])
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--verbosity", "0"],
            env=environment,
            check=True,
        )
        argv = [*gunicorn, "--chdir", str(EXAMPLE), "statusproject.wsgi"]
        url = f"http://127.0.0.1:{port}/sms/statuses/{TOKEN}"
    else:
        argv = [*gunicorn, "--chdir", str(HERE)]
        argv += ["load:make_flask_app()" if receiver == "flask" else "load:make_app()"]
        url = url if receiver == "flask" else f"http://127.0.0.1:{port}/statuses"
    server = subprocess.Popen(
        [sys.executable, *argv],
        env=environment,
        # serve's log: a line per POST, and its start and stop at INFO
        stdout=subprocess.DEVNULL if receiver == "serve" else None,
        stderr=subprocess.DEVNULL if receiver == "serve" else None,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, url
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                sys.exit(f"{receiver} did not start on port {port}")
            time.sleep(0.1)


def run(receiver: str, database: Database, args: Any) -> dict[str, Any]:
    histories = sample_histories(args.messages, seed=args.seed)
    history = list(histories.reports)
    random.Random(args.seed).shuffle(history)
    shares = [history[n :: args.senders] for n in range(args.senders)]
    database = own_tables(receiver, database)
    table = StatusTable()
    if receiver != "django":  # its migrations make the tables
        with closing(database.connect()) as connection:
            table.create(connection)
    server, url = serve(receiver, database, args)
    deliveries: list[Delivery] = []
    latencies: list[float] = []
    try:

        def send(n: int) -> None:
            gateway = Gateway("xml", shuffle=True, duplicate=0.2, seed=n)
            last = [time.perf_counter()]

            def timed(attempt: Any) -> None:
                now = time.perf_counter()
                latencies.append(now - last[0])
                last[0] = now

            deliveries.append(
                gateway.deliver_http(url, shares[n], timeout=10, on_attempt=timed)
            )

        senders = [
            threading.Thread(target=send, args=(n,)) for n in range(args.senders)
        ]
        started = time.perf_counter()
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(30)
    latest = histories.latest
    acknowledged = frozenset().union(*(d.acknowledged for d in deliveries))
    attempts = [attempt for d in deliveries for attempt in d.attempts]
    with closing(database.connect()) as connection:
        stored = table.load(connection, latest)
        (events,) = connection.execute(
            "SELECT count(*) FROM smsstatus_delivery_event"
        ).fetchone()
        (webhooks,) = connection.execute(
            "SELECT count(*) FROM smsstatus_delivery_webhook"
        ).fetchone()
    # Every POST the receiver answered is a webhook row, unless it answered 503
    # (nothing written); 0.2's path (the app) keeps none.
    answered = sum(attempt.status in (200, 400) for attempt in attempts)
    latencies.sort()
    return {
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)] * 1000,
        "statuses": len(history),
        "sent": sum(len(attempt.sent) for attempt in attempts),
        "failed posts": sum(attempt.status != 200 for attempt in attempts),
        "seconds": elapsed,
        "rate": len(history) / elapsed,
        "lost": len(latest.keys() - acknowledged),
        "wrong": sum(
            naive(stored.get(id_sms)) != report for id_sms, report in latest.items()
        ),
        "failed senders": args.senders - len(deliveries),
        "events": events,
        # 0.2's path (the app) hands `save` one report per id and document, the
        # furthest along, so its history lacks the statuses it collapsed away.
        "events wrong": 0 if receiver == "app" else events - len(set(history)),
        "webhooks": webhooks,
        "webhooks wrong": webhooks - (0 if receiver == "app" else answered),
    }


def naive(report: StatusReport | None) -> StatusReport | None:
    """`report` with its time as a naive wall clock: the flask and serve receivers
    read the documents' times in UTC, the app with no zone, as `sample_histories`
    makes them."""
    if report is None or report.time is None or report.time.tzinfo is None:
        return report
    return attrs.evolve(report, time=report.time.replace(tzinfo=None))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--dsn", help="a PostgreSQL database to use (it is emptied)")
    parser.add_argument(
        "--receivers",
        default="app",
        help=f"comma-separated, of {', '.join(RECEIVERS)}, or all (default: app)",
    )
    args = parser.parse_args(argv)
    receivers = RECEIVERS if args.receivers == "all" else args.receivers.split(",")
    if not set(receivers) <= set(RECEIVERS):
        parser.error(f"--receivers: choose among {', '.join(RECEIVERS)}")
    rows = []
    with databases(args.databases.split(","), args.dsn) as found:
        for database in found:
            for receiver in receivers:
                name = f"{versions(database)}, {receiver}"
                rows.append((name, run(receiver, database, args)))
    print(
        f"smsstatus load run: Python {sys.version.split()[0]}, {machine()}; "
        f"{args.workers} workers (gunicorn: x {args.threads} threads), "
        f"{args.senders} senders, {args.messages} messages"
    )
    print(
        "\n| database, receiver | statuses | posted (duplicates, retries)"
        " | failed posts | seconds | statuses/s | p50 ms | p99 ms | ids lost"
        " | rows wrong | events (wrong) | webhooks (wrong) |"
        "\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    for name, row in rows:
        print(
            f"| {name} | {row['statuses']} | {row['sent']} | {row['failed posts']} | "
            f"{row['seconds']:.2f} | {row['rate']:.0f} | {row['p50']:.1f} | "
            f"{row['p99']:.1f} | {row['lost']} | {row['wrong']} | "
            f"{row['events']} ({row['events wrong']}) | "
            f"{row['webhooks']} ({row['webhooks wrong']}) |"
        )
    bad = [
        name
        for name, row in rows
        if row["lost"]
        or row["wrong"]
        or row["failed senders"]
        or row["events wrong"]
        or row["webhooks wrong"]
    ]
    if bad:
        print(
            "\nFAIL: ids lost, rows, history or webhooks wrong, or a sender failed "
            f"on {', '.join(bad)}"
        )
        return 1
    print("\nPASS: no id lost, every row, the history and the webhooks exact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
