"""bench/bench.py, bench/store.py and bench/load.py, run at a tiny size so that they
cannot rot.

The benchmark's figures depend on the machine, so this checks the shape of its report
(every table, row and column is there and every figure is a number), never a speed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest
from _postgres import Database

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "bench.py"
# The rows of the time table, and for each optional peer the package it needs.
CASES = (
    ("smsstatus XML", None),
    ("smsstatus receive XML", None),
    ("smsstatus receive_batch XML", None),
    ("floor XML (defusedxml)", None),
    ("xmltodict+pydantic", None),
    ("lxml hardened", "lxml"),
    ("smsstatus JSON", None),
    ("smsstatus JSON (pure)", None),
    ("smsstatus receive JSON", None),
    ("smsstatus receive_batch JSON", None),
    ("floor JSON (json.loads)", None),
    ("json+pydantic", None),
    ("pydantic validate_json", None),
    ("msgspec typed Struct", "msgspec"),
    ("orjson+loop", "orjson"),
)
RUN = [label for label, package in CASES if package is None or find_spec(package)]
SKIPPED = [label for label in dict(CASES) if label not in RUN]
NUMBER = re.compile(r"\d+\.\d+")
TINY = (
    "--sizes",
    "1,7",
    "--rounds",
    "2",
    "--items",
    "7",
    "--memory-items",
    "50",
    "--import-runs",
    "1",
    "--request-loops",
    "1",
    "--observe-loops",
    "2",
)


@pytest.fixture(scope="module")
def report() -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *TINY],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def table(report: str, heading: str) -> list[list[str]]:
    """The cells of the Markdown table under `heading`, header row first."""
    section = report.split(f"## {heading}", 1)[1].split("##", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert re.fullmatch(r"\|(-+:?\|)+", rows[1]), rows[1]  # the separator row
    return [
        [cell.strip() for cell in row.strip("|").split("|")]
        for row in [rows[0], *rows[2:]]
    ]


def test_header_names_python_machine_and_accelerator(report: str) -> None:
    first = report.splitlines()[0]
    assert first.startswith("smsstatus ")
    assert f"Python {sys.version_info.major}.{sys.version_info.minor}" in first
    assert "median of 2 rounds" in first
    fast = "on (msgspec " if find_spec("msgspec") else "off (no msgspec)"
    assert f"JSON accelerator {fast}" in first


def test_time_table_has_every_case_at_every_size(report: str) -> None:
    header, *rows = table(report, "Time, µs per item")
    assert header == ["case", "N=1", "N=7"]
    assert [row[0] for row in rows] == RUN
    for row in rows:
        assert all(NUMBER.fullmatch(cell) and float(cell) > 0 for cell in row[1:]), row
    for label in SKIPPED:
        assert f"Skipped {label}: " in report


def test_ratio_table_compares_ours_to_each_floor_and_peer(report: str) -> None:
    header, *rows = table(report, "Ratio, ours / other (lower is better)")
    assert header == ["comparison", "N=1", "N=7"]
    json_from = RUN.index("smsstatus JSON")
    assert [row[0] for row in rows] == [
        f"smsstatus {'XML' if index < json_from else 'JSON'} / {label}"
        for index, label in enumerate(RUN)
        if not label.startswith("smsstatus")  # ours and our variants
    ]
    for row in rows:
        assert all(NUMBER.fullmatch(cell) and float(cell) > 0 for cell in row[1:]), row


def test_variants_are_compared_to_decode(report: str) -> None:
    header, *rows = table(report, "Our variants, ratio to decode (lower is better)")
    assert header == ["comparison", "N=1", "N=7"]
    assert [row[0] for row in rows] == [
        "smsstatus receive XML / smsstatus XML",
        "smsstatus receive_batch XML / smsstatus XML",
        "smsstatus JSON (pure) / smsstatus JSON",
        "smsstatus receive JSON / smsstatus JSON",
        "smsstatus receive_batch JSON / smsstatus JSON",
    ]
    for row in rows:
        assert all(NUMBER.fullmatch(cell) and float(cell) > 0 for cell in row[1:]), row


def test_memory_table_gives_peak_over_kept(report: str) -> None:
    header, *rows = table(report, "Memory, decoding 50 items")
    assert header == ["format", "peak traced MiB", "kept by Batch MiB", "peak / kept"]
    assert [row[0] for row in rows] == ["XML", "JSON"]
    for row in rows:
        assert all(NUMBER.fullmatch(cell) for cell in row[1:]), row
        assert float(row[3]) >= 1.0  # the peak includes what is kept


def test_import_table_has_smsstatus_and_pydantic(report: str) -> None:
    header, *rows = table(report, "Import time, ms over a bare interpreter")
    assert header == ["import", "ms"]
    labels = [row[0] for row in rows]
    assert labels[:3] == ["smsstatus", "pydantic", "attrs"]
    assert ("msgspec" in labels) == bool(find_spec("msgspec"))
    assert labels[-1] == "smsstatus + first JSON decode"
    for row in rows:
        assert re.fullmatch(r"-?\d+\.\d", row[1]), row  # a difference of medians


def test_request_table_has_both_frameworks_and_formats(report: str) -> None:
    header, *rows = table(report, "Per request, µs (share of it in receive)")
    assert header == ["framework", "1 statuses", "10 statuses", "100 statuses"]
    assert [row[0] for row in rows] == [
        "Django XML",
        "Django JSON",
        "Flask XML",
        "Flask JSON",
    ]
    for row in rows:
        for cell in row[1:]:
            assert re.fullmatch(r"\d+ \(\d+%\)", cell), row


def test_every_target_gets_a_verdict(report: str) -> None:
    lines = report.split("## Targets", 1)[1].strip().splitlines()
    verdicts = [line.split(" ", 1)[0] for line in lines]
    assert len(lines) == 14 + len(OBSERVABILITY_VERDICTS)
    assert set(verdicts) <= {"PASS", "FAIL", "SKIP"}
    # N=1 was run, so the per-document target is judged; N=10 000 was not.
    assert verdicts[:4] == ["SKIP"] * 4
    assert verdicts[4] in {"PASS", "FAIL"}
    # The one at every N is judged on the sizes run.
    assert lines[5].split(" ", 1)[1].startswith("JSON vs pydantic validate_json at")
    assert verdicts[5] in {"PASS", "FAIL"}
    assert verdicts[6:11] == ["SKIP"] * 5  # set at N=100
    assert verdicts[11:13] == ["SKIP"] * 2  # memory targets are set at 100 000 items
    assert lines[13].split(" ", 1)[1].startswith("import vs pydantic: ")
    assert verdicts[13] in {"PASS", "FAIL"}
    observed = [line.split(":", 1)[0].split(" ", 1) for line in lines[14:]]
    assert [name for _, name in observed] == OBSERVABILITY_VERDICTS
    assert {verdict for verdict, _ in observed} <= {"PASS", "FAIL"}


STORED = "StatusTable.receive"  # on SQLite
BARE = ["receive_batch XML", "receive_batch JSON", "receive_batch JSON, tz"]
# Metrics on every row; the log line and tracing on the stored ones.
OBSERVABILITY_VERDICTS = [f"metrics on {row}" for row in BARE] + [
    f"{sink} on {STORED} {fmt}"
    for sink in ("metrics", "log line", "tracing")
    for fmt in ("XML", "JSON")
]


def test_observability_table_has_each_sink_on_each_workload(report: str) -> None:
    header, *rows = table(
        report, "Observability, µs per 100-status document (ratio to all off)"
    )
    assert header == ["workload", "off", "metrics", "tracing", "log line"]
    assert [row[0] for row in rows] == [*BARE, f"{STORED} XML", f"{STORED} JSON"]
    for row in rows:
        assert NUMBER.fullmatch(row[1]), row
        for cell in row[2:]:
            assert re.fullmatch(r"\d+\.\d \(\d+\.\d\d\)", cell), row


# --- bench/store.py and bench/load.py, the storage benchmarks ---------------------

BENCH = SCRIPT.parent


def run_bench(script: str, database: Database, *argv: str) -> str:
    where = ["--databases", database.kind]
    if database.kind == "postgresql":
        where += ["--dsn", database.target]
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *where, *argv],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_store_bench_reports_every_case(database: Database) -> None:
    report = run_bench(
        "store.py", database, "--sizes", "30,60", "--document", "10", "--rounds", "1"
    )
    assert report.startswith("smsstatus storage benchmark: Python ")
    header, *rows = table(report, "Statuses stored per second")
    assert header == ["database", "case", "N=30", "N=60"]
    floor = ["SQLite floor: save's statements, pre-built rows"]
    assert [row[1] for row in rows] == [
        "decode only",
        "per-report handler",
        "batch",
        "batch, 1 000-status documents",
        *(floor if database.kind == "sqlite" else []),
        "no ledger (0.2's save), whole histories",
        "ledger (StatusTable.receive), whole histories",
    ]
    for row in rows:
        assert all(re.fullmatch(r"\d+", cell) and int(cell) > 0 for cell in row[2:])
    header, *rows = table(report, "Ratio, batch / per-report handler")
    assert len(rows) == 1
    assert all(NUMBER.fullmatch(cell) for cell in rows[0][1:]), rows
    ceiling = re.search(
        r"^SQLite [\d.]+, per-report handler / SQLite floor \(in time a status\): "
        r"([\d.]+) at N=30, ([\d.]+) at N=60; ",
        report,
        re.MULTILINE,
    )
    assert (ceiling is not None) == (database.kind == "sqlite"), report
    header, *rows = table(report, "Ledger / no ledger, time a status (issue 19)")
    assert header == ["database", "N=30", "N=60"]
    assert len(rows) == 1
    assert all(NUMBER.fullmatch(cell) for cell in rows[0][1:]), rows
    verdicts = report.split("## Targets", 1)[1].strip().splitlines()
    assert len(verdicts) == (6 if database.kind == "postgresql" else 4)
    assert all(line.split(" ", 1)[0] in {"PASS", "FAIL"} for line in verdicts)


def test_load_run_loses_nothing_on_any_receiver(database: Database) -> None:
    report = run_bench(
        "load.py",
        database,
        *("--messages", "240", "--senders", "2", "--warm", "1", "--workers", "1"),
        *("--receivers", "all"),
    )
    receivers = [
        "wsgi",
        "app",
        "flask",
        "flask-per-delivery",
        "django",
        "django-per-request",
        "asgi",
        "asgi-thread",
        "fastapi",
        "fastapi-per-delivery",
        "serve",
    ]
    header, *rows = table(report, "Per request")
    assert header[3:6] == ["µs CPU a request: server", "client", "database server"]
    assert [row[1].split(":", 1)[0] for row in rows] == receivers
    for row in rows:
        assert row[2] in {"gunicorn", "uvicorn"}, row
        # CPU (the server's, the client's; the database server's on PostgreSQL)
        # and the ratios to the bare receiver of the same server: a run this
        # short may fall within one tick of the kernel's counters.
        assert all(re.fullmatch(r"\d+", cell) for cell in row[3:5]), row
        on_server = database.kind == "postgresql"
        assert bool(re.fullmatch(r"\d+", row[5])) == on_server, row
        assert all(re.fullmatch(r"\d+\.\d\d|-", cell) for cell in row[6:8]), row
        if not on_server:
            assert row[7] == "-", row
        if row[1].startswith(("wsgi:", "asgi:")):
            assert row[6] in {"1.00", "-"}, row
        assert re.fullmatch(r"\d+", row[8]), row  # statuses/s
        assert all(NUMBER.fullmatch(cell) for cell in row[9:]), row  # p50, p99
    verdicts = [line for line in report.splitlines() if " the bare receiver " in line]
    assert [line.split()[0] in {"PASS", "MISS"} for line in verdicts] == [True] * 3
    header, *rows = table(report, "Checks")
    assert [row[1] for row in rows] == receivers
    for row in rows:
        assert int(row[2]) > 0, row  # requests measured after the warm-up
        assert row[4:6] == ["0", "0"], row  # ids lost, rows wrong
        events, webhooks = (re.fullmatch(r"(\d+) \((-?\d+)\)", c) for c in row[6:])
        assert events is not None, row
        assert webhooks is not None, row
        assert events[2] == webhooks[2] == "0", row  # history and webhooks exact
        # Every POST the ledger's receivers answered is a row; 0.2's path keeps none.
        assert (int(webhooks[1]) > 0) == (row[1] != "app"), row
    assert report.rstrip().endswith(
        "PASS: no id lost, every row, the history and the webhooks exact"
    )


# --- bench/hostile.py (issue 11) ------------------------------------------------------

HOSTILE = SCRIPT.with_name("hostile.py")


def test_hostile_bench_prints_every_shape_next_to_the_gateway_s_form() -> None:
    done = subprocess.run(
        [sys.executable, str(HOSTILE), "--mib", "0.05", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    header, *rows = table("## hostile\n" + done.stdout, "hostile")
    assert header[:6] == ["format", "shape", "MiB", "outcome", "seconds", "x gateway"]
    formats = [row[0] for row in rows]
    assert formats == ["XML"] * 6 + ["JSON"] * 8
    references = [row for row in rows if row[1] == "gateway's own form"]
    assert [row[5] for row in references] == ["1.00", "1.00"]
    assert all("reports" in row[3] for row in references)
    for row in rows:
        assert all(NUMBER.fullmatch(cell) for cell in row[4:]), row
        assert row[3].startswith("refused: ") or "reports" in row[3] or "ids" in row[3]


def test_stats_bench_times_both_cases_at_every_size(database: Database) -> None:
    report = run_bench("stats.py", database, "--sizes", "300,900", "--rounds", "1")
    assert report.startswith("smsstatus stats benchmark: Python ")
    name = "SQLite" if database.kind == "sqlite" else "PostgreSQL"
    header, *rows = table(report, name)
    assert header == ["case", "N=300", "N=900"]
    assert [row[0] for row in rows] == ["24 hourly slices", "30 daily slices"]
    for row in rows:
        for cell in row[1:]:
            figure = re.fullmatch(r"(\d+\.\d) \((\d+) counted\)", cell)
            assert figure is not None, cell
    # The messages are spread over 30 days: the last 24 hours hold a few of them,
    # the 30 days nearly all.
    daily = [int(re.findall(r"\((\d+)", cell)[0]) for cell in rows[1][1:]]
    assert 250 <= daily[0] <= 300
    assert 800 <= daily[1] <= 900
    verdicts = report.split("## Targets", 1)[1].strip().splitlines()
    if database.kind == "postgresql":
        assert re.fullmatch(r"(PASS|FAIL) PostgreSQL, 24 hourly slices .*", verdicts[0])
    else:
        assert verdicts == ["(PostgreSQL not measured)"]


def test_rollup_bench_reports_the_cost_of_the_prototype(database: Database) -> None:
    # It exits 1 (which run_bench refuses) when the roll-up is not a recount.
    report = run_bench(
        "rollup.py", database, "--statuses", "400", "--rounds", "1", "--writers", "2"
    )
    assert report.startswith("smsstatus roll-up write cost: Python ")
    header, *rows = table(report, "Write cost of the roll-up")
    assert header[2:] == [
        "statuses/s, no roll-up",
        "statuses/s, roll-up",
        "time a status, roll-up / none",
    ]
    cases = ["one writer"] + (["2 writers"] if database.kind == "postgresql" else [])
    assert [row[1] for row in rows] == cases
    for row in rows:
        assert row[2].isdigit(), row
        assert row[3].isdigit(), row
        assert re.fullmatch(r"\d+\.\d{3}", row[4]), row
    (part,) = table(report, "Where the time goes (one writer, one pass)")[1:]
    assert re.fullmatch(r"\d+\.\d{3} \((triggers|its reads .*)\)", part[2]), part
    verdicts = report.split("## Target", 1)[1].strip().splitlines()
    assert len(verdicts) == len(cases)
    assert all(re.match(r"(PASS|FAIL) .*target <= 1\.1x", line) for line in verdicts)


REQUEST = SCRIPT.with_name("request.py")


def test_request_bench_compares_each_receiver_to_the_bare_function(
    database: Database,
) -> None:
    report = run_bench("request.py", database, "--documents", "2", "--rounds", "1")
    name = "SQLite" if database.kind == "sqlite" else "PostgreSQL"
    header, *rows = table(report, f"Per request, {name}")
    columns = ["case", "µs CPU per request", "ratio to bare"]
    if database.kind == "postgresql":  # the test's server runs here: its CPU too
        columns += ["with the server's", "ratio to bare"]
    assert header == columns
    # The README's set-up, then without each of its lines.
    if database.kind == "sqlite":
        without = ["Django, no WAL", "Django, CONN_MAX_AGE = 0", "Django, 0.3's lines"]
    else:
        without = ["Django, no prepare_threshold", "Django, CONN_MAX_AGE = 0"]
    django = ["Django, README", *without]
    assert [row[0] for row in rows] == [
        "bare",
        "bare ASGI",
        "Flask, README",
        "Flask, per delivery",
        "FastAPI, README",
        "FastAPI, per delivery",
        *django,
    ]
    assert rows[0][2::2] == ["1.00"] * (len(columns) // 2)
    for row in rows:
        assert all(re.fullmatch(r"\d+", cell) for cell in row[1::2]), row
        assert all(NUMBER.fullmatch(cell) for cell in row[2::2]), row
    assert re.search(r"^FastAPI, README to bare ASGI: \d+\.\d\d$", report, re.M)
    verdicts = report.split("## Targets", 1)[1].strip().splitlines()
    counted = [""] if database.kind == "sqlite" else ["", ", with the server's CPU"]
    assert [verdict.split(": ")[0].split(" ", 1)[1] for verdict in verdicts] == [
        f"{receiver} as the README shows it, {name}{how}"
        for receiver in ("Flask", "FastAPI", "Django")
        for how in counted
    ]
    for verdict in verdicts:
        assert re.fullmatch(
            r"(PASS|FAIL) .*: \d+\.\d\dx the bare WSGI function \(target <= .*\)",
            verdict,
        )


# --- bench/python.py (issue 25) -------------------------------------------------------

PYTHON = SCRIPT.with_name("python.py")


@pytest.mark.parametrize("msgspec", [True, False], ids=["msgspec", "pure"])
def test_python_bench_times_every_case_against_the_target(msgspec: bool) -> None:
    options = [] if msgspec else ["--no-msgspec"]
    done = subprocess.run(
        [sys.executable, str(PYTHON), "--documents", "3", "--passes", "1", *options],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = done.stdout
    assert report.startswith("smsstatus's own Python per document: smsstatus ")
    header, *rows = table(report, "µs a document")
    assert header == ["document", "naive times", "aware times"]
    json = "JSON (msgspec)" if msgspec and find_spec("msgspec") else "JSON (pure)"
    documents = [
        f"{name}, {database}"
        for name in ("XML", json)
        for database in ("SQLite", "PostgreSQL")
    ]
    assert [row[0] for row in rows] == documents
    for row in rows:
        assert all(cell.isdigit() and int(cell) > 0 for cell in row[1:]), row
    verdicts = report.split("## Targets", 1)[1].strip().splitlines()
    assert [re.sub(r"\d+ µs", "N µs", line.split(" ", 1)[1]) for line in verdicts] == [
        f"{document}, {times} times: N µs a document (target <= 250)"
        for document in documents
        for times in ("naive", "aware")
    ]
    assert all(line.split(" ", 1)[0] in {"PASS", "FAIL"} for line in verdicts)
