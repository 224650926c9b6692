"""The ``smsstatus decode`` command, run in-process (and once as a subprocess)."""

from __future__ import annotations

import io
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

import smsstatus
from smsstatus import Status, StatusReport, build_ack, encode_json, encode_xml
from smsstatus.cli import main
from smsstatus.cli._args import _size
from smsstatus.testing import sample_payload

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
HOSTILE = Path(__file__).parent / "data" / "hostile"

GOOD = [
    StatusReport(4007, None, Status.DELIVER, sms=Status.DELIVER),
    StatusReport(4008, None, Status.READ, viber=Status.READ),
]
MIXED_JSON = (
    b'[{"id_sms": "1", "time": "2011-01-01 12:57:46", "state": "read",'
    b' "viber": "read"},'
    b' {"id_sms": "2", "time": "", "state": "nope"}]'
)


def write(tmp_path: Path, name: str, body: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(body)
    return str(path)


class Stdin:
    """A stand-in for `sys.stdin` with a binary buffer, as the command reads it."""

    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


@pytest.mark.parametrize("encode", [encode_xml, encode_json])
def test_exit_0_when_every_item_decoded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], encode: object
) -> None:
    path = write(tmp_path, "ok", encode(GOOD))  # type: ignore[operator]
    assert main(["decode", path]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["id_sms", "time", "state", "sms", "viber", "final"]
    assert lines[1].split() == ["4007", "-", "deliver", "deliver", "-"]
    assert lines[2].split() == ["4008", "-", "read", "-", "read", "final"]
    assert "2 reports, 0 errors" in out


def test_exit_1_when_some_items_were_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decode", write(tmp_path, "mixed.json", MIXED_JSON)]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    assert "1 report, 1 error (json)" in out
    assert "error at index 1 (id_sms=2): state" in out
    assert '  raw: {"id_sms": "2", "time": "", "state": "nope"}' in out


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"<response>", "malformed XML"),
        (b"[", "malformed JSON"),
        (b"hello", "neither XML nor JSON"),
        ((HOSTILE / "billion-laughs.xml").read_bytes(), "refused"),
    ],
)
def test_exit_2_when_the_document_was_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: bytes, message: str
) -> None:
    assert main(["decode", write(tmp_path, "bad", body)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("smsstatus: ")
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_exit_2_when_the_file_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.xml"
    assert main(["decode", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"smsstatus: cannot read {missing}")
    assert err.count("\n") == 1
    assert main(["decode", str(tmp_path)]) == 2  # a directory
    assert capsys.readouterr().err.count("\n") == 1


def test_the_bundled_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("statuses.xml", "statuses.json"):
        assert main(["decode", str(EXAMPLES / name)]) == 1
        out = capsys.readouterr().out
        assert "11 reports, 1 error" in out


def test_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--json", write(tmp_path, "m", MIXED_JSON)]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        {
            "id_sms": 1,
            "time": "2011-01-01 12:57:46",
            "state": "read",
            "sms": None,
            "viber": "read",
            "final": True,
        },
        {
            "error": lines[1]["error"],
            "index": 1,
            "id_sms": 2,
            "raw": '{"id_sms": "2", "time": "", "state": "nope"}',
        },
    ]
    assert "state" in lines[1]["error"]


def test_tz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "m", MIXED_JSON)
    assert main(["decode", "--json", "--tz", "Europe/Moscow", path]) == 1
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["time"] == "2011-01-01 12:57:46+03:00"


def test_an_unknown_tz_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["decode", "--tz", "Mars/Olympus", write(tmp_path, "m", MIXED_JSON)])
    assert info.value.code == 2
    assert "unknown time zone 'Mars/Olympus'" in capsys.readouterr().err


def test_ack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--ack", write(tmp_path, "m", MIXED_JSON)]) == 1
    out, err = capsys.readouterr()
    assert out == build_ack([1], "json").body.decode() + "\n"
    assert err.startswith("not acknowledged: index 1 (id_sms=2): state")
    assert main(["decode", "--ack", write(tmp_path, "x", encode_xml(GOOD))]) == 0
    out, err = capsys.readouterr()
    assert out == build_ack([4007, 4008], "xml").body.decode() + "\n"
    assert err == ""


def test_json_and_ack_exclude_each_other(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["decode", "--json", "--ack", write(tmp_path, "m", MIXED_JSON)])
    assert info.value.code == 2


def test_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", Stdin(encode_xml(GOOD)))
    assert main(["decode", "--json", "-"]) == 0
    assert [
        json.loads(line)["id_sms"] for line in capsys.readouterr().out.splitlines()
    ] == [
        4007,
        4008,
    ]
    monkeypatch.setattr(sys, "stdin", Stdin(b""))
    assert main(["decode", "-"]) == 2
    assert "empty" in capsys.readouterr().err


def test_format_forcing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "x", encode_xml(GOOD))
    assert main(["decode", "--format", "xml", path]) == 0
    capsys.readouterr()
    assert main(["decode", "--format", "json", path]) == 2
    assert "malformed JSON" in capsys.readouterr().err


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_python_dash_m() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "smsstatus", "decode", "examples/statuses.xml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "11 reports, 1 error (xml)" in result.stdout
    assert "error at index 11 (id_sms=5100242): time" in result.stdout
    assert result.stderr == ""


def test_the_main_module(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        sys, "argv", ["smsstatus", "decode", str(EXAMPLES / "statuses.json")]
    )
    with pytest.raises(SystemExit) as info:
        runpy.run_module("smsstatus", run_name="__main__")
    assert info.value.code == 1
    assert "11 reports, 1 error (json)" in capsys.readouterr().out


# --- limits -----------------------------------------------------------------------


def test_max_reports_and_max_bytes_lift_or_lower_the_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    many = [StatusReport(n, None, Status.SEND) for n in range(100_001)]
    path = write(tmp_path, "many.json", encode_json(many))
    assert main(["decode", "--json", path]) == 2
    assert "100000" in capsys.readouterr().err  # the limit, named
    assert main(["decode", "--json", "--max-reports", "100001", path]) == 0
    assert capsys.readouterr().out.count("\n") == 100_001
    small = write(tmp_path, "small.xml", encode_xml(GOOD))
    size = len(encode_xml(GOOD))
    assert main(["decode", "--max-bytes", str(size - 1), small]) == 2
    assert "smsstatus: " in capsys.readouterr().err
    assert main(["decode", "--max-bytes", str(size), small]) == 0
    assert main(["decode", "--max-bytes", "1k", small]) == 0


@pytest.mark.parametrize(
    ("text", "size"),
    [("1000", 1000), ("64K", 65536), ("16m", 16 << 20), ("1G", 1 << 30)],
)
def test_sizes_take_binary_suffixes(text: str, size: int) -> None:
    assert _size(text) == size


@pytest.mark.parametrize(
    "args",
    [
        ["--max-bytes", "0"],
        ["--max-bytes", "lots"],
        ["--max-bytes", "12T"],
        ["--max-bytes", "K"],
        ["--max-reports", "0"],
        ["--max-reports", "-5"],
    ],
)
def test_bad_limits_are_usage_errors(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["decode", *args, "-"])
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


# --- version, broken pipes, Ctrl-C ---------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"smsstatus {smsstatus.__version__}\n"


@pytest.mark.parametrize(
    "args",
    [
        ["sample", "--count", "100000"],
        ["sample", "--count", "100000", "--format", "json"],
        ["decode", "--json", "-"],
        ["decode", "-"],
    ],
)
def test_a_reader_that_goes_away_ends_the_command_quietly(args: list[str]) -> None:
    # `smsstatus ... | head -c 100`, with a real pipe: the reader takes 100 bytes
    # and closes its end long before the command is done writing.
    big = sample_payload(50_000, seed=1) if args[0] == "decode" else b""
    command = subprocess.Popen(
        [sys.executable, "-m", "smsstatus", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert command.stdin is not None
    assert command.stdout is not None
    assert command.stderr is not None
    command.stdin.write(big)
    command.stdin.close()
    assert len(command.stdout.read(100)) == 100
    command.stdout.close()
    errors = command.stderr.read()
    command.stderr.close()
    assert command.wait(timeout=120) == 141
    assert errors == b""


class BrokenStdout(io.StringIO):
    """A stdout whose reader went away, and that is no real file."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_broken_pipe_in_process_is_141_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdout", BrokenStdout())
    assert main(["sample"]) == 141
    assert capsys.readouterr().err == ""


def test_after_a_broken_pipe_stdout_points_at_the_null_device(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A real pipe whose reader is gone, standing for file descriptor 1.
    reader, writer = os.pipe()
    os.close(reader)
    stdout = open(writer, "w", encoding="utf-8", closefd=True)  # noqa: SIM115
    monkeypatch.setattr(sys, "stdout", stdout)
    try:
        assert main(["sample", "--count", "1000"]) == 141
        assert capsys.readouterr().err == ""
        # The flush at exit now writes to /dev/null instead of failing again.
        assert os.path.samestat(os.fstat(writer), os.stat(os.devnull))
        stdout.flush()
    finally:
        stdout.close()


def test_ctrl_c_is_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: object, **kwargs: object) -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr("smsstatus.cli._sample.sample_payload", interrupted)
    assert main(["sample"]) == 130
    assert capsys.readouterr() == ("", "")
