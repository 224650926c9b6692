"""The Django example project (examples/django_app), for real: ``manage.py`` in a
subprocess, and gunicorn with two worker processes on 127.0.0.1, delivered to by
several concurrent senders, on SQLite and on the session's PostgreSQL server.

Also a project made the documented way from nothing (``django-admin startproject``,
two settings lines, one URL line, ``migrate``), delivered to.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from _snippets import section_blocks

pytest.importorskip("django")
pytest.importorskip("gunicorn")

import smsstatus
from smsstatus import Status, StatusReport
from smsstatus.sql import StatusTable, connect_sqlite
from smsstatus.testing import Gateway, sample_histories, sample_reports

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[1] / "examples" / "django_app"
TOKEN = "dj4ngo-example-token-0123456789abcdef"
MOSCOW = ZoneInfo("Europe/Moscow")


def run(argv: list[str], env: dict[str, str], cwd: Path = EXAMPLE) -> Any:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The example's environment on a new database, migrated; with `connect`, a
    function that opens a plain connection to that database."""
    env = {
        **os.environ,
        "SMSSTATUS_TOKEN": TOKEN,
        "SMSSTATUS_TIMEZONE": "Europe/Moscow",
        "PYTHONPATH": str(EXAMPLE),
    }
    if request.param == "sqlite":
        path = tmp_path / "statuses.sqlite3"
        env["SMSSTATUS_DATABASE"] = str(path)
        connect: Any = partial(connect_sqlite, path)
        drop = None
    else:
        import psycopg

        conninfo = request.getfixturevalue("postgresql")
        params = dict(part.split("=", 1) for part in conninfo.split())
        name = f"example_{os.getpid()}_{tmp_path.name[-8:]}".replace("-", "_").lower()
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        host = params["host"].replace("/", "%2F")
        env["DATABASE_URL"] = f"postgresql://postgres@{host}:{params['port']}/{name}"
        connect = partial(
            psycopg.connect, conninfo.replace("dbname=postgres", f"dbname={name}")
        )
        drop = partial(drop_database, conninfo, name)
    migrated = run([sys.executable, "manage.py", "migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    yield {"env": env, "connect": connect}
    if drop is not None:
        drop()


def drop_database(conninfo: str, name: str) -> None:
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_manage_py_check_refuses_a_missing_or_short_token(tmp_path: Path) -> None:
    env = {**os.environ, "SMSSTATUS_DATABASE": str(tmp_path / "db.sqlite3")}
    for token in ("", "too-short"):
        checked = run(
            [sys.executable, "manage.py", "check"], {**env, "SMSSTATUS_TOKEN": token}
        )
        assert checked.returncode == 1
        assert "smsstatus.E001" in checked.stderr
        assert "SMSSTATUS_TOKEN" in checked.stderr
    checked = run(
        [sys.executable, "manage.py", "check"], {**env, "SMSSTATUS_TOKEN": TOKEN}
    )
    assert checked.returncode == 0, checked.stderr


class Gunicorn:
    """The example served by gunicorn (its gunicorn.conf.py: two workers, the
    redacting access log) on a socket opened here, on 127.0.0.1."""

    def __init__(self, env: dict[str, str], cwd: Path = EXAMPLE, *args: str) -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.set_inheritable(True)
        self.port = listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/sms/statuses/"
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn"),
                *("--bind", f"fd://{listener.fileno()}", *args),
            ],
            cwd=cwd,
            env=env,
            pass_fds=[listener.fileno()],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        listener.close()
        self.access_log: str | None = None
        self.error_log = ""

    def stop(self) -> str:
        """Stops the server (once); its access log (its error log is then in
        `error_log`)."""
        if self.access_log is None:
            self.process.terminate()
            self.access_log, self.error_log = self.process.communicate(timeout=60)
        return self.access_log


@pytest.fixture
def gunicorn(project: dict[str, Any]) -> Iterator[Gunicorn]:
    server = Gunicorn(project["env"])
    try:
        wait_until_serving(server)
        yield server
    finally:
        server.stop()


def wait_until_serving(server: Gunicorn) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.process.poll() is None, server.process.communicate()[1]
        try:
            with closing(connection(server)) as c:
                c.request("GET", "/sms/statuses/x")
                if c.getresponse().status == 405:  # a GET, so not allowed
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


def connection(server: Gunicorn) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)


def in_zone(report: StatusReport, zone: ZoneInfo) -> StatusReport:
    """The report as stored: its wall clock read in `zone`."""
    return attrs.evolve(report, time=report.time and report.time.replace(tzinfo=zone))


def test_concurrent_senders_lose_nothing_and_every_row_is_exact(
    project: dict[str, Any], gunicorn: Gunicorn
) -> None:
    histories = sample_histories(600, seed=9)
    sent, latest = histories.reports, histories.latest
    rng = random.Random(9)
    senders = 4
    shares: list[list[StatusReport]] = [[] for _ in range(senders)]
    for report in sent:  # a message's statuses spread over several senders
        shares[rng.randrange(senders)].append(report)
    deliveries: list[Any] = [None] * senders

    def deliver(n: int) -> None:
        gateway = Gateway(
            "xml" if n % 2 else "json",
            batch_size=60,
            shuffle=True,
            duplicate=0.3,
            seed=n,
        )
        deliveries[n] = gateway.deliver_http(
            gunicorn.url + TOKEN, shares[n], timeout=60
        )

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for n, delivery in enumerate(deliveries):
        assert not delivery.lost
        assert delivery.acknowledged == {report.id_sms for report in shares[n]}
    with closing(project["connect"]()) as db:
        rows = StatusTable().load(db, latest)
    assert rows == {i: in_zone(report, MOSCOW) for i, report in latest.items()}


def test_a_worker_killed_mid_burst_loses_no_acknowledged_status(
    project: dict[str, Any], gunicorn: Gunicorn
) -> None:
    # Issue 24: SIGKILL of a gunicorn worker while four senders deliver.  The
    # deliveries it was handling get no answer and are sent again; whatever was
    # acknowledged is stored.
    reports = sample_reports(1600, seed=3)
    senders = 4
    shares = [reports[n::senders] for n in range(senders)]
    deliveries: list[Any] = [None] * senders
    attempts = 0
    killed: list[int] = []
    lock = threading.Lock()

    def kill_one_worker(attempt: Any) -> None:
        nonlocal attempts
        with lock:
            attempts += 1
            if attempts == 12:  # mid-burst: 80 batches in all
                master = gunicorn.process.pid
                children = Path(f"/proc/{master}/task/{master}/children").read_text()
                killed.append(int(children.split()[0]))
                os.kill(killed[0], signal.SIGKILL)

    def deliver(n: int) -> None:
        gateway = Gateway(batch_size=20, seed=n, pause=0.2)
        deliveries[n] = gateway.deliver_http(
            gunicorn.url + TOKEN, shares[n], timeout=60, on_attempt=kill_one_worker
        )

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert killed
    acknowledged = set().union(*(d.acknowledged for d in deliveries))
    assert not set().union(*(d.lost for d in deliveries))
    assert acknowledged == {r.id_sms for r in reports}
    with closing(project["connect"]()) as db:
        assert set(StatusTable().load(db, acknowledged)) == acknowledged


def test_chunked_requests_bad_items_and_the_redacted_access_log(
    project: dict[str, Any], gunicorn: Gunicorn
) -> None:
    body = smsstatus.encode_xml([StatusReport(41, time=None, state=Status.SEND)])
    with closing(connection(gunicorn)) as c:
        pieces = iter([body[:20], body[20:]])
        c.request("POST", f"/sms/statuses/{TOKEN}/", body=pieces, encode_chunked=True)
        answer = c.getresponse()
        assert (answer.status, smsstatus.decode_ack(answer.read(), "xml")) == (
            200,
            (41,),
        )
    bad = b'<response><state id_sms="42" time="">sent</state></response>'
    with closing(connection(gunicorn)) as c:
        c.request("POST", f"/sms/statuses/{TOKEN}", body=bad)
        # Kept as a RejectedItem, so acknowledged.
        assert smsstatus.decode_ack(c.getresponse().read(), "xml") == (42,)
    with closing(project["connect"]()) as db:
        assert set(StatusTable().load(db, [41, 42])) == {41}
        cursor = db.cursor()
        cursor.execute("SELECT id_sms, raw FROM smsstatus_delivery_rejected")
        rejected = [tuple(row) for row in cursor.fetchall()]
    assert rejected == [(42, '<state id_sms="42" time="">sent</state>')]
    log = gunicorn.stop()
    assert TOKEN not in log
    assert len(re.findall(r"POST /sms/statuses/\*\*\*/? ", log)) == 2, log


def test_a_worker_killed_mid_request_leaves_the_token_out_of_both_logs(
    tmp_path: Path,
) -> None:
    # A request whose body stops coming: gunicorn aborts its worker after the
    # timeout, and logs the request's URL with the traceback in its error log.
    env = {
        **os.environ,
        "SMSSTATUS_TOKEN": TOKEN,
        "SMSSTATUS_DATABASE": str(tmp_path / "statuses.sqlite3"),
        "PYTHONPATH": str(EXAMPLE),
    }
    migrated = run([sys.executable, "manage.py", "migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    server = Gunicorn(env, EXAMPLE, "--workers", "1", "--timeout", "2")
    try:
        wait_until_serving(server)
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as c:
            c.sendall(
                f"POST /sms/statuses/{TOKEN} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: text/xml\r\nContent-Length: 1000\r\n\r\n"
                "<response>".encode()
            )
            assert c.recv(100).startswith(b"HTTP/1.1 500 ")  # once aborted
        # The server goes on, with a new worker: a request that fails in Django.
        with closing(connection(server)) as c:
            c.request("POST", f"/sms/statuses/{TOKEN}", body=b"<response>")
            assert c.getresponse().status == 400
    finally:
        access_log = server.stop()
    error_log = server.error_log
    assert "WORKER TIMEOUT" in error_log
    assert "Error handling request POST /sms/statuses/***\nTraceback" in error_log
    assert TOKEN not in error_log
    assert TOKEN not in access_log
    assert "POST /sms/statuses/*** " in access_log


# --- a new project, the documented way -------------------------------------------


def test_a_new_project_set_up_as_documented_receives(tmp_path: Path) -> None:
    readme = section_blocks("README.md", "## Django")
    page = section_blocks("docs/django.md", "## Set-up")
    assert readme == page  # the README and the manual show the same set-up
    settings_lines, url_line = readme
    env = {**os.environ, "SMSSTATUS_TOKEN": TOKEN}
    made = run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(tmp_path)], env
    )
    assert made.returncode == 0, made.stderr
    settings = tmp_path / "mysite" / "settings.py"
    text = settings.read_text()
    for module in ("os", "django"):  # as the documentation says
        if f"\nimport {module}\n" not in text:
            text = f"import {module}\n" + text
    settings.write_text(text + "\n" + settings_lines)
    urls = tmp_path / "mysite" / "urls.py"
    text = urls.read_text().replace(
        "from django.urls import path", "from django.urls import include, path"
    )
    # The one line to add, from the block that shows it in urlpatterns.
    (line,) = [x for x in url_line.splitlines() if "include(" in x]
    urls.write_text(text.replace("urlpatterns = [", "urlpatterns = [\n" + line))
    for command in (["migrate"], ["check"]):
        done = run([sys.executable, "manage.py", *command], env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr

    server = Gunicorn(env, tmp_path, "--workers", "2", "mysite.wsgi")
    try:
        wait_until_serving(server)
        reports = sample_reports(200, seed=2)
        gateway = Gateway("xml", batch_size=30, shuffle=True, duplicate=0.3, seed=2)
        delivery = gateway.deliver_http(server.url + TOKEN, reports)
    finally:
        server.stop()
    assert delivery.acknowledged == {r.id_sms for r in reports}
    with closing(connect_sqlite(tmp_path / "db.sqlite3")) as db:
        rows = StatusTable().load(db, [r.id_sms for r in reports])
    # The documented settings name the gateway's zone (startproject's is UTC).
    assert rows == {r.id_sms: in_zone(r, MOSCOW) for r in reports}
