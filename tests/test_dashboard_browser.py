"""The dashboard in the Django admin, in a real headless browser (Debian's chromium,
driven by selenium through chromium-driver) against the example project served by
``manage.py runserver`` on 127.0.0.1, with the browser offline: the charts are drawn,
one bar per slice, and the page asked nothing of any other host.

The ledger is filled with `sample_histories` (what ``smsstatus sample --histories``
prints): each message registered as sent at a random moment of the last 30 days, its
statuses stored as the receiver stores them, and its first final status moved back
to when its history says it came.  With ``SMSSTATUS_SCREENSHOT=path.png`` in the
environment, the tests also save their screenshots there (and the dark theme's
beside it, ``-dark.png``): the pictures of docs/dashboard.md are made so
(``SMSSTATUS_SCREENSHOT=docs/images/dashboard.png``).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytest.importorskip("django")

from smsstatus.sql import Sent, StatusTable, connect_sqlite
from smsstatus.testing import sample_histories, sample_payload

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[1] / "examples" / "django_app"
TOKEN = "dashboard-example-token-0123456789abcdef"
PASSWORD = "a-long-test-password-42"
USERS = """
from django.contrib.auth.models import Permission, User
User.objects.create_superuser("admin", "", {password!r})
viewer = User.objects.create_user("viewer", "", {password!r}, is_staff=True)
viewer.user_permissions.add(Permission.objects.get(codename="view_delivery"))
User.objects.create_user("nobody", "", {password!r}, is_staff=True)
"""
MESSAGES = 3000


def browser_missing() -> str | None:
    for program in ("chromium", "chromedriver"):
        if shutil.which(program) is None:
            return f"no {program} on this machine (apt-get install chromium-driver)"
    return None


def fill(path: Path) -> int:
    """The ledger of the example's database, filled as the module says; the number
    of slices of the last 24 hours that have messages."""
    connection = connect_sqlite(path)
    table = StatusTable()
    table.create(connection)
    histories = sample_histories(MESSAGES, seed=20)
    rng = random.Random(20)
    now = datetime.now(timezone.utc)
    sent: dict[int, datetime] = {}
    for id_sms in histories.latest:
        # Half of them in the last day, as a busy day after a quieter month.
        back = timedelta(days=rng.random() * (1 if rng.random() < 0.5 else 30))
        sent[id_sms] = now - back
    table.register(
        connection, [Sent(i, sent_at=at, tag="promo") for i, at in sent.items()]
    )
    table.save(connection, histories.reports)
    # The first final status of each history came that long after the first one.
    first: dict[int, datetime] = {}
    for report in histories.reports:
        if report.time is not None:
            first.setdefault(report.id_sms, report.time)
            if report.is_final:
                took = report.time - first[report.id_sms] + timedelta(seconds=5)
                at = sent[report.id_sms] + took
                connection.execute(
                    f"UPDATE {table.name} SET final_at = ? WHERE id_sms = ?",
                    (at.strftime("%Y-%m-%d %H:%M:%S.%f"), report.id_sms),
                )
    # And each row last changed with its last status, not when it was stored.
    connection.execute(
        f"UPDATE {table.name} SET changed_at = COALESCE(final_at, seen_at)"
    )
    connection.commit()
    # Something refused and something rejected, for the list of problems.
    table.receive(connection, b"<response><state", remote="127.0.0.1")
    table.receive(connection, sample_payload(3, "xml", seed=1, bad=2))
    busy = {int((now - at) // timedelta(hours=1)) for at in sent.values()}
    connection.close()
    return len({hours for hours in busy if hours < 24})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, int]]:
    """The example project on a new SQLite file, migrated, filled, with three staff
    users, served by runserver on 127.0.0.1; its URL and the busy hours."""
    directory = Path(tempfile.mkdtemp(prefix="smsstatus-dashboard-"))
    database = directory / "statuses.sqlite3"
    env = {
        **os.environ,
        "SMSSTATUS_TOKEN": TOKEN,
        "SMSSTATUS_DATABASE": str(database),
        "PYTHONPATH": str(EXAMPLE),
        "DJANGO_SETTINGS_MODULE": "statusproject.settings",
    }
    manage = [sys.executable, "manage.py"]

    def run(*argv: str) -> None:
        done = subprocess.run(
            [*manage, *argv],
            cwd=EXAMPLE,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    run("migrate")
    run("shell", "-c", USERS.format(password=PASSWORD))
    busy = fill(database)
    port = free_port()
    log = directory / "runserver.log"
    with log.open("wb") as errors:
        server = subprocess.Popen(
            [*manage, "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
            cwd=EXAMPLE,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "runserver did not start"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", busy
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Headless chromium, offline: no background traffic, no host but 127.0.0.1
    resolvable; its performance log on."""
    reason = browser_missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test the dashboard in a browser, but {reason}")
        pytest.skip(f"DASHBOARD NOT TESTED IN A BROWSER: {reason}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for flag in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--window-size=1100,900",
    ]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(
        options=options, service=Service(shutil.which("chromedriver"))
    )
    try:
        yield driver
    finally:
        driver.quit()


def log_in(browser: Any, url: str, user: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    browser.get(f"{url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(user)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, 30).until(
        lambda driver: "/admin/login/" not in driver.current_url
    )


def requested_hosts(browser: Any) -> set[str]:
    import json

    hosts = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            hosts.add(urlsplit(message["params"]["request"]["url"]).netloc or "-")
    timings = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    hosts.update(urlsplit(name).netloc or "-" for name in timings)
    return hosts


def test_the_dashboard_draws_its_charts_offline(
    site: tuple[str, int], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    url, busy = site
    log_in(browser, url, "viewer")
    browser.get(f"{url}/admin/smsstatus/")
    browser.get_log("performance")  # from here on: the dashboard's requests only
    link = browser.find_element(By.LINK_TEXT, "Delivery dashboard")
    assert urlsplit(link.get_attribute("href")).path == "/admin/smsstatus/dashboard/"
    browser.get(link.get_attribute("href"))
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.smsstatus-chart")
    assert len(charts) == 6
    for chart in charts:
        assert chart.size["width"] > 300
        assert chart.size["height"] > 200
    bars = [chart.find_elements(By.CSS_SELECTOR, "g.bar") for chart in charts]
    assert [len(b) for b in bars] == [24, 9, 7, 9, 30, 9]
    inked = [
        bar
        for bar in bars[0]
        if any(
            rect.size["height"] > 0
            for rect in bar.find_elements(By.CSS_SELECTOR, "rect")[1:]
        )
    ]
    assert len(inked) == busy
    # The admin's own stylesheets and the page: nothing from another host.
    hosts = requested_hosts(browser)
    assert hosts == {urlsplit(url).netloc}, hosts
    problems = browser.find_elements(By.CSS_SELECTOR, ".smsstatus-dashboard tbody tr")
    assert len(problems) == 3  # two rejected items, one refused document
    links = [
        a.get_attribute("href")
        for a in browser.find_elements(By.CSS_SELECTOR, ".smsstatus-dashboard tbody a")
    ]
    assert links
    assert all(link.startswith(f"{url}/admin/smsstatus/") for link in links)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1100, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    shot = tmp_path / "dashboard.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("SMSSTATUS_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["SMSSTATUS_SCREENSHOT"])


@pytest.mark.parametrize(("user", "status"), [("nobody", 403), ("admin", 200)])
def test_only_staff_with_the_view_permission_see_it(
    site: tuple[str, int], browser: Any, user: str, status: int
) -> None:
    from selenium.webdriver.common.by import By

    url, _ = site
    log_in(browser, url, user)
    browser.get(f"{url}/admin/smsstatus/dashboard/")
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.smsstatus-chart")
    assert len(charts) == (6 if status == 200 else 0)
    if status == 403:
        assert "403" in browser.page_source or "Forbidden" in browser.page_source


# The text of the charts and the page's background, as the browser computes them.
COLOURS = """
const text = getComputedStyle(document.querySelector("svg.smsstatus-chart text"));
return [text.fill, getComputedStyle(document.body).backgroundColor];
"""


def luminance(colour: str) -> float:
    """Relative luminance (WCAG) of an ``rgb(...)`` computed colour."""
    red, green, blue = (int(c) / 255 for c in re.findall(r"\d+", colour)[:3])

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_charts_take_the_admins_light_or_dark_colours(
    site: tuple[str, int], browser: Any, scheme: str
) -> None:
    url, _ = site
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )
    log_in(browser, url, "viewer")
    browser.get(f"{url}/admin/smsstatus/dashboard/")
    text, background = browser.execute_script(COLOURS)
    lighter, darker = sorted([luminance(text), luminance(background)], reverse=True)
    assert (lighter + 0.05) / (darker + 0.05) >= 7  # WCAG AAA for text
    assert (luminance(text) > luminance(background)) == (scheme == "dark")
    target = os.environ.get("SMSSTATUS_SCREENSHOT")
    if target and scheme == "dark":  # the top of the page, for the docs
        assert browser.save_screenshot(target.replace(".png", "-dark.png"))
