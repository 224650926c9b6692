"""The ``smsstatus pull`` command, against a FakeGateway on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from smsstatus import Status, StatusReport
from smsstatus.cli import main
from smsstatus.pull import Credentials
from smsstatus.testing import FakeGateway

SECRET = "s3cret-pa55word"
READ = StatusReport(11, datetime(2026, 3, 1, 9, 0, 5), Status.READ, viber=Status.READ)
SENT = StatusReport(12, None, Status.SEND, sms=Status.SEND)


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("TOKEN", "LOGIN", "PASSWORD"):
        monkeypatch.delenv(f"SMSSTATUS_API_{name}", raising=False)
    monkeypatch.setenv("SMSSTATUS_API_LOGIN", "shop")
    monkeypatch.setenv("SMSSTATUS_API_PASSWORD", SECRET)
    with FakeGateway(credentials=Credentials(login="shop", password=SECRET)) as running:
        running.add(READ, SENT, parts=2, price="0.4500000")
        yield running


def run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    status = main(["pull", *argv])
    printed = capsys.readouterr()
    assert SECRET not in printed.out + printed.err
    return status, printed.out, printed.err


def test_pull_prints_the_statuses(gateway: FakeGateway, capsys: Any) -> None:
    status, out, err = run(capsys, "--base-url", gateway.url, "11", "12")
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "id_sms  time                 state  sms   viber  final",
        "11      2026-03-01 09:00:05  read   -     read   final",
        "12      -                    send   send  -",
        "",
        "2 reports, 0 errors (xml)",
    ]


def test_pull_json_lines_with_detail(gateway: FakeGateway, capsys: Any) -> None:
    status, out, _ = run(
        capsys,
        "--base-url",
        gateway.url,
        "--format",
        "json",
        "--detail",
        "--json",
        "11",
    )
    assert status == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {
            "id_sms": 11,
            "time": "2026-03-01 09:00:05",
            "state": "read",
            "sms": None,
            "viber": "read",
            "final": True,
            "parts": 2,
            "price": "0.4500000",
        }
    ]
    assert gateway.pulled[-1].detail


def test_pull_table_with_detail(gateway: FakeGateway, capsys: Any) -> None:
    _, out, _ = run(
        capsys, "--base-url", gateway.url, "--format=json", "--detail", "12"
    )
    assert out.splitlines()[-1] == "12: 2 parts, 0.4500000 each"


def test_pull_with_a_token(
    gateway: FakeGateway, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMSSTATUS_API_TOKEN", SECRET)  # wins over login and password
    status, _, err = run(capsys, "--base-url", gateway.url, "11")
    assert status == 2
    assert err == "smsstatus: the gateway refused: Incorrect login or password\n"
    assert gateway.pulled[-1].ids is None


def test_unanswered_ids_exit_1(gateway: FakeGateway, capsys: Any) -> None:
    status, out, err = run(capsys, "--base-url", gateway.url, "11", "404", "405")
    assert status == 1
    assert err == "not answered: 404 405\n"
    assert "1 report, 0 errors" in out


def test_unreadable_items_exit_1(gateway: FakeGateway, capsys: Any) -> None:
    gateway.misbehave(
        "answer", body=b'<response><state id_sms="11" time="">gone</state></response>'
    )
    status, out, _ = run(capsys, "--base-url", gateway.url, "--json", "11")
    assert status == 1
    assert json.loads(out)["index"] == 0


def test_no_credentials_exit_2(
    gateway: FakeGateway, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMSSTATUS_API_PASSWORD")
    status, out, err = run(capsys, "--base-url", gateway.url, "11")
    assert (status, out) == (2, "")
    assert "set SMSSTATUS_API_TOKEN, or SMSSTATUS_API_LOGIN" in err
    assert gateway.pulled == ()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--detail", "11"], "needs the JSON format"),
        (["--base-url", "ftp://x", "11"], "http:// or https://"),
    ],
)
def test_bad_arguments_exit_2(
    gateway: FakeGateway, capsys: Any, argv: list[str], message: str
) -> None:
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert message in err


def test_an_unreadable_answer_exits_2(gateway: FakeGateway, capsys: Any) -> None:
    gateway.misbehave("answer", body=b"<html/>")
    status, _, err = run(capsys, "--base-url", gateway.url, "11")
    assert status == 2
    assert "root element is <html>" in err


def test_an_unreachable_gateway_exits_2(gateway: FakeGateway, capsys: Any) -> None:
    gateway.misbehave("5xx")
    status, out, err = run(capsys, "--base-url", gateway.url, "11")
    assert (status, out) == (2, "")
    assert err.endswith("/xml/state.php: HTTP 503 (try again later)\n")


@pytest.mark.parametrize("output", [[], ["--json"]])
def test_items_echoing_the_credentials_print_redacted(
    gateway: FakeGateway, capsys: Any, output: list[str]
) -> None:
    # A 200 answer whose second item repeats the request's credentials: an error
    # item, printed with its raw text, in which they show as ***.
    echo = {"id_sms": 12, "error": "bad", "login": "shop", "password": SECRET}
    body = json.dumps([{"id_sms": 11, "state": "read"}, echo]).encode()
    gateway.misbehave("answer", body=body)
    status, out, _ = run(
        capsys, "--base-url", gateway.url, "--format", "json", *output, "11", "12"
    )
    assert status == 1
    raw = (
        out.split("raw: ")[-1]
        if output == []
        else json.loads(out.splitlines()[-1])["raw"]
    )
    assert json.loads(raw) == {**echo, "login": "***", "password": "***"}


def test_ids_must_be_numbers(capsys: Any) -> None:
    with pytest.raises(SystemExit) as info:
        main(["pull", "eleven"])
    assert info.value.code == 2
    assert "expected a whole number" in capsys.readouterr().err


def test_pull_json_lines_without_detail(gateway: FakeGateway, capsys: Any) -> None:
    status, out, _ = run(capsys, "--base-url", gateway.url, "--json", "12")
    assert status == 0
    assert json.loads(out) == {
        "id_sms": 12,
        "time": None,
        "state": "send",
        "sms": "send",
        "viber": None,
        "final": False,
    }
