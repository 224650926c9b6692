"""What the roll-up `stats` reads costs the write path: `StatusTable.receive` on a
table with the roll-up's triggers against the same table without them.

Run from the project root (psycopg and a PostgreSQL server's programs are needed for
the PostgreSQL rows; without ``--dsn`` a throwaway server is started and removed)::

    pip install -e '.[test]'
    python bench/rollup.py                        # 10 000 statuses, 8 writers
    python bench/rollup.py --statuses 2000 --databases sqlite --rounds 1

Strategy.  Two ledgers, made by `StatusTable.create`; on one the roll-up's triggers
are dropped.  Each case stores the same documents of whole message histories as
``bench/store.py``'s ledger case (``--statuses`` of them, 100 a document), each
message registered first in a tenth of the documents (so that a registration moves
some messages' first-seen hour and tag):

- ``one writer``: one connection stores a document on one table, then on the other,
  taking turns, so that whatever else the machine does weighs on both alike; the
  figure is statuses per second of each table;
- ``N writers`` (PostgreSQL only: SQLite has one writer at a time): ``--writers``
  threads, a connection each, share the documents (every document's messages are in
  this hour: they hit the same counters) and store them at once; the tables take
  turns by round.

Each figure is the median of ``--rounds`` rounds on emptied tables.  After each
round the roll-up is checked against a recount of the rows (exit 1 when they
differ).  The output is a Markdown table with the cost: time a status with the
roll-up over time a status without.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from _storage import Database, databases, machine, versions
from store import whole_histories

from smsstatus import encode_xml
from smsstatus.sql import Sent, StatusTable
from smsstatus.sql._dialect import Names
from smsstatus.sql._rollup import KEY, key_sql

TABLES = {"plain": StatusTable("plain"), "rolled": StatusTable("rolled")}
# The same table without the roll-up (a private switch, for this benchmark alone).
TABLES["plain"]._names = Names("plain", True, rolled=False)


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
        connection.execute("DROP FUNCTION IF EXISTS rolled_rollup, plain_rollup")
    connection.commit()
    for table in TABLES.values():
        table.create(connection)


def _store(table: StatusTable, connection: Any, document: tuple[list[Sent], bytes]):
    sent, body = document
    if sent:
        table.register(connection, sent)
    ack = table.receive(connection, body)
    assert ack.status == 200, ack


def _check(connection: Any, database: Database) -> None:
    """The roll-up equals a recount of the rows."""
    names = Names("rolled", True)
    key = key_sql("t", sqlite=database.kind == "sqlite")
    recount = connection.execute(
        f"SELECT {key}, count(*) FROM rolled AS t GROUP BY 1, 2, 3, 4, 5"
    ).fetchall()
    rolled = connection.execute(
        f"SELECT {KEY}, sum(messages) FROM {names.rollup}"
        " GROUP BY 1, 2, 3, 4, 5 HAVING sum(messages) <> 0"
    ).fetchall()
    connection.commit()
    if sorted(recount, key=repr) != sorted(rolled, key=repr):
        sys.exit(f"{database.kind}: the roll-up is not a recount of the rows")


def one_writer(database: Database, documents: list[Any], rounds: int) -> list[float]:
    """Time a status with the roll-up over without, per round.  A connection per
    table, as an application has (each keeps its own prepared statements)."""
    connections = {name: database.connect() for name in TABLES}
    ratios = []
    try:
        for _ in range(rounds):
            _reset(connections["plain"], database)
            spent = dict.fromkeys(TABLES, 0.0)
            for document in documents:
                for name, table in TABLES.items():
                    started = time.perf_counter()
                    _store(table, connections[name], document)
                    spent[name] += time.perf_counter() - started
            _check(connections["plain"], database)
            ratios.append(spent["rolled"] / spent["plain"])
    finally:
        for connection in connections.values():
            connection.close()
    return ratios


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
    rows = []
    with databases(args.databases.split(","), args.dsn) as found:
        names = []
        for database in found:
            name = versions(database)
            names.append(name)
            ratio = statistics.median(one_writer(database, documents, args.rounds))
            rows.append((name, "one writer", ratio, ""))
            if database.kind == "postgresql":
                times = writers(database, documents, args.rounds, args.writers)
                plain = statistics.median(times["plain"])
                rolled = statistics.median(times["rolled"])
                rows.append(
                    (
                        name,
                        f"{args.writers} writers",
                        rolled / plain,
                        f"{args.statuses / plain:.0f} -> {args.statuses / rolled:.0f}",
                    )
                )
    print(
        f"roll-up write cost: Python {sys.version.split()[0]}, {', '.join(names)}, "
        f"{machine()}; {args.statuses} statuses in 100-status documents, "
        f"median of {args.rounds} rounds\n"
    )
    print("| database | case | time a status, roll-up / none | statuses/s |")
    print("|---|---|---:|---:|")
    for name, case, ratio, rates in rows:
        print(f"| {name} | {case} | {ratio:.3f} | {rates} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
