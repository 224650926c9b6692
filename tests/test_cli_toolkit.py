"""The ``smsstatus sample`` and ``smsstatus replay`` commands, run in-process."""

from __future__ import annotations

import io
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

import smsstatus
from smsstatus import Format, ReportError, StatusReport
from smsstatus._cli import main
from smsstatus.testing import sample_payload

# --- sample ------------------------------------------------------------------------


@pytest.mark.parametrize("format", ["xml", "json"])
def test_sample_prints_a_payload_with_the_bad_items_asked_for(
    format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["sample", "--count", "12", "--format", format, "--seed", "5", "--bad", "3"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n")
    assert out.encode() == sample_payload(12, format, seed=5, bad=3) + (
        b"\n" if format == "json" else b""
    )
    batch = smsstatus.decode(out)
    assert batch.format is Format(format)
    assert (len(batch.reports), len(batch.errors)) == (9, 3)


def test_sample_defaults_to_ten_good_xml_items(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sample"]) == 0
    batch = smsstatus.decode(capsys.readouterr().out)
    assert batch.format is Format.XML
    assert (len(batch.reports), len(batch.errors)) == (10, 0)


def test_sample_is_repeatable_with_a_seed(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for seed in ("1", "1", "2"):
        main(["sample", "--seed", seed])
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] != outputs[2]


def test_sample_refuses_more_bad_items_than_items(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sample", "--count", "2", "--bad", "3"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "smsstatus: bad must be from 0 to count (2), got 3\n"


@pytest.mark.parametrize(
    "args",
    [
        ["sample", "--count", "-1"],
        ["sample", "--count", "many"],
        ["sample", "--format", "csv"],
        ["replay"],
        ["replay", "http://x/", "--attempts", "0"],
    ],
)
def test_usage_errors_exit_with_2(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        main(args)
    assert exit.value.code == 2
    assert "usage:" in capsys.readouterr().err


# --- replay ------------------------------------------------------------------------


def endpoint(*, keep_errors: bool) -> Callable[..., Iterable[bytes]]:
    """A WSGI endpoint built on `receive`, storing bad items when `keep_errors`."""

    def on_error(error: ReportError) -> bool:
        return keep_errors

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        ack = smsstatus.receive(body, lambda report: None, on_error=on_error)
        start_response(f"{ack.status} OK", list(ack.headers.items()))
        return [ack.body]

    return app


def write_payload(tmp_path: Path, payload: bytes) -> str:
    path = tmp_path / "payload"
    path.write_bytes(payload)
    return str(path)


@pytest.mark.parametrize("format", ["xml", "json"])
def test_replay_to_an_endpoint_that_takes_everything_exits_0(
    format: str,
    serve: Callable[[Any], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = serve(endpoint(keep_errors=True))
    payload = sample_payload(30, format, seed=1, bad=2)
    assert main(["replay", url, write_payload(tmp_path, payload)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "attempt 1: sent 30, HTTP 200, acknowledged 30"
    assert out[1].startswith("  sent:         ")
    assert out[1].endswith(" ... and 10 more")
    assert out[-1] == "nothing lost: 30 acknowledged"
    assert len(out) == 4


def test_replay_shows_bad_items_retried_then_lost_and_exits_1(
    serve: Callable[[Any], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = serve(endpoint(keep_errors=False))
    payload = sample_payload(6, "xml", seed=2, bad=2)
    bad = sorted(e.id_sms for e in smsstatus.decode(payload).errors)
    shown = " ".join(map(str, bad))
    assert main(["replay", url, write_payload(tmp_path, payload)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "attempt 1: sent 6, HTTP 200, acknowledged 4"
    for number in range(2, 6):
        at = 3 * (number - 1)
        assert out[at : at + 3] == [
            f"attempt {number}: sent 2, HTTP 200, acknowledged 0",
            f"  sent:         {shown}",
            "  acknowledged: -",
        ]
    assert out[-1] == f"lost after 5 attempts: {shown}"


def test_replay_reads_stdin_and_honours_attempts(
    serve: Callable[[Any], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = serve(endpoint(keep_errors=False))
    payload = sample_payload(3, "json", seed=3, bad=1)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(payload)))
    assert main(["replay", url, "--attempts", "2"]) == 1
    out = capsys.readouterr().out
    assert out.count("attempt ") == 2
    assert "lost after 2 attempts: " in out


def test_replay_of_an_item_without_an_id_says_it_cannot_be_acknowledged(
    serve: Callable[[Any], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = serve(endpoint(keep_errors=True))
    payload = b'[{"id_sms": "1", "time": "", "state": "send"}, {"state": "send"}]'
    assert main(["replay", url, write_payload(tmp_path, payload)]) == 0
    out = capsys.readouterr().out
    assert "item 1 has no readable id_sms: it went out once and can never be" in out
    assert out.endswith("nothing lost: 1 acknowledged\n")


def test_replay_to_a_server_that_is_down_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/sms"
    path = write_payload(tmp_path, sample_payload(2, seed=1))
    assert main(["replay", url, path, "--attempts", "2", "--timeout", "2"]) == 2
    captured = capsys.readouterr()
    assert captured.out.count("transport error") == 2
    assert captured.err.startswith(f"smsstatus: {url}: transport error: ")
    assert captured.err.count("\n") == 1


def test_replay_is_1_when_the_server_answers_errors(
    serve: Callable[[Any], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("500 Internal Server Error", [])
        return [b"boom"]

    path = write_payload(tmp_path, sample_payload(2, seed=1))
    assert main(["replay", serve(broken), path, "--attempts", "1"]) == 1
    assert "attempt 1: sent 2, HTTP 500, acknowledged 0" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "http://127.0.0.1:9/", "MISSING"], "cannot read MISSING"),
        (["replay", "ftp://127.0.0.1/", "PAYLOAD"], "url must start with http"),
        (["replay", "http://127.0.0.1:9/", "EMPTY"], "body is empty"),
    ],
)
def test_replay_refusals_exit_2(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "PAYLOAD").write_bytes(sample_payload(1))
    (tmp_path / "EMPTY").write_bytes(b"")
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("smsstatus: ")
    assert message in captured.err


def test_decode_still_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    payload = sample_payload(4, "json", seed=1, bad=1)
    assert main(["decode", write_payload(tmp_path, payload)]) == 1
    assert "3 reports, 1 error (json)" in capsys.readouterr().out
    assert isinstance(smsstatus.decode(payload).reports[0], StatusReport)
