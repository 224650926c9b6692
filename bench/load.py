"""HTTP load run: a receiver built from `receive_batch` + `StatusTable` under
gunicorn, with 32 gateways delivering to it at once.

Run from the project root (gunicorn and psycopg come with the ``test`` extra)::

    python bench/load.py                          # 5 000 messages, both databases
    python bench/load.py --messages 500 --databases sqlite

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
is done. Then the run checks what matters: no id lost (every id acknowledged) and
every row exact (the latest status of its message). Everything is bounded: the count
by ``--messages``, each request by a 10 s timeout, the server's start by 30 s, and the
server is stopped at the end. Exits 1 when an id was lost or a row is wrong.
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
from pathlib import Path
from typing import Any

from _storage import Database, databases, machine, versions

from smsstatus import receive_batch
from smsstatus.sql import StatusTable
from smsstatus.testing import Delivery, Gateway, sample_histories

HERE = Path(__file__).resolve().parent
ENVIRONMENT = "SMSSTATUS_LOAD_DATABASE"  # kind, target and schema, tab-separated


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(database: Database, args: Any) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--chdir",
            str(HERE),
            "--log-level",
            "warning",
            "load:make_app()",
        ],
        env={
            **os.environ,
            ENVIRONMENT: f"{database.kind}\t{database.target}\t{database.schema}",
        },
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, f"http://127.0.0.1:{port}/statuses"
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                sys.exit(f"gunicorn did not start on port {port}")
            time.sleep(0.1)


def run(database: Database, args: Any) -> dict[str, Any]:
    histories = sample_histories(args.messages, seed=args.seed)
    history = list(histories.reports)
    random.Random(args.seed).shuffle(history)
    shares = [history[n :: args.senders] for n in range(args.senders)]
    connection = database.connect()
    table = StatusTable()
    connection.execute("DROP TABLE IF EXISTS smsstatus_delivery")
    connection.commit()
    table.create(connection)
    server, url = serve(database, args)
    deliveries: list[Delivery] = []
    try:

        def send(n: int) -> None:
            gateway = Gateway("xml", shuffle=True, duplicate=0.2, seed=n)
            deliveries.append(gateway.deliver_http(url, shares[n], timeout=10))

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
    stored = table.load(connection, latest)
    connection.close()
    attempts = [attempt for d in deliveries for attempt in d.attempts]
    return {
        "statuses": len(history),
        "sent": sum(len(attempt.sent) for attempt in attempts),
        "failed posts": sum(attempt.status != 200 for attempt in attempts),
        "seconds": elapsed,
        "rate": len(history) / elapsed,
        "lost": len(latest.keys() - acknowledged),
        "wrong": sum(stored.get(id_sms) != report for id_sms, report in latest.items()),
        "failed senders": args.senders - len(deliveries),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--dsn", help="a PostgreSQL database to use (it is emptied)")
    args = parser.parse_args(argv)
    rows = []
    with databases(args.databases.split(","), args.dsn) as found:
        for database in found:
            rows.append((versions(database), run(database, args)))
    print(
        f"smsstatus load run: Python {sys.version.split()[0]}, {machine()}; "
        f"gunicorn {args.workers} workers x {args.threads} threads, "
        f"{args.senders} senders, {args.messages} messages"
    )
    print(
        "\n| database | statuses | posted (duplicates, retries) | failed posts"
        " | seconds | statuses/s | ids lost | rows wrong |"
        "\n|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    for name, row in rows:
        print(
            f"| {name} | {row['statuses']} | {row['sent']} | {row['failed posts']} | "
            f"{row['seconds']:.2f} | "
            f"{row['rate']:.0f} | {row['lost']} | {row['wrong']} |"
        )
    bad = [
        name
        for name, row in rows
        if row["lost"] or row["wrong"] or row["failed senders"]
    ]
    if bad:
        print(f"\nFAIL: ids lost, rows wrong or a sender failed on {', '.join(bad)}")
        return 1
    print("\nPASS: no id lost, every row exact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
