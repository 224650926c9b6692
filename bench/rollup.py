"""What the roll-up prototype of issue 20 (``_rollup.py``: counters `stats` could
read instead of the rows) costs the write path: `StatusTable.receive` and
`StatusTable.register` on a table with the roll-up against the same table without.

Run from the project root (psycopg and a PostgreSQL server's programs are needed for
the PostgreSQL rows; without ``--dsn`` a throwaway server is started and removed)::

    pip install -e '.[test]'
    python bench/rollup.py                        # 10 000 statuses, 8 writers
    python bench/rollup.py --statuses 2000 --databases sqlite --rounds 1

Strategy.  Two ledgers, made by `StatusTable.create`; one gets the roll-up
(`_rollup.install`).  Each case stores the same documents of whole message histories as
``bench/store.py``'s ledger case (``--statuses`` of them, 100 a document), each
message registered first in a tenth of the documents (so that a registration moves
some messages' first-seen hour and tag):

- ``one writer``: a connection per table; each document is stored on one table,
  then on the other (each first in turn), so that whatever else the machine does
  weighs on both alike;
- ``N writers`` (PostgreSQL only: SQLite has one writer at a time): ``--writers``
  threads, a connection each, share the documents (every document's messages are in
  this hour: they hit the same counters) and store them at once; the tables take
  turns by round.

Each figure is the median of ``--rounds`` rounds on emptied tables.  After each
round the roll-up is checked against a recount of the rows (exit 1 when they
differ).  The output is a Markdown table with the cost (time a status with the
roll-up over time a status without, the median of the rounds' ratios), where a
document's time goes (one more pass on the rolled table alone: on SQLite the time
in the prototype's reads of the keys and upserts, timed; on PostgreSQL the
triggers' time as the server counts it, ``track_functions``), and one PASS / FAIL
line a case for the issue's limit: at most 10 % more.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import _rollup
from _storage import Database, databases, machine, versions
from store import whole_histories

from smsstatus import encode_xml
from smsstatus.sql import Sent, StatusTable

TARGET = 1.1  # issue 20: at most 10 % more time a status
TABLES = {"plain": StatusTable("plain"), "rolled": StatusTable("rolled")}


def _documents(count: int) -> list[tuple[list[Sent], bytes]]:
    """The documents, each with the messages to register before it: every tenth,
    those of the document before, sent two hours ago with a tag (their first-seen
    hour and tag move)."""
    histories = whole_histories(count, seed=count)
    earlier = datetime.now(timezone.utc) - timedelta(hours=2)
    documents: list[tuple[list[Sent], bytes]] = []
    before: list[Sent] = []
    for number, at in enumerate(range(0, len(histories), 100)):
        part = histories[at : at + 100]
        documents.append((before if number % 10 == 1 else [], encode_xml(part)))
        before = [Sent(r.id_sms, earlier, "promo") for r in part]
    return documents


def _reset(connection: Any, database: Database) -> None:
    for name in TABLES:
        for part in ("", "_event", "_webhook", "_rejected", "_rollup"):
            connection.execute(f"DROP TABLE IF EXISTS {name}{part}")
    if database.kind == "postgresql":
        connection.execute("DROP FUNCTION IF EXISTS rolled_rollup")
    connection.commit()
    for table in TABLES.values():
        table.create(connection)
    _rollup.install(connection, "rolled", sqlite=database.kind == "sqlite")


def _store(table: StatusTable, connection: Any, document: tuple[list[Sent], bytes]):
    sent, body = document
    if sent:
        table.register(connection, sent)
    ack = table.receive(connection, body)
    assert ack.status == 200, ack


def _check(connection: Any, database: Database) -> None:
    if not _rollup.check(connection, "rolled", sqlite=database.kind == "sqlite"):
        sys.exit(f"{database.kind}: the roll-up is not a recount of the rows")


def one_writer(
    database: Database, documents: list[Any], rounds: int
) -> dict[str, list[float]]:
    """Seconds each table took, per round.  A connection per table, as an
    application has (each keeps its own prepared statements)."""
    connections = {name: database.connect() for name in TABLES}
    times: dict[str, list[float]] = {name: [] for name in TABLES}
    try:
        for _ in range(rounds):
            _reset(connections["plain"], database)
            spent = dict.fromkeys(TABLES, 0.0)
            for number, document in enumerate(documents):
                order = list(TABLES.items())
                for name, table in order[:: -1 if number % 2 else 1]:  # first in turn
                    started = time.perf_counter()
                    _store(table, connections[name], document)
                    spent[name] += time.perf_counter() - started
            _check(connections["plain"], database)
            for name, seconds in spent.items():
                times[name].append(seconds)
    finally:
        for connection in connections.values():
            connection.close()
    return times


def breakdown(database: Database, documents: list[Any]) -> tuple[float, float]:
    """Milliseconds a document on the rolled table, all of it and the roll-up's own
    work in it, over one pass."""
    connection = database.connect()
    _reset(connection, database)
    spent = [0.0, 0.0]
    if database.kind == "sqlite":
        keys, roll = _rollup.keys, _rollup.roll
        inside = [False]

        def timed(function: Any) -> Any:
            def run(*arguments: Any) -> Any:
                if inside[0]:  # roll's own read of the keys: counted in roll
                    return function(*arguments)
                inside[0], started = True, time.perf_counter()
                try:
                    return function(*arguments)
                finally:
                    inside[0] = False
                    spent[1] += time.perf_counter() - started

            return run

        _rollup.keys, _rollup.roll = timed(keys), timed(roll)
    else:
        connection.execute("SET track_functions = 'pl'")
        connection.commit()
    try:
        for document in documents:
            started = time.perf_counter()
            _store(TABLES["rolled"], connection, document)
            spent[0] += time.perf_counter() - started
    finally:
        connection.close()
        if database.kind == "sqlite":
            _rollup.keys, _rollup.roll = keys, roll
    if database.kind == "postgresql":
        reader = database.connect()
        try:
            for _ in range(50):  # a backend sends its counts as it exits
                found = reader.execute(
                    "SELECT total_time FROM pg_stat_user_functions"
                    " WHERE funcname = 'rolled_rollup'"
                ).fetchone()
                reader.commit()
                if found is not None:
                    spent[1] = found[0] / 1000
                    break
                time.sleep(0.1)
        finally:
            reader.close()
    return spent[0] * 1000 / len(documents), spent[1] * 1000 / len(documents)


def writers(
    database: Database, documents: list[Any], rounds: int, count: int
) -> dict[str, list[float]]:
    """Wall time of `count` threads storing the documents at once, per table."""
    connection = database.connect()
    times: dict[str, list[float]] = {name: [] for name in TABLES}
    try:
        for round in range(rounds):
            _reset(connection, database)
            order = list(TABLES.items())
            for name, table in order[:: -1 if round % 2 else 1]:  # each first in turn
                shares = [documents[i::count] for i in range(count)]
                start = threading.Barrier(count + 1)

                def run(
                    share: list[Any],
                    table: StatusTable = table,
                    start: threading.Barrier = start,
                ) -> None:
                    own = database.connect()
                    try:
                        start.wait()
                        for document in share:
                            _store(table, own, document)
                    finally:
                        own.close()

                threads = [
                    threading.Thread(target=run, args=(share,)) for share in shares
                ]
                for thread in threads:
                    thread.start()
                start.wait()
                started = time.perf_counter()
                for thread in threads:
                    thread.join()
                times[name].append(time.perf_counter() - started)
            _check(connection, database)
    finally:
        connection.close()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statuses", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--dsn", help="a PostgreSQL database to use (it is emptied)")
    args = parser.parse_args(argv)
    documents = _documents(args.statuses)
    rows, parts = [], []
    with databases(args.databases.split(","), args.dsn) as found:
        names = []
        for database in found:
            name = versions(database)
            names.append(name)
            cases = {"one writer": one_writer(database, documents, args.rounds)}
            if database.kind == "postgresql":
                cases[f"{args.writers} writers"] = writers(
                    database, documents, args.rounds, args.writers
                )
            for case, times in cases.items():
                ratio = statistics.median(
                    rolled / plain
                    for plain, rolled in zip(
                        times["plain"], times["rolled"], strict=True
                    )
                )
                rates = [args.statuses / statistics.median(times[t]) for t in TABLES]
                rows.append((name, case, *rates, ratio))
            parts.append((name, *breakdown(database, documents)))
    print(
        f"smsstatus roll-up write cost: Python {sys.version.split()[0]},"
        f" {', '.join(names)}, {machine()}; {args.statuses} statuses in"
        f" 100-status documents, median of {args.rounds} rounds"
    )
    print("\n## Write cost of the roll-up\n")
    print(
        "| database | case | statuses/s, no roll-up | statuses/s, roll-up"
        " | time a status, roll-up / none |"
    )
    print("|---|---|---:|---:|---:|")
    for name, case, plain, rolled, ratio in rows:
        print(f"| {name} | {case} | {plain:.0f} | {rolled:.0f} | {ratio:.3f} |")
    print("\n## Where the time goes (one writer, one pass)\n")
    what = {"SQLite": "its reads of the keys and upserts", "PostgreSQL": "triggers"}
    print("| database | ms a document | of which the roll-up | share |")
    print("|---|---:|---:|---:|")
    for name, whole, rollup in parts:
        print(
            f"| {name} | {whole:.3f} | {rollup:.3f} ({what[name.split()[0]]})"
            f" | {rollup / whole:.1%} |"
        )
    print("\n## Target\n")
    for name, case, _, _, ratio in rows:
        verdict = "PASS" if ratio <= TARGET else "FAIL"
        print(
            f"{verdict} {name}, {case}: the roll-up costs {ratio:.3f}x the time a"
            f" status (target <= {TARGET}x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
