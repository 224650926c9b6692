"""Recovery as ``smsstatus recover`` (cron) and ``serve --recover-every`` run it: one
pass under the table's lock (`smsstatus.serve.recover_pending`), and the background
loop's outcomes and back-off (`smsstatus.serve._loop`)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from _postgres import Database
from test_serve import environment

from smsstatus import Status, StatusReport
from smsstatus.pull import GatewayUnavailable
from smsstatus.serve import Pass, recover_pending
from smsstatus.serve._loop import RecoveryLoop
from smsstatus.serve._recovery import _exclusive
from smsstatus.sql import StatusTable
from smsstatus.testing import FakeGateway

pytestmark = pytest.mark.integration

WHEN = datetime(2026, 5, 1, 12, 0, 0)
IDS = range(101, 131)
UNKNOWN = 100  # a message the gateway has no status for: the first pending by any order


@pytest.fixture
def dropped(database: Database) -> Iterator[FakeGateway]:
    """A ledger holding `send` for the messages `IDS` (and for `UNKNOWN`, the oldest),
    whose final statuses only the gateway has, all unchanged for over a second."""
    table = StatusTable()
    connection = database.connect()
    table.create(connection)
    table.save(connection, [StatusReport(id_sms=UNKNOWN, time=None, state=Status.SEND)])
    time.sleep(0.01)
    table.save(
        connection,
        [StatusReport(id_sms=i, time=None, state=Status.SEND) for i in IDS],
    )
    connection.close()
    with FakeGateway() as gateway:
        gateway.add(
            *(StatusReport(id_sms=i, time=WHEN, state=Status.DELIVER) for i in IDS)
        )
        time.sleep(1.1)
        yield gateway


def states(database: Database) -> dict[int, Status]:
    connection = database.connect()
    try:
        rows = StatusTable().load(connection, [*IDS, UNKNOWN])
    finally:
        connection.close()
    return {id_sms: report.state for id_sms, report in rows.items()}


def recover_command(database: Database, gateway: FakeGateway, *args: str) -> Any:
    assert gateway.credentials.login
    assert gateway.credentials.password
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "smsstatus",
            "recover",
            "--db",
            database.url(),
            "--base-url",
            gateway.url,
            *args,
        ],
        env=environment(
            SMSSTATUS_TOKEN=None,
            SMSSTATUS_API_LOGIN=gateway.credentials.login,
            SMSSTATUS_API_PASSWORD=gateway.credentials.password,
        ),
        capture_output=True,
        timeout=60,
    )


def test_recover_walks_every_pending_page_past_the_unanswered(
    database: Database, dropped: FakeGateway
) -> None:
    done = recover_command(database, dropped, "--older-than", "1s", "--page", "7")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == "asked about 31, stored 30, unanswered 1\n"
    assert states(database) == {
        **dict.fromkeys(IDS, Status.DELIVER),
        UNKNOWN: Status.SEND,
    }
    # Pages of 7 ids, the unanswered one first: five requests, each id asked once.
    asked = [pulled.ids or () for pulled in dropped.pulled]
    assert [len(ids) for ids in asked] == [7, 7, 7, 7, 3]
    assert sorted(sum(asked, start=())) == [UNKNOWN, *IDS]
    # Nothing is older than an hour: a pass with the default asks nothing.
    again = recover_command(database, dropped)
    assert again.stdout.decode() == "asked about 0, stored 0, unanswered 0\n"


def test_one_pass_at_a_time(database: Database, dropped: FakeGateway) -> None:
    holder = database.connect()
    try:
        with _exclusive(holder, StatusTable()) as held:
            assert held
            busy = recover_pending(
                database.url(),
                dropped.credentials,
                older_than=timedelta(seconds=1),
                base_url=dropped.url,
            )
            assert busy is None
            done = recover_command(database, dropped, "--older-than", "1s")
            assert done.returncode == 0
            assert done.stdout.decode() == "another recovery is running: nothing done\n"
            assert dropped.pulled == ()
    finally:
        holder.close()
    # Released: the next pass runs.
    assert recover_pending(
        database.url(),
        dropped.credentials,
        older_than=timedelta(seconds=1),
        base_url=dropped.url,
    ) == Pass(asked=31, stored=30, unanswered=1)


def test_a_gateway_that_cannot_be_reached_exits_2(
    database: Database, dropped: FakeGateway
) -> None:
    dropped.misbehave("5xx", times=5)
    done = recover_command(database, dropped, "--older-than", "1s")
    assert done.returncode == 2
    assert done.stderr.decode().startswith("smsstatus: recovery stopped: ")
    assert done.stderr.decode().count("\n") == 1


class _Counter:
    def __init__(self, counts: dict[str, float], name: str) -> None:
        self.counts, self.name = counts, name

    def labels(self, *, outcome: str) -> _Counter:
        return _Counter(self.counts, f"{self.name}:{outcome}")

    def inc(self, amount: float = 1) -> None:
        self.counts[self.name] = self.counts.get(self.name, 0) + amount


class _Waits:
    """Stands for the loop's stop event: records each wait, stops after `rounds`."""

    def __init__(self, rounds: int) -> None:
        self.delays: list[float] = []
        self.rounds = rounds

    def wait(self, delay: float) -> bool:
        self.delays.append(delay)
        return len(self.delays) > self.rounds

    def set(self) -> None:
        pass


def test_the_loop_counts_each_outcome_and_backs_off_while_unavailable() -> None:
    outcomes: list[Any] = [
        GatewayUnavailable("down"),
        GatewayUnavailable("still down"),
        Pass(asked=3, stored=2, unanswered=1),
        None,
        RuntimeError("a bug"),
        GatewayUnavailable("down again"),
    ]

    def job() -> Pass | None:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome  # type: ignore[no-any-return]

    counts: dict[str, float] = {}
    counters = {name: _Counter(counts, name) for name in ("passes", "asked", "stored")}
    loop = RecoveryLoop(job, every=10.0, counters=counters)
    waits = _Waits(rounds=6)
    loop._stopping = waits  # type: ignore[assignment]
    loop.start()
    loop.stop(timeout=10)
    assert waits.delays == [0.0, 20.0, 40.0, 10.0, 10.0, 10.0, 20.0]
    assert counts == {
        "passes:unavailable": 3,
        "passes:done": 1,
        "passes:busy": 1,
        "passes:failed": 1,
        "asked": 3,
        "stored": 2,
    }
