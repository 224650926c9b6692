"""``smsstatus serve``, run for real: the command in a subprocess, on 127.0.0.1 (a
free port), on a SQLite file or the session's PostgreSQL server, spoken to over HTTP;
every server is stopped by SIGTERM (or SIGINT) and must exit 0.

The fault test, at the end, restarts a PostgreSQL server of its own while 32
gateways deliver: the receiver must answer 503 while the database is gone, recover
by itself once it is back, and, after the gateways' retries, hold every id it
acknowledged.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import _postgres
import attrs
import pytest
from _postgres import Database

from smsstatus import Status, StatusReport, decode_ack, encode_xml
from smsstatus.sql import StatusTable
from smsstatus.testing import (
    Attempt,
    Delivery,
    FakeGateway,
    Gateway,
    sample_histories,
)

pytestmark = pytest.mark.integration

TOKEN = "serve-test-token-0123456789abcdefghijklmnopqrstuvwxyz"
DATA = Path(__file__).parent / "data"
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@attrs.frozen
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@attrs.define
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Answer(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            connection.close()

    def post(self, body: bytes, token: str = TOKEN) -> Answer:
        return self.request("POST", f"/statuses/{token}", body)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(60)

    def logged(self) -> str:
        return self.log.read_text(errors="replace")


def acked(answer: Answer) -> tuple[int, ...]:
    """The ids an answer acknowledged (in the format it is written in)."""
    assert answer.status == 200, answer
    json = "json" in answer.headers["content-type"]
    return decode_ack(answer.body, "json" if json else "xml")


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "smsstatus", *args]


def environment(**extra: str | None) -> dict[str, str]:
    env = {**os.environ, "SMSSTATUS_TOKEN": TOKEN, **extra}
    return {k: v for k, v in env.items() if v is not None}


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Starts ``smsstatus serve --db URL ARGS`` and waits until ``/healthz`` answers;
    kills whatever is still running after the test."""
    servers: list[Server] = []
    count = itertools.count()

    def start(url: str, *args: str, **env: str | None) -> Server:
        port = free_port()
        log = tmp_path / f"server-{next(count)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                command("serve", "--db", url, "--port", str(port), *args),
                env=environment(**env),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        server = Server(process, port, log)
        servers.append(server)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if server.request("GET", "/healthz").status == 200:
                    return server
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start:\n{server.logged()}")
            time.sleep(0.1)

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(30)


def stored(database: Database, ids: Any) -> dict[int, StatusReport]:
    connection = database.connect()
    try:
        return StatusTable().load(connection, ids)
    finally:
        connection.close()


def test_it_receives_both_formats_and_answers_each_route(
    database: Database, start: Callable[..., Server], tmp_path: Path
) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("open sesame\nsecond line\n")
    server = start(
        database.url(),
        "--workers",
        "2",
        "--dashboard-password-file",
        str(password_file),
    )

    xml = server.post((DATA / "gateway-example.xml").read_bytes())
    assert xml.status == 200
    assert xml.headers["content-type"].startswith("text/xml")
    assert acked(xml) == (4007, 4008, 4009)
    json = server.request(
        "POST", f"/statuses/{TOKEN}/", (DATA / "gateway-example.json").read_bytes()
    )
    assert json.status == 200
    assert set(acked(json)) == {4007, 4010}
    rows = stored(database, [4007, 4008, 4009, 4010])
    assert set(rows) == {4007, 4008, 4009, 4010}
    assert rows[4007].state is Status.DELIVER
    assert rows[4010].state is Status.SEND

    # A wrong token is 404 before anything is read or stored, like any unknown path.
    other = StatusReport(id_sms=99, time=None, state=Status.DELIVER)
    assert server.post(encode_xml([other]), token=TOKEN[:-1] + "x").status == 404
    assert server.post(encode_xml([other]), token=TOKEN + "/more").status == 404
    assert server.request("POST", "/elsewhere", b"").status == 404
    assert stored(database, [99]) == {}
    refused = server.request("GET", f"/statuses/{TOKEN}")
    assert (refused.status, refused.headers["allow"]) == (405, "POST")
    assert server.post(b"<not a document").status == 400

    health = server.request("GET", "/healthz")
    assert (health.status, health.body) == (200, b"ok\n")
    assert server.request("POST", "/healthz", b"").status == 405

    # The metrics are the server's, whichever worker answered what: ten more
    # deliveries on ten connections, spread over both workers by the kernel.
    for id_sms in range(10):
        report = StatusReport(id_sms=id_sms, time=None, state=Status.SEND)
        assert acked(server.post(encode_xml([report]))) == (id_sms,)
    metrics = server.request("GET", "/metrics")
    assert metrics.status == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    exposition = metrics.body.decode()
    assert 'smsstatus_documents_total{code="200",format="xml"} 11.0' in exposition
    assert 'smsstatus_documents_total{code="200",format="json"} 1.0' in exposition
    assert 'smsstatus_documents_total{code="400",format="xml"} 1.0' in exposition
    assert "smsstatus_receive_seconds_count" in exposition

    # The dashboard: any user name, the password being the file's first line.
    assert server.request("GET", "/dashboard").status == 401
    challenge = server.request("GET", "/dashboard").headers["www-authenticate"]
    assert challenge.startswith("Basic ")

    def basic(credentials: bytes) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(credentials).decode()}

    for wrong in (b"admin:open sesame\n", b"admin:second line", b"open sesame"):
        assert server.request("GET", "/dashboard", headers=basic(wrong)).status == 401
    garbled = {"Authorization": "Basic %%%"}
    assert server.request("GET", "/dashboard", headers=garbled).status == 401
    bearer = {"Authorization": "Bearer open sesame"}
    assert server.request("GET", "/dashboard", headers=bearer).status == 401
    for user in (b"admin", b"", "élodie".encode()):
        page = server.request(
            "GET", "/dashboard", headers=basic(user + b":open sesame")
        )
        assert page.status == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert b"<svg" in page.body
        assert b"<script" not in page.body

    assert server.stop() == 0
    log = server.logged()
    assert TOKEN not in log
    assert '"POST /statuses/*** HTTP/1.1" 200' in log
    assert '"POST /statuses/*** HTTP/1.1" 404' in log
    # The log line of each document (smsstatus.webhook), and never the body.
    assert log.count(" code=200 ") == 12
    assert "format=json size=" in log
    assert "deliver" not in log


def test_without_a_password_file_there_is_no_dashboard_and_big_bodies_get_413(
    tmp_path: Path, start: Callable[..., Server]
) -> None:
    server = start(f"sqlite:///{tmp_path / 'statuses.sqlite3'}", "--workers", "1")
    assert server.request("GET", "/dashboard").status == 404
    # Over the 16 MiB limit by its Content-Length: refused before it is read.
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
        raw.sendall(
            f"POST /statuses/{TOKEN} HTTP/1.1\r\nHost: x\r\n"
            f"Content-Length: {16 * 1024 * 1024 + 1}\r\n\r\n".encode()
        )
        assert raw.recv(4096).startswith(b"HTTP/1.1 413 ")
    # Over the limit without a Content-Length (chunked): refused while reading.
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    chunk = b"x" * (1024 * 1024)
    connection.request(
        "POST", f"/statuses/{TOKEN}", body=iter([chunk] * 17), encode_chunked=True
    )
    assert connection.getresponse().status == 413
    connection.close()
    # A sender that goes away half-way gets nothing, and costs nothing.
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
        raw.sendall(
            f"POST /statuses/{TOKEN} HTTP/1.1\r\nHost: x\r\n"
            "Content-Length: 1000\r\n\r\n<response>".encode()
        )
    assert server.request("GET", "/healthz").status == 200
    assert server.stop(signal.SIGINT) == 0
    log = server.logged()
    assert TOKEN not in log
    assert "Traceback" not in log
    # Both refusals are documents for the sinks (here the log line), never read.
    assert log.count(" code=413 ") == 2
    assert f"format=unknown size={16 * 1024 * 1024 + 1} reports=0" in log


@pytest.mark.parametrize(
    ("token", "what"),
    [(None, "missing"), ("", "missing"), ("short-token", "shorter than 32")],
)
def test_a_missing_or_short_token_exits_2_with_one_line(
    tmp_path: Path, token: str | None, what: str
) -> None:
    done = subprocess.run(
        command("serve", "--db", f"sqlite:///{tmp_path / 'db.sqlite3'}"),
        env=environment(SMSSTATUS_TOKEN=token),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2
    message = done.stderr.decode()
    assert message.count("\n") == 1
    assert f"SMSSTATUS_TOKEN is {what}" in message
    assert "short-token" not in message
    assert not (tmp_path / "db.sqlite3").exists()  # checked before anything is done


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--db", "mysql://user:hunter2@host/db"], "mysql://user:***@host/db"),
        (["--db", "sqlite:///{tmp}/no/such/dir/x.sqlite3"], "unable to open"),
        (
            [
                "--db",
                "sqlite:///{tmp}/db.sqlite3",
                "--dashboard-password-file",
                "{tmp}",
            ],
            "cannot read the dashboard password",
        ),
        (
            ["--db", "sqlite:///{tmp}/db.sqlite3", "--recover-every", "10m"],
            "no pull credentials",
        ),
    ],
)
def test_what_cannot_work_exits_2_with_one_line(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    env = environment(
        SMSSTATUS_API_TOKEN=None, SMSSTATUS_API_LOGIN=None, SMSSTATUS_API_PASSWORD=None
    )
    done = subprocess.run(
        command("serve", *(arg.format(tmp=tmp_path) for arg in args)),
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2
    message = done.stderr.decode()
    assert message.count("\n") == 1
    assert expected in message
    assert "hunter2" not in message


def test_healthz_and_deliveries_say_503_while_the_table_cannot_be_read(
    tmp_path: Path, start: Callable[..., Server]
) -> None:
    database = Database("sqlite", str(tmp_path / "statuses.sqlite3"))
    server = start(database.url(), "--workers", "1")
    report = StatusReport(id_sms=5, time=None, state=Status.DELIVER)
    connection = database.connect()
    connection.execute("ALTER TABLE smsstatus_delivery RENAME TO elsewhere")
    connection.commit()
    health = server.request("GET", "/healthz")
    assert health.status == 503
    delivery = server.post(encode_xml([report]))
    assert (delivery.status, delivery.headers["retry-after"]) == (503, "5")
    connection.execute("ALTER TABLE elsewhere RENAME TO smsstatus_delivery")
    connection.commit()
    connection.close()
    # Back by itself: the worker reopens its connection after a failure.
    assert server.request("GET", "/healthz").status == 200
    assert acked(server.post(encode_xml([report]))) == (5,)
    assert server.stop() == 0
    assert "the database failed (OperationalError)" in server.logged()


def test_sigterm_during_a_burst_loses_nothing_acknowledged(
    tmp_path: Path, start: Callable[..., Server]
) -> None:
    database = Database("sqlite", str(tmp_path / "statuses.sqlite3"))
    server = start(database.url(), "--workers", "2")
    acknowledged: set[int] = set()
    lock = threading.Lock()
    started = threading.Event()
    ids = itertools.count(1)

    def sender() -> None:
        while True:
            with lock:
                batch = [next(ids) for _ in range(20)]
            reports = [
                StatusReport(id_sms=i, time=None, state=Status.DELIVER) for i in batch
            ]
            try:
                answer = server.post(encode_xml(reports))
            except OSError:
                return  # the server has stopped accepting
            if answer.status != 200:
                return
            with lock:
                acknowledged.update(acked(answer))
            started.set()

    senders = [threading.Thread(target=sender) for _ in range(32)]
    for thread in senders:
        thread.start()
    assert started.wait(30)
    time.sleep(0.5)  # a burst under way
    assert server.stop() == 0
    for thread in senders:
        thread.join(60)
    assert len(acknowledged) > 100
    assert stored(database, acknowledged).keys() == acknowledged
    assert TOKEN not in server.logged()


def test_recover_every_stores_what_the_push_dropped(
    tmp_path: Path, start: Callable[..., Server]
) -> None:
    database = Database("sqlite", str(tmp_path / "statuses.sqlite3"))
    when = datetime(2026, 5, 1, 12, 0, 0)
    first = [StatusReport(id_sms=i, time=None, state=Status.SEND) for i in range(1, 31)]
    final = [
        StatusReport(id_sms=i, time=when, state=Status.DELIVER) for i in range(1, 31)
    ]
    login, password = tmp_path / "login", tmp_path / "password"
    with FakeGateway("json") as gateway:
        login.write_text(f"{gateway.credentials.login}\n")
        password.write_text(f"{gateway.credentials.password}\n")
        server = start(database.url(), "--workers", "1")
        gateway.add(*first)
        assert (
            gateway.push(f"http://127.0.0.1:{server.port}/statuses/{TOKEN}").lost
            == set()
        )
        assert server.stop() == 0
        # The final statuses are pushed while the receiver is down: all lost.
        gateway.add(*final)
        assert gateway.push(
            f"http://127.0.0.1:{server.port}/statuses/{TOKEN}"
        ).lost == {r.id_sms for r in final}
        time.sleep(1.1)  # pending: unchanged for at least --older-than
        server = start(
            database.url(),
            "--workers",
            "2",
            "--recover-every",
            "1s",
            "--older-than",
            "1s",
            "--page",
            "7",
            "--base-url",
            gateway.url,
            "--api-login-file",
            str(login),
            "--api-password-file",
            str(password),
            "--tz",
            "Europe/Moscow",
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rows = stored(database, range(1, 31))
            if all(row.state is Status.DELIVER for row in rows.values()):
                break
            time.sleep(0.2)
        assert {i: r.state for i, r in rows.items()} == dict.fromkeys(
            range(1, 31), Status.DELIVER
        )
        assert rows[1].time is not None
        assert rows[1].time.utcoffset() == timedelta(hours=3)
        metrics = server.request("GET", "/metrics").body.decode()
        assert "smsstatus_recovery_stored_total 30.0" in metrics
        assert 'smsstatus_recovery_passes_total{outcome="done"}' in metrics
        assert server.stop() == 0
    log = server.logged()
    assert "recovery: asked 30, stored 30, unanswered 0" in log
    assert gateway.credentials.password not in log


# --- the fault test: PostgreSQL restarted under load ---------------------------------

SENDERS = 32
OUTAGE = 2.0  # seconds the database is gone


def test_a_database_restart_under_load_loses_nothing_acknowledged(
    restartable_postgresql: _postgres.Server, start: Callable[..., Server]
) -> None:
    postgresql = restartable_postgresql
    database = Database("postgresql", postgresql.conninfo, "public")
    server = start(database.url(), "--workers", "2")
    histories = sample_histories(3000, seed=22)
    shares = [histories.reports[n::SENDERS] for n in range(SENDERS)]
    url = f"http://127.0.0.1:{server.port}/statuses/{TOKEN}"
    deliveries: list[Delivery] = []
    statuses: list[int | None] = []
    first_ack = threading.Event()

    def attempted(attempt: Attempt) -> None:
        statuses.append(attempt.status)
        if attempt.acknowledged:
            first_ack.set()

    def send(n: int) -> None:
        # Retries 1.5 s apart: the five attempts outlast the outage.
        gateway = Gateway("xml", batch_size=10, shuffle=True, seed=n, pause=1.5)
        deliveries.append(gateway.deliver_http(url, shares[n], on_attempt=attempted))

    senders = [threading.Thread(target=send, args=(n,)) for n in range(SENDERS)]
    for sender in senders:
        sender.start()
    assert first_ack.wait(30)
    postgresql.ctl("stop", "-m", "fast")
    gone = server.request("GET", "/healthz")
    time.sleep(OUTAGE)
    postgresql.ctl("start")
    for sender in senders:
        sender.join(120)
    assert server.stop() == 0

    assert gone.status == 503
    assert 503 in statuses  # the deliveries met the outage
    assert len(deliveries) == SENDERS
    acknowledged = frozenset().union(*(d.acknowledged for d in deliveries))
    lost = frozenset().union(*(d.lost for d in deliveries))
    assert lost == set()  # the receiver came back within the gateway's retries
    assert acknowledged == histories.latest.keys()
    connection = database.connect()
    try:
        stored = StatusTable().load(connection, acknowledged)
    finally:
        connection.close()
    assert stored.keys() == acknowledged
    assert all(
        stored[i].state is report.state for i, report in histories.latest.items()
    )
