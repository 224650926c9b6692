"""``smsstatus stats``, the ``--db`` URL rule (smsstatus/sql/_url.py) and the
durations every command takes (smsstatus/_duration.py)."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from test_stats import Row, insert, ledger, recount

from smsstatus import Status
from smsstatus._duration import duration
from smsstatus.cli import main
from smsstatus.sql import connect_sqlite
from smsstatus.sql._url import DatabaseUnavailable, connect, redacted

NOW = datetime.now(timezone.utc)


@pytest.fixture(autouse=True)
def _now() -> None:
    """Each test places its rows around its own start, not the module's import: the
    suite takes minutes, and an hour may turn in between."""
    global NOW
    NOW = datetime.now(timezone.utc)


def rows() -> list[Row]:
    # Placed by the hour, not the minute: "a minute ago" is in the previous slice
    # during the first minute of an hour.
    hour = NOW.replace(minute=0, second=0, microsecond=0)
    earlier = hour - timedelta(hours=2) + timedelta(minutes=1)  # 2 slices back
    return [
        Row(1, earlier, Status.READ, NOW, "promo"),
        Row(2, earlier, Status.DELIVER, tag="otp"),
        Row(3, hour, Status.EXPIRED, NOW),
        Row(4, NOW - timedelta(days=3), Status.READ, NOW),
    ]


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    connection = connect_sqlite("ledger.sqlite3")
    insert(connection, ledger(connection), rows())
    connection.close()
    return "sqlite:///ledger.sqlite3"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["stats", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_json_lines_are_the_buckets(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "--db", sqlite_url, "--json")
    assert status == 0
    lines = [json.loads(line) for line in out.splitlines()]
    # The slice holding now - 24h to the one holding now: 25 hours.
    assert len(lines) == 25
    starts = [datetime.fromisoformat(line["start"]) for line in lines]
    assert starts == [starts[0] + timedelta(hours=h) for h in range(25)]
    expected = recount(rows(), starts[0], NOW, timedelta(hours=1))
    got = [
        (
            start,
            line["messages"],
            {Status(s): n for s, n in line["states"].items() if n},
            {k: n for k, n in line["to_final"].items() if n},
        )
        for start, line in zip(starts, lines, strict=True)
    ]
    assert got == expected
    busy = next(line for line in lines if line["messages"] == 2)
    assert busy["final"] == 1
    assert busy["delivered"] == 2
    assert busy["delivery_rate"] == 1.0
    assert list(busy["to_final"]) == [
        "10s",
        "30s",
        "1m",
        "5m",
        "15m",
        "1h",
        "6h",
        "24h",
        "more",
    ]
    assert busy["to_final"]["6h"] == 1
    assert lines[0]["delivery_rate"] is None


def test_the_table_has_a_row_and_a_bar_per_slice(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "--db", sqlite_url, "--since", "4d", "--bucket", "1d")
    assert status == 0
    header, *lines = out.splitlines()
    assert header.split()[:3] == ["start", "(UTC)", "messages"]
    assert len(lines) == 5
    days = [(NOW - timedelta(days=4 - d)).strftime("%Y-%m-%d 00:00") for d in range(5)]
    assert [line[:16] for line in lines] == days
    three_days_ago = lines[1].split()
    assert three_days_ago[2:6] == ["1", "1", "1", "100.0%"]
    assert lines[0].split()[2:] == ["0", "0", "0", "-"]  # empty: no bar
    today = lines[-1]
    if NOW.hour >= 2:  # the messages of two hours ago are today's too
        # 3 messages, 2 delivered: the busiest slice's bar is full width.
        assert today.endswith("#" * 27 + "-" * 13)
    else:  # they were yesterday's: 2 delivered, a full bar; today 1 not delivered
        assert lines[-2].endswith("#" * 40)
        assert today.endswith(" " + "-" * 20)


def test_the_tag_filter(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--db", sqlite_url, "--tag", "promo", "--json")
    assert status == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert sum(line["messages"] for line in lines) == 1
    assert sum(line["states"]["read"] for line in lines) == 1


def test_svg_to_a_file_that_cannot_be_written_exits_2(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "--db", sqlite_url, "--svg", "no/such/dir/c.svg")
    assert status == 2
    assert err.startswith("smsstatus: cannot write no/such/dir/c.svg: ")


def test_svg_writes_the_chart(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, _ = run(
        capsys, "--db", sqlite_url, "--since", "6h", "--svg", "chart.svg"
    )
    assert (status, out) == (0, "")
    chart = (tmp_path / "chart.svg").read_text()
    assert chart.startswith("<svg ")
    assert chart.count('<g class="bar"') == 7
    assert "read 1" in chart  # the legend names each colour with its count


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--db", "sqlite:///missing.sqlite3"], "sqlite:///missing.sqlite3: no such"),
        (["--db", "mysql://u:secret@h/db"], "mysql://u:***@h/db: not a database URL"),
        (["--db", "sqlite:///empty.sqlite3"], "sqlite:///empty.sqlite3: no such table"),
        (
            ["--db", "sqlite:///ledger.sqlite3", "--bucket", "7m"],
            "bucket must divide a day",
        ),
        (
            ["--db", "sqlite:///ledger.sqlite3", "--since", "999999d"],
            "--since goes back before the year 1",
        ),
        (
            ["--db", "postgresql://me:secret@127.0.0.1:1/x?connect_timeout=2"],
            "postgresql://me:***@127.0.0.1:1/x?connect_timeout=2: ",
        ),
    ],
)
def test_what_cannot_be_read_exits_2_with_one_line(
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    sqlite3.connect("empty.sqlite3").close()
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err.startswith(f"smsstatus: {message}")
    assert err.count("\n") == 1
    assert "secret" not in err


def test_stats_on_postgresql(
    postgresql: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import psycopg

    params = dict(part.split("=", 1) for part in postgresql.split())
    with psycopg.connect(postgresql, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS cli_stats")
        admin.execute("CREATE DATABASE cli_stats")
    host = params["host"].replace("/", "%2F")
    url = f"postgresql://{params['user']}@{host}:{params['port']}/cli_stats"
    status, _, err = run(capsys, "--db", url)
    assert status == 2
    assert err == f'smsstatus: {url}: relation "smsstatus_delivery" does not exist\n'
    connection = connect(url)
    try:
        insert(connection, ledger(connection), rows())
    finally:
        connection.close()
    status, out, _ = run(capsys, "--db", url, "--json", "--since", "3h")
    assert status == 0
    assert [json.loads(line)["messages"] for line in out.splitlines()] == [0, 2, 0, 1]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://me:pa%40ss@db:5432/x", "postgresql://me:***@db:5432/x"),
        (
            "postgresql://db/x?password=pw&sslmode=require",
            "postgresql://db/x?password=***&sslmode=require",
        ),
        ("postgresql://me@db/x", "postgresql://me@db/x"),
        ("sqlite:////var/db.sqlite3", "sqlite:////var/db.sqlite3"),
    ],
)
def test_a_url_is_named_without_its_password(url: str, shown: str) -> None:
    assert redacted(url) == shown


def test_sqlite_urls_relative_and_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    sqlite3.connect("sub/a.sqlite3").close()
    for url in ["sqlite:///sub/a.sqlite3", f"sqlite:///{tmp_path}/sub/a.sqlite3"]:
        connection = connect(url)
        connection.close()
    assert f"sqlite:///{tmp_path}".startswith("sqlite:////")
    with pytest.raises(DatabaseUnavailable, match="no such"):
        connect("sqlite:///")
    connect("sqlite:///new.sqlite3", create=True).close()
    assert os.path.isfile("new.sqlite3")
    with pytest.raises(DatabaseUnavailable, match="unable to open"):
        connect("sqlite:///nodir/x.sqlite3", create=True)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0s", timedelta(0)),
        ("90s", timedelta(seconds=90)),
        ("10m", timedelta(minutes=10)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
    ],
)
def test_durations(text: str, value: timedelta) -> None:
    assert duration(text) == value


@pytest.mark.parametrize(
    "text", ["", "10", "h", "1.5h", "-1h", "1w", "1H", "1h30m", "99999999999d"]
)
def test_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="duration"):
        duration(text)


def test_a_bad_duration_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["stats", "--db", "sqlite:///x", "--since", "1w"])
    assert exit.value.code == 2
    assert "expected a duration such as" in capsys.readouterr().err
