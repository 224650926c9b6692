"""What the storage benchmarks (``store.py``, ``load.py``) share: the databases they
run on, the statuses they store, and the line that says where they ran.

The PostgreSQL server is either the one a ``--dsn`` names or a throwaway one started
by the helper the test suite uses (``tests/_postgres.py``), with fsync on, as a
production server has it.
"""

from __future__ import annotations

import platform
import random
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _postgres import Database, missing_reason, throwaway_server

from smsstatus import StatusReport
from smsstatus.testing import sample_histories

__all__ = ["Database", "databases", "machine", "statuses", "versions"]


def machine() -> str:
    """The CPU's model name and count, from /proc/cpuinfo where there is one."""
    import os

    name = platform.processor() or platform.machine() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} x {name}"


def versions(database: Database) -> str:
    if database.kind == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    connection = database.connect()
    try:
        (version,) = connection.execute("SHOW server_version").fetchone()
    finally:
        connection.close()
    return f"PostgreSQL {version.split()[0]}"


@contextmanager
def databases(kinds: list[str], dsn: str | None) -> Iterator[list[Database]]:
    """A fresh SQLite file (WAL) and/or a PostgreSQL database, as asked."""
    with ExitStack() as stack:
        found = []
        for kind in kinds:
            if kind == "sqlite":
                directory = stack.enter_context(tempfile.TemporaryDirectory())
                found.append(Database("sqlite", f"{directory}/statuses.sqlite3"))
            elif kind == "postgresql":
                if dsn is None:
                    reason = missing_reason()
                    if reason is not None:
                        sys.exit(f"cannot run on PostgreSQL: {reason}; or give --dsn")
                    dsn = stack.enter_context(throwaway_server(durable=True))
                found.append(Database("postgresql", dsn, "public"))
            else:
                sys.exit(f"unknown database {kind!r}: sqlite or postgresql")
        yield found


def statuses(count: int, *, seed: int) -> tuple[list[StatusReport], dict[int, Any]]:
    """`count` statuses of messages' histories (`sample_histories`), shuffled, a
    fifth of them twice, and the report each message's row must end with."""
    rng = random.Random(seed)
    history = sample_histories(count, seed=seed).reports  # at least `count`
    sent = [*history, *(report for report in history if rng.random() < 0.2)]
    rng.shuffle(sent)
    sent = sent[:count]
    # The cut may leave a message's latest status out: expect the furthest along
    # of what is sent.
    expected: dict[int, StatusReport] = {}
    for report in sent:
        if report.supersedes(expected.get(report.id_sms)):
            expected[report.id_sms] = report
    return sent, expected
