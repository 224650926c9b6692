"""A Django project set up as docs/django.md says, run as a new user runs it: in
subprocesses (``manage.py migrate``, ``check``, ``runserver`` on 127.0.0.1), before
and after the token is exported, with the gateway's zone left out, and with bodies
that Django logs about."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from _snippets import section_blocks

pytest.importorskip("django")

pytestmark = pytest.mark.integration

TOKEN = "n3w-user-token-0123456789abcdefghijkl"


def run(project: Path, *argv: str, **env: str) -> Any:
    """``manage.py`` in `project`, with the environment minus SMSSTATUS_TOKEN plus
    `env`."""
    environ = {k: v for k, v in os.environ.items() if k != "SMSSTATUS_TOKEN"}
    return subprocess.run(
        [sys.executable, "manage.py", *argv],
        cwd=project,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``startproject mysite`` with the documented settings and URL lines."""
    root = tmp_path_factory.mktemp("newuser")
    settings_lines, url_lines = section_blocks("docs/django.md", "## Set-up")
    made = subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    settings = root / "mysite" / "settings.py"
    settings.write_text(
        "import os\nimport django\n" + settings.read_text() + "\n" + settings_lines
    )
    (line,) = [x for x in url_lines.splitlines() if "include(" in x]
    urls = root / "mysite" / "urls.py"
    urls.write_text(
        urls.read_text()
        .replace(
            "from django.urls import path", "from django.urls import include, path"
        )
        .replace("urlpatterns = [", "urlpatterns = [\n" + line)
    )
    return root


def test_migrate_before_the_token_is_exported_says_what_to_do(project: Path) -> None:
    done = run(project, "migrate")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "KeyError" not in done.stderr
    assert "(smsstatus.E001) SMSSTATUS_TOKEN is missing: set it" in done.stderr
    assert "export SMSSTATUS_TOKEN" in done.stderr
    done = run(project, "migrate", SMSSTATUS_TOKEN=TOKEN)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("left_out", "zone"),
    [("SMSSTATUS_TIMEZONE", "'UTC'"), ("SMSSTATUS_TIMEZONE, TIME_ZONE", "'America/")],
)
def test_a_gateway_zone_left_to_a_default_is_a_warning(
    project: Path, left_out: str, zone: str
) -> None:
    assert "smsstatus.W002" not in run(project, "check", SMSSTATUS_TOKEN=TOKEN).stderr
    (project / "mysite" / "nozone.py").write_text(
        f"from .settings import *\n\ndel {left_out}\n"
    )
    done = run(
        project, "check", SMSSTATUS_TOKEN=TOKEN, DJANGO_SETTINGS_MODULE="mysite.nozone"
    )
    assert done.returncode == 0  # a warning, not an error
    assert "(smsstatus.W002) SMSSTATUS_TIMEZONE is not set" in done.stderr
    assert f"TIME_ZONE {zone}" in done.stderr


@pytest.fixture
def runserver(project: Path) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """``manage.py runserver`` on 127.0.0.1 (migrated, token exported)."""
    assert run(project, "migrate", SMSSTATUS_TOKEN=TOKEN).returncode == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=project,
        env={**os.environ, "SMSSTATUS_TOKEN": TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.1)
        yield port, server
    finally:
        if server.poll() is None:  # the test did not stop it to read its log
            server.terminate()
            server.communicate(timeout=60)


def post(port: int, path: str, body: bytes, **options: Any) -> int:
    with closing(http.client.HTTPConnection("127.0.0.1", port, timeout=30)) as c:
        c.request(
            "POST", path, body=body, headers={"Content-Type": "text/xml"}, **options
        )
        return c.getresponse().status


def test_runserver_logs_no_token_without_the_logging_settings(
    runserver: tuple[int, subprocess.Popen[str]],
) -> None:
    port, server = runserver
    url = f"/sms/statuses/{TOKEN}"
    assert post(port, url, b"<response>") == 400
    assert post(port, url + "x", b"<response/>") == 404
    ok = b'<response><state id_sms="1" time="">send</state></response>'
    assert post(port, url, ok) == 200
    # What docs/django.md says: the development server cannot de-chunk a body.
    assert post(port, url, iter([ok]), encode_chunked=True) == 400
    server.terminate()
    log = server.communicate(timeout=60)[1]
    assert TOKEN not in log
    assert "Bad Request: /sms/statuses/***" in log
    assert "Not Found: /sms/statuses/***" in log
    assert '"POST /sms/statuses/*** HTTP/1.1" 200' in log
