"""The ``smsstatus sample`` and ``smsstatus replay`` commands, run in-process."""

from __future__ import annotations

import io
import socket
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from _raw_server import RawServer, dripping

import smsstatus
from smsstatus import Format, ReportError, StatusReport
from smsstatus.cli import main
from smsstatus.testing import Send, sample_histories, sample_payload

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
    assert captured.err == (
        "smsstatus: bad must be from 0 to the number of items (2), got 3\n"
    )


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
    assert main(["replay", url, write_payload(tmp_path, payload), "--pause", "0"]) == 1
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
    assert main(["replay", url, "--attempts", "2", "--pause", "0"]) == 1
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
    assert "the item at index 1 has no readable id_sms: it went out once and" in out
    assert out.endswith("nothing lost: 1 acknowledged\n")


def test_replay_to_a_server_that_is_down_gives_up_at_once_with_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/sms"
    path = write_payload(tmp_path, sample_payload(2, seed=1))
    started = time.monotonic()
    assert main(["replay", url, path, "--pause", "30"]) == 2
    assert time.monotonic() - started < 30  # no pause: there was no second attempt
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"smsstatus: cannot connect to {url}: Connection refused (is the server "
        "running?); gave up without retrying\n"
    )


def test_replay_timeout_bounds_each_post_as_a_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An answer dripped a byte every 0.1 s: each read well within --timeout, the
    # whole answer (5 s) far past it.
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n<response/>\n"
    path = write_payload(tmp_path, sample_payload(1, seed=1))
    with RawServer(dripping(answer), every=0.1) as server:
        started = time.monotonic()
        args = ["replay", server.url, path, "--timeout", "1", "--attempts", "1"]
        assert main(args) == 2
        elapsed = time.monotonic() - started
    assert 1 <= elapsed < 2
    assert capsys.readouterr().err.endswith(": transport error: timed out\n")


def test_replay_reads_no_more_of_an_answer_than_a_document_can_be(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    size = 4 * smsstatus.Limits().max_bytes
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size
    path = write_payload(tmp_path, sample_payload(1, seed=1))
    with RawServer([head, *[b" " * (1 << 20)] * (size >> 20)]) as server:
        assert main(["replay", server.url, path, "--attempts", "1"]) == 1
    assert "over the limit of 16777216" in capsys.readouterr().out
    # What the kernel's buffers took beyond the limit is all the server could send.
    assert server.sent < size // 2


def replay_through(send: Send, monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes ``replay`` post through `send` instead of HTTP, whatever the URL."""
    monkeypatch.setattr("smsstatus.cli._replay._http_sender", lambda url, timeout: send)


def test_replay_gives_up_at_once_on_an_unknown_host(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    posts = []

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        posts.append(body)
        raise socket.gaierror(-2, "Name or service not known")

    replay_through(send, monkeypatch)
    path = write_payload(tmp_path, sample_payload(2, seed=1))
    assert main(["replay", "http://nowhere.invalid/", path]) == 2
    assert len(posts) == 1
    assert capsys.readouterr().err == (
        "smsstatus: cannot connect to http://nowhere.invalid/: Name or service not "
        "known (is the server running?); gave up without retrying\n"
    )


def test_replay_exits_2_when_the_last_attempt_failed_in_transport(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        raise TimeoutError("timed out")

    replay_through(send, monkeypatch)
    path = write_payload(tmp_path, sample_payload(2, seed=1))
    args = ["replay", "http://127.0.0.1:9/", path, "--attempts", "3", "--pause", "0"]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out.count("transport error: timed out") == 3
    assert captured.err == (
        "smsstatus: http://127.0.0.1:9/: transport error: timed out\n"
    )


def test_replay_is_1_when_the_server_answers_errors(
    serve: Callable[[Any], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("500 Internal Server Error", [])
        return [b"\n  boom: the view fell over\nTraceback (most recent call last):\n"]

    path = write_payload(tmp_path, sample_payload(2, seed=1))
    assert main(["replay", serve(broken), path, "--attempts", "1"]) == 1
    assert (
        "attempt 1: sent 2, HTTP 500: boom: the view fell over, acknowledged 0"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "http://127.0.0.1:9/", "MISSING"], "cannot read MISSING"),
        (["replay", "ftp://127.0.0.1/", "PAYLOAD"], "must be an http:// or https://"),
        (["replay", "http://127.0.0.1:9/", "EMPTY"], "body is empty"),
        # URLs urllib would take and fail on half-way, with a UnicodeError.
        (["replay", "http://127.0.0.1/\u00fc", "PAYLOAD"], "beyond ASCII in its path"),
        (["replay", f"http://{'a' * 64}/", "PAYLOAD"], "host name DNS cannot hold"),
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
    assert captured.err.count("\n") == 1  # one line, no traceback
    assert message in captured.err


def test_decode_still_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    payload = sample_payload(4, "json", seed=1, bad=1)
    assert main(["decode", write_payload(tmp_path, payload)]) == 1
    assert "3 reports, 1 error (json)" in capsys.readouterr().out
    assert isinstance(smsstatus.decode(payload).reports[0], StatusReport)


# --- replay's options ----------------------------------------------------------------


def counting_endpoint(sizes: list[int]) -> Callable[..., Iterable[bytes]]:
    """Takes every report, noting how many items each POST held."""

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        batch = smsstatus.decode(body)
        sizes.append(len(batch.reports) + len(batch.errors))
        ack = smsstatus.receive(body, lambda report: None, on_error=lambda e: True)
        start_response(f"{ack.status} OK", list(ack.headers.items()))
        return [ack.body]

    return app


def test_replay_batch_size_splits_every_attempt(
    serve: Callable[[Any], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sizes: list[int] = []
    url = serve(counting_endpoint(sizes))
    path = write_payload(tmp_path, sample_payload(30, "json", seed=1, bad=3))
    assert main(["replay", url, path, "--batch-size", "8"]) == 0
    assert sizes == [8, 8, 8, 6]
    out = capsys.readouterr().out
    assert out.count("attempt 1: sent ") == 4
    assert out.endswith("nothing lost: 30 acknowledged\n")


def test_replay_format_forces_the_documents_format(
    serve: Callable[[Any], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = serve(counting_endpoint([]))
    path = write_payload(tmp_path, sample_payload(3, "xml", seed=1))
    assert main(["replay", url, path, "--format", "xml"]) == 0
    assert main(["replay", url, path, "--format", "json"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("smsstatus: ")
    assert "JSON" in captured.err


def test_replay_pauses_between_attempts(
    serve: Callable[[Any], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("smsstatus.testing._simulator.time.sleep", slept.append)
    url = serve(endpoint(keep_errors=False))
    path = write_payload(tmp_path, sample_payload(4, seed=1, bad=1))
    assert main(["replay", url, path, "--pause", "0.25"]) == 1
    assert slept == [0.25] * 4
    slept.clear()
    assert main(["replay", url, path]) == 1
    assert slept == [1.0] * 4  # the default


@pytest.mark.parametrize(
    "args",
    [
        ["--batch-size", "0"],
        ["--pause", "-1"],
        ["--pause", "soon"],
        ["--pause", "inf"],
        ["--timeout", "0"],
        ["--format", "csv"],
    ],
)
def test_replay_usage_errors(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["replay", "http://127.0.0.1:9/", *args])
    assert exit.value.code == 2
    assert "usage:" in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("tty", "flag", "shown"),
    [
        (False, None, False),
        (True, None, True),
        (False, "--progress", True),
        (True, "--no-progress", False),
    ],
)
def test_replay_progress_shows_on_a_terminal_or_when_asked(
    tty: bool,
    flag: str | None,
    shown: bool,
    serve: Callable[[Any], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stderr = Terminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    url = serve(endpoint(keep_errors=False))
    path = write_payload(tmp_path, sample_payload(12, seed=4, bad=2))
    args = ["replay", url, path, "--batch-size", "5", "--pause", "0"]
    assert main(args + ([flag] if flag else [])) == 1
    progress = stderr.getvalue()
    assert capsys.readouterr().out.endswith("\n")  # the report is on stdout
    if not shown:
        assert progress == ""
    elif tty:
        # One line rewritten in place, wiped at the end.
        first = "attempt 1: 5 sent, 3 of 12 ids acknowledged"
        assert progress.startswith(f"\r{first}")
        assert "\n" not in progress
        assert progress.endswith(f"\r{' ' * len(first)}\r")
    else:
        # The first line at once, the last one at the end.
        assert progress.splitlines() == [
            "attempt 1: 5 sent, 3 of 12 ids acknowledged",
            "attempt 5: 2 sent, 10 of 12 ids acknowledged",
        ]


def test_replay_interrupted_still_tells_what_was_done(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[bytes] = []

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        if calls:
            raise KeyboardInterrupt
        calls.append(body)
        return 200, smsstatus.build_ack([], "xml").body

    replay_through(send, monkeypatch)
    path = write_payload(tmp_path, sample_payload(2, seed=1))
    assert main(["replay", "http://127.0.0.1:9/", path, "--pause", "0"]) == 130
    out = capsys.readouterr().out
    assert out.startswith("attempt 1: sent 2, HTTP 200, acknowledged 0\n")
    assert "lost" not in out


# --- sample --histories ---------------------------------------------------------------


@pytest.mark.parametrize("format", ["xml", "json"])
def test_sample_histories(format: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sample", "--histories", "--count", "40", "--seed", "3", "--format", format]
    assert main(args) == 0
    batch = smsstatus.decode(capsys.readouterr().out)
    histories = sample_histories(40, seed=3)
    assert len(batch.reports) == len(histories.reports) > 40
    assert [r.id_sms for r in batch.reports] == [r.id_sms for r in histories.reports]
    assert main([*args, "--bad", "5"]) == 0
    assert len(smsstatus.decode(capsys.readouterr().out).errors) == 5


def test_replay_progress_of_a_single_post_is_one_line(
    serve: Callable[[Any], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    url = serve(endpoint(keep_errors=True))
    path = write_payload(tmp_path, sample_payload(3, seed=4))
    assert main(["replay", url, path, "--progress", "--timeout", "5"]) == 0
    assert stderr.getvalue() == "attempt 1: 3 sent, 3 of 3 ids acknowledged\n"
    assert capsys.readouterr().out.endswith("nothing lost: 3 acknowledged\n")


def test_replay_progress_on_a_terminal_leaves_nothing_when_nothing_was_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stderr = Terminal()
    monkeypatch.setattr(sys, "stderr", stderr)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = write_payload(tmp_path, sample_payload(2, seed=1))
    assert main(["replay", f"http://127.0.0.1:{port}/", path]) == 2
    assert stderr.getvalue().startswith("smsstatus: cannot connect to ")
