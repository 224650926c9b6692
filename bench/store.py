"""Storage benchmark: statuses stored per second, per report and per batch.

Run from the project root (psycopg and a PostgreSQL server's programs are needed for
the PostgreSQL rows; without ``--dsn`` a throwaway server is started and removed)::

    pip install -e '.[test]'
    python bench/store.py                         # N = 1 000 and 10 000
    python bench/store.py --sizes 1000 --databases sqlite --rounds 1
    python bench/store.py --dsn 'host=/run/postgresql dbname=bench'

Strategy.  The same documents go through these cases, side by side in one process:

- ``decode only``: `smsstatus.decode`, the floor of the Python work;
- ``per-report handler``: `receive` with the handler the 0.1 examples taught, one
  transaction per report that reads the stored state (locked: ``BEGIN IMMEDIATE`` on
  SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL) and writes an upsert when the
  report supersedes it;
- ``batch``: `receive_batch` + `StatusTable.save`, one transaction per document and
  a statement per chunk of rows;
- ``no ledger`` and ``ledger`` (the ledger's target, issue 19), on documents of
  whole message histories (each message's statuses together, a fifth of them
  twice): ``no ledger`` is `receive_batch` + `StatusTable.save` on a table without
  history (0.2's write: the latest rows alone), ``ledger`` is `StatusTable.receive`
  (the latest rows, the history, the webhook row, in one transaction);
- ``SQLite floor`` (SQLite only): the statements ``batch`` runs, on rows built
  before the clock starts: no decoding, no Python work per status, one transaction
  per document: what the database engine itself costs.  The per-report handler's
  time over the floor's is the ratio the batch would show if its Python work cost
  nothing;

on SQLite (a file in WAL mode, opened by `connect_sqlite`, synchronous=FULL as sqlite3
leaves it) and PostgreSQL (fsync on). The statuses are messages' histories
(`sample_histories`: one to three statuses each), shuffled, a fifth sent twice, cut
into documents of ``--document`` statuses (100, as the gateway sends them);
``batch, 1 000-status documents`` repeats the batch case with larger documents. Each
figure is N over the wall time of storing all N, the median of ``--rounds`` rounds,
each on an emptied table; after each round every row is checked against the
furthest-along status sent.

The output is Markdown tables, a line with the ceiling the SQLite floor sets on the
ratio, then one PASS / FAIL line per target of issue 8: batch at least 20 times the
per-report handler on both databases, and batch on PostgreSQL at least 20 000
statuses/s with 1 000-status documents; and of issue 19: the ledger costs at most
1.2 times the time a status of no ledger on PostgreSQL, 1.35 times on SQLite.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timezone
from typing import Any

from _storage import Database, databases, machine, statuses, versions

import smsstatus
from smsstatus import StatusReport, encode_xml
from smsstatus.sql import StatusTable
from smsstatus.sql._dialect import Log, dialect_of
from smsstatus.sql._rows import rows_of
from smsstatus.testing import sample_histories

BIG_DOCUMENT = 1000
FLOOR = "SQLite floor: save's statements, pre-built rows"
RATIO_TARGET = 20.0
POSTGRESQL_TARGET = 20_000.0
NO_LEDGER = "no ledger (0.2's save), whole histories"
LEDGER = "ledger (StatusTable.receive), whole histories"
LEDGER_TARGETS = {"SQLite": 1.35, "PostgreSQL": 1.2}
TABLES = tuple(
    f"{name}{part}"
    for name in ("smsstatus_delivery", "ledger")
    for part in ("", "_event", "_webhook", "_rejected")
)


def _n(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def per_report_handler(database: Database, connection: Any) -> Callable[..., None]:
    """The 0.1 examples' handler: one transaction per report, read then write."""
    sqlite = database.kind == "sqlite"
    mark = "?" if sqlite else "%s"
    select = f"SELECT state FROM smsstatus_delivery WHERE id_sms = {mark}"
    now = "strftime('%Y-%m-%d %H:%M:%f000', 'now')" if sqlite else "now()"
    upsert = (
        "INSERT INTO smsstatus_delivery (id_sms, time, state, sms, viber, changed_at)"
        f" VALUES ({mark}, {mark}, {mark}, {mark}, {mark}, {now})"
        " ON CONFLICT (id_sms) DO UPDATE SET time = excluded.time,"
        " state = excluded.state, sms = excluded.sms, viber = excluded.viber,"
        " changed_at = excluded.changed_at"
    )

    def values(report: StatusReport) -> tuple[Any, ...]:
        stamp: Any = report.time
        if stamp is not None:  # the reports are naive: UTC wall clock, as the table
            stamp = str(stamp) if sqlite else stamp.replace(tzinfo=timezone.utc)
        return (
            report.id_sms,
            stamp,
            report.state.value,
            report.sms and report.sms.value,
            report.viber and report.viber.value,
        )

    def stored(row: Any, report: StatusReport) -> StatusReport | None:
        if row is None:
            return None
        return StatusReport(report.id_sms, None, smsstatus.Status(row[0]))

    if sqlite:

        def handle(report: StatusReport) -> None:
            with connection:  # commits, or rolls back on an exception
                connection.execute("BEGIN IMMEDIATE")
                row = connection.execute(select, (report.id_sms,)).fetchone()
                if report.supersedes(stored(row, report)):
                    connection.execute(upsert, values(report))

    else:

        def handle(report: StatusReport) -> None:
            with connection.transaction():
                found = connection.execute(f"{select} FOR UPDATE", (report.id_sms,))
                if report.supersedes(stored(found.fetchone(), report)):
                    connection.execute(upsert, values(report))

    return handle


def whole_histories(count: int, *, seed: int) -> list[StatusReport]:
    """`count` statuses: messages' whole histories, each message's together (in its
    own order), the messages shuffled, a fifth of the statuses sent twice."""
    rng = random.Random(seed)
    messages: dict[int, list[StatusReport]] = {}
    for report in sample_histories(count, seed=seed).reports:
        messages.setdefault(report.id_sms, []).append(report)
    histories = list(messages.values())
    rng.shuffle(histories)
    sent = []
    for history in histories:
        for report in history:
            sent += [report, report] if rng.random() < 0.2 else [report]
    return sent[:count]


def furthest(sent: list[StatusReport]) -> dict[int, StatusReport]:
    expected: dict[int, StatusReport] = {}
    for report in sent:
        if report.supersedes(expected.get(report.id_sms)):
            expected[report.id_sms] = report
    return expected


def measure(
    database: Database, sent: list[StatusReport], expected: dict[int, Any], args: Any
) -> dict[str, list[float]]:
    """Statuses per second of each case, one figure per round."""
    table = StatusTable(history=False)
    ledger = StatusTable("ledger")
    connection = database.connect()
    handler = per_report_handler(database, connection)
    small = [
        encode_xml(sent[i : i + args.document])
        for i in range(0, len(sent), args.document)
    ]
    big = [
        encode_xml(sent[i : i + BIG_DOCUMENT])
        for i in range(0, len(sent), BIG_DOCUMENT)
    ]
    histories = whole_histories(len(sent), seed=len(sent))
    whole = [
        encode_xml(histories[i : i + args.document])
        for i in range(0, len(histories), args.document)
    ]
    distinct = len(set(histories))

    def save(reports: tuple[StatusReport, ...]) -> frozenset[int]:
        return table.save(connection, reports)

    def decode_only(body: bytes) -> None:
        smsstatus.decode(body)

    def acknowledged(ack: smsstatus.Ack) -> None:
        assert ack.status == 200

    # case: (what it is given, one per document; what it runs on each; the rows it
    # must leave, or None)
    runs: dict[str, tuple[list[Any], Callable[[Any], None], Any]] = {
        "decode only": (small, decode_only, None),
        "per-report handler": (
            small,
            lambda body: acknowledged(smsstatus.receive(body, handler)),
            expected,
        ),
        "batch": (
            small,
            lambda body: acknowledged(smsstatus.receive_batch(body, save)),
            expected,
        ),
        f"batch, {_n(BIG_DOCUMENT)}-status documents": (
            big,
            lambda body: acknowledged(smsstatus.receive_batch(body, save)),
            expected,
        ),
    }
    if database.kind == "sqlite":
        # The rows and statements of `StatusTable.save` itself (private names: the
        # floor must be exactly the database's share of the batch case).
        dialect = dialect_of(connection)
        prebuilt = [
            rows_of(dialect, smsstatus.decode(body).reports)[1] for body in small
        ]
        log = Log("push")

        def floor(rows: list[Any]) -> None:
            with dialect.transaction(connection, write=True) as cursor:
                dialect.write(cursor, table._names, rows, log)

        runs[FLOOR] = (prebuilt, floor, expected)

    def reset() -> None:
        for name in TABLES:
            connection.execute(f"DROP TABLE IF EXISTS {name}")
        connection.commit()
        table.create(connection)
        ledger.create(connection)

    def check(case: str, rows: dict[int, StatusReport], on: StatusTable) -> None:
        if on.load(connection, rows) != rows:
            sys.exit(f"{case} on {database.kind}: the table is not exact")

    figures: dict[str, list[float]] = {case: [] for case in [*runs, NO_LEDGER, LEDGER]}
    try:
        for _ in range(args.rounds):
            for case, (documents, run, rows) in runs.items():
                reset()
                started = time.perf_counter()
                for document in documents:
                    run(document)
                elapsed = time.perf_counter() - started
                figures[case].append(len(sent) / elapsed)
                if rows is not None:
                    check(case, rows, table)
            # Ledger and no ledger take turns, a document each, so that whatever
            # else the machine does weighs on both alike.
            reset()
            spent = [0.0, 0.0]
            for document in whole:
                started = time.perf_counter()
                acknowledged(smsstatus.receive_batch(document, save))
                middle = time.perf_counter()
                acknowledged(ledger.receive(connection, document))
                spent[0] += middle - started
                spent[1] += time.perf_counter() - middle
            figures[NO_LEDGER].append(len(histories) / spent[0])
            figures[LEDGER].append(len(histories) / spent[1])
            check(NO_LEDGER, furthest(histories), table)
            check(LEDGER, furthest(histories), ledger)
            (events,) = connection.execute(
                "SELECT count(*) FROM ledger_event"
            ).fetchone()
            connection.commit()
            if events != distinct:
                sys.exit(
                    f"{LEDGER} on {database.kind}: {events} events, not {distinct}"
                )
    finally:
        connection.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="N, comma-separated")
    parser.add_argument("--document", type=int, default=100, help="statuses a document")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--dsn", help="a PostgreSQL database to use (it is emptied)")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 on a missed target"
    )
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]

    with databases(args.databases.split(","), args.dsn) as found:
        results: dict[tuple[str, str, int], float] = {}
        names = {}
        for database in found:
            names[database.kind] = versions(database)
            for size in sizes:
                sent, expected = statuses(size, seed=size)
                for case, figures in measure(database, sent, expected, args).items():
                    results[names[database.kind], case, size] = statistics.median(
                        figures
                    )

    print(
        f"smsstatus storage benchmark: Python {sys.version.split()[0]}, "
        f"{', '.join(names.values())}, {machine()}; "
        f"{args.document}-status documents, median of {args.rounds} rounds"
    )
    header = "| database | case | " + " | ".join(f"N={_n(n)}" for n in sizes) + " |"
    rule = "|---|---|" + "---:|" * len(sizes)
    print("\n## Statuses stored per second\n")
    print(header, rule, sep="\n")
    for name, case in dict.fromkeys((name, case) for name, case, _ in results):
        cells = " | ".join(f"{results[name, case, n]:.0f}" for n in sizes)
        print(f"| {name} | {case} | {cells} |")
    print("\n## Ratio, batch / per-report handler\n")
    print("| database | " + " | ".join(f"N={_n(n)}" for n in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    ratios = {}
    for name in names.values():
        for n in sizes:
            ratios[name, n] = (
                results[name, "batch", n] / results[name, "per-report handler", n]
            )
        print(
            f"| {name} | " + " | ".join(f"{ratios[name, n]:.1f}" for n in sizes) + " |"
        )
    print("\n## Ledger / no ledger, time a status (issue 19)\n")
    print("| database | " + " | ".join(f"N={_n(n)}" for n in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    costs = {}
    for name in names.values():
        for n in sizes:
            costs[name, n] = results[name, NO_LEDGER, n] / results[name, LEDGER, n]
        print(
            f"| {name} | " + " | ".join(f"{costs[name, n]:.2f}" for n in sizes) + " |"
        )
    for name in names.values():
        if (name, FLOOR, sizes[0]) in results:
            per_report = {n: results[name, "per-report handler", n] for n in sizes}
            ceilings = ", ".join(
                f"{results[name, FLOOR, n] / per_report[n]:.1f} at N={_n(n)}"
                for n in sizes
            )
            print(
                f"\n{name}, per-report handler / SQLite floor (in time a status): "
                f"{ceilings}; the ratio the batch would show if its Python work "
                "cost nothing"
            )

    print("\n## Targets\n")
    verdicts = []
    for (name, n), ratio in ratios.items():
        verdicts.append(
            (
                ratio >= RATIO_TARGET,
                f"{name}, N={_n(n)}: batch is {ratio:.1f}x "
                f"the per-report handler (target >= {RATIO_TARGET:.0f}x)",
            )
        )
    big = f"batch, {_n(BIG_DOCUMENT)}-status documents"
    for (name, case, n), rate in results.items():
        if name.startswith("PostgreSQL") and case == big:
            verdicts.append(
                (
                    rate >= POSTGRESQL_TARGET,
                    f"{name}, N={_n(n)}: {case} stores "
                    f"{rate:.0f} statuses/s (target >= {POSTGRESQL_TARGET:.0f})",
                )
            )
    for (name, n), cost in costs.items():
        target = LEDGER_TARGETS[name.split()[0]]
        verdicts.append(
            (
                cost <= target,
                f"{name}, N={_n(n)}: the ledger costs {cost:.2f}x no ledger "
                f"a status (target <= {target}x)",
            )
        )
    for passed, text in verdicts:
        print(("PASS " if passed else "FAIL ") + text)
    return 1 if args.check and not all(passed for passed, _ in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
