"""The library's own Python per document: `StatusTable.receive` without a database.

Run from the project root::

    pip install -e '.[test]'
    python bench/python.py                  # 100 documents, median of 9 passes
    python bench/python.py --documents 20 --passes 3
    python bench/python.py --no-msgspec     # JSON by the pure reader

Strategy.  `StatusTable.receive` itself runs, on connections of a null driver: a
class named ``Connection`` in a module named ``sqlite3`` (or ``psycopg``) is what
`dialect_of` takes for that driver, so the real SQLite (or PostgreSQL) dialect
runs with it, and its cursor takes every statement and its parameters and does
nothing (the connection says a transaction is open, so the dialect begins none:
beginning one is the driver's work).  What is timed is therefore exactly the
library's Python of a delivery: decoding, the rows the dialect binds (`rows_of`,
``bind_time``), the `Ack`, the body's SHA-256 digest, the webhook row, the
dialect's parameter lists and statements; and none of the driver's or the
database's work.  Nothing here repeats the library's steps, so the figures cannot
drift from it.

The documents are messages' whole histories (those of ``bench/store.py``: each
message's statuses together, a fifth of them twice, ``send`` without a time),
``--document`` statuses each, in XML and JSON as `encode_xml` / `encode_json` write
them.  Times are naive, or aware with ``tz=ZoneInfo(--zone)`` (Europe/Moscow by
default), which every documented receiver passes.  A pass receives every document
once in each case, the cases in turn so that the machine's other work weighs on
all alike; a case's figure is its thread CPU time over the pass
(`time.thread_time`) divided by the documents, and the table gives the median of
``--passes`` passes after one unmeasured pass.  JSON is read by msgspec when it is
installed, else (or with ``--no-msgspec``) by the pure reader.

The output is a Markdown table in µs a document, then one PASS / FAIL line per case
against the target of issue 25: at most 250 µs a document, aware times included.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from importlib.util import find_spec
from typing import Any
from zoneinfo import ZoneInfo

TARGET = 250.0  # µs a document (issue 25)
DRIVERS = {"SQLite": "sqlite3", "PostgreSQL": "psycopg"}


class _Cursor:
    """A cursor that takes any statement and does nothing: what the dialects call
    on a driver's cursor, with answers of the shape they read."""

    lastrowid = 1

    def __enter__(self) -> _Cursor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def execute(self, statement: str, parameters: Any = ()) -> _Cursor:
        return self

    def executemany(self, statement: str, parameters: Any) -> None:
        pass

    def fetchone(self) -> tuple[str]:
        return ("2026-01-01 00:00:00.000000",)  # the database's clock, on SQLite

    def __iter__(self) -> Any:
        return iter(())  # no row claimed or selected

    def close(self) -> None:
        pass


class _Status:
    name = "INTRANS"  # psycopg: in the caller's transaction, so none is begun


class _Info:
    transaction_status = _Status()


def null_connection(driver: str) -> Any:
    """A connection `dialect_of` takes for `driver`'s (``sqlite3`` or ``psycopg``),
    whose statements do nothing."""
    cursor = _Cursor()

    def cursor_of(self: Any) -> _Cursor:
        return cursor

    connection = type(
        "Connection",
        (),
        {
            "__module__": f"{driver}.null",
            "cursor": cursor_of,
            "cursor_factory": _Cursor,  # psycopg: not a client-side cursor
            "in_transaction": True,  # sqlite3: the caller's, so none is begun
            "info": _Info(),
        },
    )
    return connection()


def documents(count: int, size: int) -> dict[str, list[bytes]]:
    """`count` documents of `size` statuses of whole histories, in each format."""
    from store import whole_histories

    from smsstatus import encode_json, encode_xml

    sent = whole_histories(count * size, seed=count * size)
    cut = [sent[at : at + size] for at in range(0, len(sent), size)]
    return {
        "XML": [encode_xml(reports) for reports in cut],
        "JSON": [encode_json(reports) for reports in cut],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--document", type=int, default=100, help="statuses a document")
    parser.add_argument("--passes", type=int, default=9)
    parser.add_argument("--zone", default="Europe/Moscow", help="the aware times' tz")
    parser.add_argument(
        "--no-msgspec", action="store_true", help="JSON by the pure reader"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 on a missed target"
    )
    args = parser.parse_args(argv)
    if args.no_msgspec:
        sys.modules["msgspec"] = None  # type: ignore[assignment]  # ImportError

    import smsstatus
    from smsstatus._json_fast import decoder
    from smsstatus.sql import StatusTable

    json = "JSON (msgspec)" if decoder() is not None else "JSON (pure)"
    # The PostgreSQL dialect imports psycopg (to tell its cursors apart).
    drivers = {name: driver for name, driver in DRIVERS.items() if find_spec(driver)}
    bodies = documents(args.documents, args.document)
    zones = {"naive": None, "aware": ZoneInfo(args.zone)}
    table = StatusTable()
    cases: dict[tuple[str, str], Callable[[], None]] = {}
    for format, name in (("XML", "XML"), ("JSON", json)):
        for database, driver in drivers.items():
            connection = null_connection(driver)
            for times, tz in zones.items():

                def run(
                    connection: Any = connection,
                    tz: Any = tz,
                    bodies: list[bytes] = bodies[format],
                ) -> None:
                    for body in bodies:
                        ack = table.receive(connection, body, tz=tz, remote="::1")
                        if ack.status != 200 or not ack.ids:
                            sys.exit(f"a document was not acknowledged: {ack}")

                cases[f"{name}, {database}", times] = run

    figures: dict[tuple[str, str], list[float]] = {case: [] for case in cases}
    for number in range(args.passes + 1):
        for case, run in cases.items():
            started = time.thread_time()
            run()
            spent = time.thread_time() - started
            if number:  # the first pass warms the caches up
                figures[case].append(spent / len(bodies["XML"]) * 1e6)
    medians = {case: statistics.median(spent) for case, spent in figures.items()}

    print(
        f"smsstatus's own Python per document: smsstatus {smsstatus.__version__}, "
        f"Python {sys.version.split()[0]}; {len(bodies['XML'])} documents of "
        f"{args.document} statuses (whole histories), thread CPU time, median of "
        f"{args.passes} passes; aware: tz=ZoneInfo({args.zone!r}); "
        "StatusTable.receive on a null driver"
    )
    if len(drivers) < len(DRIVERS):
        print("\n(PostgreSQL not measured: psycopg is not installed)")
    print("\n## µs a document\n")
    print("| document | naive times | aware times |", "|---|---:|---:|", sep="\n")
    for document in dict.fromkeys(document for document, _ in cases):
        print(
            f"| {document} | {medians[document, 'naive']:.0f} "
            f"| {medians[document, 'aware']:.0f} |"
        )
    print("\n## Targets\n")
    verdicts = [
        (spent <= TARGET, f"{document}, {times} times: {spent:.0f} µs a document")
        for (document, times), spent in medians.items()
    ]
    for passed, text in verdicts:
        print(f"{'PASS' if passed else 'FAIL'} {text} (target <= {TARGET:.0f})")
    return 1 if args.check and not all(passed for passed, _ in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
