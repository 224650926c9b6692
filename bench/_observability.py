"""What metrics, tracing and the log line cost in the receive path, for bench.py.

Each workload answers 100-status documents with all three off, then with each one
on alone, in an order that rotates from round to round.  The clock is the thread's
CPU time (`time.thread_time`): the differences sought are a few percent, and on a
shared machine the wall clock's share of other processes' load is larger than that.
The workloads:

- ``receive_batch``: `smsstatus.receive_batch` with a store that does nothing (the
  worst case: nothing else to hide the cost behind), with naive times, and in JSON
  with a time zone too (then every report's lag is observed, as in the adapters,
  which always pass one); each figure is the median over the rounds of a sample's
  mean;
- ``StatusTable.receive``: the ledger's receive on SQLite (what a receiver does), a
  new document each call, in the gateway's zone; the four settings take turns
  document by document, each document timed alone, and each figure is the median
  document.  Turns, since the ledger's cost drifts as its tables grow; the median
  document, since a checkpoint of SQLite's write-ahead log costs a few documents'
  time and lands on one setting's sample or another's.

Tracing records every span with the OpenTelemetry SDK, through a span processor to
an exporter that drops them; the log line goes through a formatter to /dev/null.
Metrics and tracing rows are skipped, saying so, when their package is missing.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import smsstatus
from smsstatus import weblog
from smsstatus._observe import SINKS
from smsstatus.sql import StatusTable, connect_sqlite

ZONE = ZoneInfo("Europe/Moscow")
SINK_NAMES = ("metrics", "tracing", "log line")
N = 100


def _take_all(reports: tuple[smsstatus.StatusReport, ...]) -> None:
    pass


def _enablers() -> tuple[dict[str, Callable[[], None]], dict[str, str]]:
    """The function that turns each sink on, and the sinks skipped with the reason."""
    enablers: dict[str, Callable[[], None]] = {}
    skipped: dict[str, str] = {}
    try:
        from smsstatus import metrics
    except ImportError:
        skipped["metrics"] = "prometheus_client is not installed"
    else:
        enablers["metrics"] = metrics.enable
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            SimpleSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        from smsstatus import tracing
    except ImportError:
        skipped["tracing"] = "opentelemetry-sdk is not installed"
    else:

        class Drop(SpanExporter):
            def export(self, spans: Sequence[Any]) -> SpanExportResult:
                return SpanExportResult.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(Drop()))
        enablers["tracing"] = lambda: tracing.enable(tracer_provider=provider)
    logger = logging.getLogger("smsstatus.webhook")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.StreamHandler(open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    enablers["log line"] = weblog.enable
    return enablers, skipped


@contextmanager
def _only(sinks: list[Callable[..., object]]) -> Iterator[None]:
    saved = list(SINKS)
    SINKS[:] = sinks
    try:
        yield
    finally:
        SINKS[:] = saved


def _sinks_of(enable: Callable[[], None] | None) -> list[Callable[..., object]]:
    """The sinks `enable` registers, registered alone."""
    with _only([]):
        if enable is not None:
            enable()
        return list(SINKS)


class Workload(NamedTuple):
    label: str
    run: Callable[[int], float]  # answers that many documents; the seconds it took
    stored: bool  # into a database: what a receiver does


def _workloads(
    documents: dict[str, Callable[[int], bytes]],
) -> tuple[list[Workload], Callable[[], None]]:
    """The workloads, and what closes their database."""
    fixed = {fmt: make(0) for fmt, make in documents.items()}

    def bare(fmt: str, tz: Any) -> Callable[[int], float]:
        body = fixed[fmt]

        def run(count: int) -> float:
            start = time.thread_time()
            for _ in range(count):
                smsstatus.receive_batch(body, _take_all, tz=tz)
            return time.thread_time() - start

        return run

    work = [
        Workload("receive_batch XML", bare("xml", None), False),
        Workload("receive_batch JSON", bare("json", None), False),
        Workload("receive_batch JSON, tz", bare("json", ZONE), False),
    ]
    folder = tempfile.TemporaryDirectory()
    connection = connect_sqlite(str(Path(folder.name) / "bench.sqlite3"))
    table = StatusTable()
    table.create(connection)
    receive = functools.partial(table.receive, connection, tz=ZONE)
    for first, fmt in ((1, "xml"), (1_000_001, "json")):
        # Seeds of their own, so that the JSON rows do not store the ids (and
        # statuses) the XML rows stored already.
        made = iter(range(first, first + 1_000_000))

        def stored(count: int, fmt: str = fmt, made: Iterator[int] = made) -> float:
            # A new document (new ids) each call, made before the clock starts.
            bodies = [documents[fmt](next(made)) for _ in range(count)]
            start = time.thread_time()
            for body in bodies:
                receive(body)
            return time.thread_time() - start

        work.append(Workload(f"StatusTable.receive {fmt.upper()}", stored, True))

    def close() -> None:
        connection.close()
        folder.cleanup()

    return work, close


class Results(NamedTuple):
    """µs per document, by workload and sink ("off" for none)."""

    times: dict[tuple[str, str], float]
    workloads: list[str]
    stored: list[str]  # the workloads that store into a database
    sinks: list[str]
    skipped: dict[str, str]


def measure(
    documents: dict[str, Callable[[int], bytes]], rounds: int, loops: int
) -> Results:
    """`documents[fmt](seed)` makes a 100-status document; `loops` documents per
    sample of ``receive_batch``, and a quarter of it per setting and round for
    those stored."""
    enablers, skipped = _enablers()
    work, close = _workloads(documents)
    configs = [("off", _sinks_of(None))]
    configs += [
        (name, _sinks_of(enablers[name])) for name in SINK_NAMES if name in enablers
    ]
    times: dict[tuple[str, str], list[float]] = {}
    try:
        for round_ in range(rounds):
            shift = round_ % len(configs)
            order = configs[shift:] + configs[:shift]
            gc.collect()
            for workload in work:
                if workload.stored:
                    for _ in range(max(1, loops // 4)):
                        for name, sinks in order:
                            with _only(sinks):
                                seconds = workload.run(1)
                            times.setdefault((workload.label, name), []).append(
                                seconds * 1e6
                            )
                    continue
                for name, sinks in order:
                    with _only(sinks):
                        gc.collect()
                        seconds = workload.run(loops)
                    times.setdefault((workload.label, name), []).append(
                        seconds * 1e6 / loops
                    )
    finally:
        close()
    return Results(
        {key: statistics.median(values) for key, values in times.items()},
        [workload.label for workload in work],
        [workload.label for workload in work if workload.stored],
        [name for name, _ in configs],
        skipped,
    )


# (stored into a database, sink, limit on the ratio to all off)
TARGETS = (
    (False, "metrics", 1.10),
    (True, "metrics", 1.03),
    (True, "log line", 1.03),
    (True, "tracing", 1.10),
)


def report(results: Results, out: Callable[..., None] = print) -> list[str]:
    """Print the table; return the target lines (PASS / FAIL / SKIP)."""
    out("## Observability, µs per 100-status document (ratio to all off)")
    out()
    out("| workload | " + " | ".join(results.sinks) + " |")
    out("|---|" + "---:|" * len(results.sinks))
    times = results.times
    for label in results.workloads:
        off = times[label, "off"]
        cells = [f"{off:.1f}"] + [
            f"{times[label, sink]:.1f} ({times[label, sink] / off:.2f})"
            for sink in results.sinks[1:]
        ]
        out(f"| {label} | {' | '.join(cells)} |")
    for label, why in results.skipped.items():
        out(f"\nSkipped {label}: {why}.")
    out()
    lines = []
    for stored, sink, limit in TARGETS:
        rows = [w for w in results.workloads if (w in results.stored) == stored]
        if sink not in results.sinks:
            kind = "a database" if stored else "receive_batch"
            lines.append(f"SKIP {sink} on {kind}: {results.skipped[sink]}")
            continue
        for label in rows:
            ratio = times[label, sink] / times[label, "off"]
            verdict = "PASS" if ratio <= limit else "FAIL"
            lines.append(
                f"{verdict} {sink} on {label}: {ratio:.2f} (target <= {limit})"
            )
    return lines
