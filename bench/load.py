"""HTTP load run: receivers on real servers (gunicorn, uvicorn), driven by a lean
client, each one's CPU per request against a bare receiver on the same server.

Run from the project root (gunicorn, uvicorn and psycopg come with the ``test``
extra)::

    python bench/load.py                          # every receiver, both databases
    python bench/load.py --databases sqlite --receivers flask,fastapi
    python bench/load.py --messages 20000 --rounds 3

The receivers (``--receivers``, comma-separated, default all; each on tables of its
own, see ``_receivers.py``): on gunicorn (``--workers`` processes of ``--threads``
threads; 1, its sync worker, as the manual runs it) ``wsgi``, the bare WSGI function
(read the body, `StatusTable.receive` on a kept connection, answer the `Ack`),
``app`` (0.2's path: `receive_batch` + `StatusTable.save`), ``flask`` as the README
sets it up (`per_thread`), ``flask-per-delivery`` (a connection opened and closed
per delivery, as 0.2 and 0.3 documented it), ``django`` (the example project:
``startproject``'s settings plus the README's lines: persistent connections, WAL) and
``django-per-request`` (the same as 0.2 and 0.3 documented it before: a connection
per request, no WAL); on uvicorn (``--workers`` processes)
``asgi``, the bare ASGI function (the same in the event loop), ``asgi-thread`` (the
same in anyio's worker threads), ``fastapi``, ``fastapi-per-delivery`` and ``serve``
(``smsstatus serve``).  The bare function of a receiver's server always runs too:
it is what the ratio is to.

Strategy.  The statuses are ``--messages`` messages' histories (`sample_histories`:
one to three statuses each) in the order they happened, dealt round-robin to
``--senders`` connections, so one message's statuses reach the server through
different connections at about the same time; each connection sends its share, a
fifth of it twice (the second time up to a document later), in documents of 100 in
disorder (XML, times in the gateway's zone), encoded before the run.  The client
(``_client.py``) sends them from ``--clients`` processes of its own over kept-alive
sockets, checks every answer (200 and every id acknowledged) and sends a document
again when it was not (5 attempts).  Each connection's first ``--warm`` documents go
out first (the workers import and connect what they need); then the CPU counters of
the server's processes (and, on a PostgreSQL server of this machine, of the database
server's) are read (``_cpu.py``, from /proc), the rest goes out, and they are read
again.  Per request of that phase: the server's, the database server's and the
client processes' CPU time; statuses/s over its wall time; p50 and p99 of its POSTs'
latencies (from the first byte sent to the last received).  Then the run checks what
matters, over both phases: no id lost (every id acknowledged), every row exact (the
latest status of its message), the history exact (one event per distinct status,
whatever the duplicates and retries) and, for the receivers on the ledger's
`StatusTable.receive`, one webhook row per POST answered.  With ``--rounds`` the
receivers take turns, in an order that turns each round, each round on fresh tables:
the figures are the medians, the ratio the median (and range) of each round's ratio
to that round's bare receiver.
Everything is bounded: the count by ``--messages``, each request by 10 s, each phase
by ``--deadline``, the server's start by 30 s; the servers listen on 127.0.0.1 and
are stopped at the end.  Exits 1 when an id was lost or a row, the history or the
webhooks are wrong.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from _client import Clients, Post, post
from _cpu import tree
from _receivers import BASELINE, RECEIVERS, ZONE, start
from _storage import Database, databases, machine, versions

from smsstatus import StatusReport, encode_xml
from smsstatus.sql import StatusTable
from smsstatus.testing import sample_histories

CHECKED = (
    *("requests", "retries", "lost", "wrong"),
    *("events", "events wrong", "webhooks", "webhooks wrong"),
)
TARGETS = {"flask": 1.25, "fastapi": 1.25, "django": 1.5}


def own_tables(name: str, database: Database) -> Database:
    """A place of `name`'s own on `database`: a file beside it, or a schema."""
    if database.kind == "sqlite":
        return Database("sqlite", f"{Path(database.target).parent}/{name}.sqlite3")
    schema = "load_" + name.replace("-", "_")
    with closing(database.connect()) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.execute(f"CREATE SCHEMA {schema}")
        connection.commit()
    return Database("postgresql", database.target, schema)


def postmaster(database: Database) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine from a
    data directory beside its socket (as the throwaway one does), else None."""
    if database.kind != "postgresql":
        return None
    fields = dict(field.split("=", 1) for field in database.target.split())
    pid_file = Path(fields.get("host", "/nonexistent")) / "data" / "postmaster.pid"
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@attrs.frozen
class Workload:
    """The documents each connection sends, and what the tables must end with."""

    history: list[StatusReport]  # every status once
    latest: dict[int, StatusReport]
    documents: list[list[tuple[bytes, list[int]]]]  # per connection: body, ids

    def posts(self, path: str, warm: int) -> tuple[list[list[Post]], list[list[Post]]]:
        """The requests to `path`: each connection's first `warm`, and the rest."""
        requests = [
            [post(path, *document) for document in share] for share in self.documents
        ]
        return [r[:warm] for r in requests], [r[warm:] for r in requests]


def workload(args: Any) -> Workload:
    histories = sample_histories(args.messages, seed=args.seed)
    history = list(histories.reports)  # in the order the statuses happened
    rng = random.Random(args.seed)
    documents = []
    for n in range(args.senders):
        # A fifth of the share twice, the second time up to a document later.
        share = [(i, report) for i, report in enumerate(history[n :: args.senders])]
        share += [(i + rng.random() * 100, r) for i, r in share if rng.random() < 0.2]
        share.sort(key=lambda entry: entry[0])
        chunks = [[r for _, r in share[i : i + 100]] for i in range(0, len(share), 100)]
        for chunk in chunks:
            rng.shuffle(chunk)
        documents.append(
            [(encode_xml(chunk), [r.id_sms for r in chunk]) for chunk in chunks]
        )
    return Workload(history, dict(histories.latest), documents)


def run(
    receiver: str, database: Database, name: str, load: Workload, args: Any
) -> dict[str, Any]:
    place = own_tables(name, database)
    table = StatusTable()
    if not receiver.startswith("django"):  # its migrations make the tables
        with closing(place.connect()) as connection:
            table.create(connection)
    server, port, path = start(
        receiver, place, workers=args.workers, threads=args.threads
    )
    warm, measured = load.posts(path, args.warm)
    database_pid = postmaster(place)
    clients = Clients(
        port, warm, measured, processes=args.clients, deadline=args.deadline
    )
    try:
        warmed = clients.warm_up()
        before = tree(server.pid), tree(database_pid) if database_pid else 0.0
        started = time.perf_counter()
        outcome = clients.run()
        elapsed = time.perf_counter() - started
        server_cpu = tree(server.pid) - before[0]
        database_cpu = tree(database_pid) - before[1] if database_pid else None
    finally:
        clients.stop()
        server.terminate()
        server.wait(30)
    with closing(place.connect()) as connection:
        stored = table.load(connection, load.latest)
        (events,) = connection.execute(
            "SELECT count(*) FROM smsstatus_delivery_event"
        ).fetchone()
        (webhooks,) = connection.execute(
            "SELECT count(*) FROM smsstatus_delivery_webhook"
        ).fetchone()
    statuses = warmed.statuses + outcome.statuses
    # Every POST the receiver answered is a webhook row, unless it answered 503
    # (nothing written); 0.2's path (the app) keeps none.
    answered = sum(status in (200, 400) for status in statuses)
    requests = len(outcome.statuses)
    latencies = sorted(outcome.latencies) or [math.nan]  # nothing answered
    zone = ZoneInfo(ZONE)
    return {
        "server": server_cpu / requests * 1e6,
        "client": outcome.cpu / requests * 1e6,
        "database": None if database_cpu is None else database_cpu / requests * 1e6,
        "rate": outcome.posted / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)] * 1000,
        "requests": requests,
        "retries": len(statuses) - sum(len(share) for share in load.documents),
        "errors": warmed.errors + outcome.errors,
        "lost": len(load.latest.keys() - warmed.acknowledged - outcome.acknowledged),
        "wrong": sum(
            stored.get(id_sms) != zoned(report, zone)
            for id_sms, report in load.latest.items()
        ),
        # 0.2's path (the app) hands `save` one report per id and document, the
        # furthest along, so its history lacks the statuses it collapsed away.
        "events": events,
        "events wrong": 0 if receiver == "app" else events - len(set(load.history)),
        "webhooks": webhooks,
        "webhooks wrong": webhooks - (0 if receiver == "app" else answered),
    }


def zoned(report: StatusReport, zone: ZoneInfo) -> StatusReport:
    """`report` (its time a wall clock, as `sample_histories` makes it) as a
    receiver reading the times in `zone` stores it."""
    if report.time is None:
        return report
    return attrs.evolve(report, time=report.time.replace(tzinfo=zone))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30000)
    parser.add_argument("--senders", type=int, default=8, help="connections")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--warm", type=int, default=3, help="documents a connection")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=1, help="gunicorn threads (1: its sync worker)"
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--deadline", type=float, default=300, help="seconds a phase")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--dsn", help="a PostgreSQL database to use (it is emptied)")
    parser.add_argument(
        "--receivers",
        default="all",
        help=f"comma-separated, of {', '.join(RECEIVERS)}, or all (the default)",
    )
    args = parser.parse_args(argv)
    asked = list(RECEIVERS) if args.receivers == "all" else args.receivers.split(",")
    if not set(asked) <= RECEIVERS.keys():
        parser.error(f"--receivers: choose among {', '.join(RECEIVERS)}")
    bases = {BASELINE[RECEIVERS[receiver][0]] for receiver in asked}
    receivers = [r for r in RECEIVERS if r in asked or r in bases]
    load = workload(args)
    if min(map(len, load.documents)) <= args.warm:
        parser.error("nothing to measure after the warm-up: more --messages")
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with databases(args.databases.split(","), args.dsn) as found:
        for database in found:
            kind = versions(database)
            for round in range(args.rounds):
                # The order turns each round, so that what a run leaves behind
                # (PostgreSQL's autovacuum and checkpoint of the rows it wrote, a
                # cold cache) weighs on every receiver in turn, not on its follower.
                turn = round % len(receivers)
                for receiver in receivers[turn:] + receivers[:turn]:
                    row = run(receiver, database, f"{receiver}-{round}", load, args)
                    results.setdefault((kind, receiver), []).append(row)
                    print(
                        f"{kind}, {receiver}: {row['server']:.0f} µs", file=sys.stderr
                    )
    report(results, load, args)
    return check(results)


def report(
    results: dict[tuple[str, str], list[dict[str, Any]]], load: Workload, args: Any
) -> None:
    posts = sum(len(share) for share in load.documents)
    print(
        f"smsstatus load run: Python {sys.version.split()[0]}, {machine()}; "
        f"{args.workers} workers (gunicorn: x {args.threads} threads), "
        f"{args.senders} connections from {args.clients} client processes, "
        f"{args.messages} messages ({len(load.history)} statuses, {posts} POSTs of "
        f"up to 100, {args.warm * args.senders} of them to warm up), zone {ZONE}, "
        f"median of {args.rounds} round(s)"
    )
    print(
        "\n## Per request\n"
        "\n| database | receiver | server | µs CPU a request: server | client"
        " | database server | ratio to bare: server | server + database"
        " | statuses/s | p50 ms | p99 ms |"
        "\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    )

    def median(key: tuple[str, str], figure: str) -> float:
        values = [row[figure] for row in results[key]]
        return math.nan if None in values else statistics.median(values)

    def ratios(key: tuple[str, str], database: bool = False) -> list[float]:
        """Each round's ratio to the bare receiver of that round."""
        base = results[key[0], BASELINE[RECEIVERS[key[1]][0]]]
        figures = ("server", "database") if database else ("server",)
        # A run too short for a tick of the kernel's counters has no ratio.
        return [
            sum(row[f] or math.nan for f in figures)
            / (sum(bare[f] or math.nan for f in figures))
            for row, bare in zip(results[key], base, strict=True)
        ]

    def ratio(key: tuple[str, str], database: bool = False) -> str:
        """The median ratio, and the range over the rounds."""
        values = ratios(key, database)
        if any(math.isnan(value) for value in values):
            return "-"
        if len(values) == 1:
            return f"{values[0]:.2f}"
        middle = statistics.median(values)
        return f"{middle:.2f} ({min(values):.2f} to {max(values):.2f})"

    for key in results:
        server, what = RECEIVERS[key[1]]
        figures = [f"{median(key, figure):.0f}" for figure in ("server", "client")]
        figures.append(f"{median(key, 'database'):.0f}".replace("nan", "-"))
        figures += [ratio(key), ratio(key, database=True)]
        figures.append(f"{median(key, 'rate'):.0f}")
        figures += [f"{median(key, figure):.1f}" for figure in ("p50", "p99")]
        print(f"| {key[0]} | {key[1]}: {what} | {server} | {' | '.join(figures)} |")
    print()
    for key in results:
        if key[1] in TARGETS:
            value = statistics.median(ratios(key))
            verdict = "PASS" if value <= TARGETS[key[1]] else "MISS"
            print(
                f"{verdict} {key[0]}, {key[1]}: {value:.2f}x the bare receiver "
                f"on {RECEIVERS[key[1]][0]} in the server's CPU "
                f"(target <= {TARGETS[key[1]]}x)"
            )


def check(results: dict[tuple[str, str], list[dict[str, Any]]]) -> int:
    print(
        "\n## Checks\n"
        "\n| database | receiver | requests measured | re-sent | ids lost | rows wrong"
        " | events (wrong) | webhooks (wrong) |"
        "\n|---|---|---:|---:|---:|---:|---:|---:|"
    )
    bad = []
    for (kind, receiver), rows in results.items():
        total = {key: sum(row[key] for row in rows) for key in CHECKED}
        print(
            f"| {kind} | {receiver} | {total['requests']} | {total['retries']} "
            f"| {total['lost']} | {total['wrong']} "
            f"| {total['events']} ({total['events wrong']}) "
            f"| {total['webhooks']} ({total['webhooks wrong']}) |"
        )
        if any(total[key] for key in CHECKED if key.endswith(("lost", "wrong"))):
            bad.append(f"{kind}, {receiver}")
        for error in sorted({e for row in rows for e in row["errors"]})[:5]:
            print(f"  {kind}, {receiver}: {error}", file=sys.stderr)
    if bad:
        print(f"\nFAIL: ids lost, rows, history or webhooks wrong on {', '.join(bad)}")
        return 1
    print("\nPASS: no id lost, every row, the history and the webhooks exact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
