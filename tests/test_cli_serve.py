"""The arguments of ``smsstatus serve`` and ``smsstatus recover`` that need no server:
where the pull credentials come from, and what is refused before anything starts.
(The commands themselves run for real in test_serve.py and test_serve_recovery.py.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from smsstatus.cli import _parser, main
from smsstatus.cli._args import _Refused
from smsstatus.cli._serve import _credentials

TOKEN = "cli-serve-token-0123456789abcdefghijklmnopqrstuvwxyz"


def credentials_of(*argv: str) -> object:
    return _credentials(_parser().parse_args(["recover", "--db", "sqlite:///x", *argv]))


@pytest.fixture(autouse=True)
def no_credentials_around(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOKEN", "LOGIN", "PASSWORD"):
        monkeypatch.delenv(f"SMSSTATUS_API_{name}", raising=False)


def test_credentials_come_from_the_first_line_of_files(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("the-api-token\nignored\n")
    (tmp_path / "login").write_text("me\r\n")
    (tmp_path / "password").write_text("pass word\n")
    token = credentials_of("--api-token-file", str(tmp_path / "token"))
    assert repr(token) == "Credentials(token='***')"
    assert token.token == "the-api-token"  # type: ignore[attr-defined]
    both = credentials_of(
        *("--api-login-file", str(tmp_path / "login")),
        *("--api-password-file", str(tmp_path / "password")),
    )
    assert (both.login, both.password) == ("me", "pass word")  # type: ignore[attr-defined]


def test_credentials_come_from_the_environment_without_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMSSTATUS_API_LOGIN", "me")
    monkeypatch.setenv("SMSSTATUS_API_PASSWORD", "secret")
    assert credentials_of().login == "me"  # type: ignore[attr-defined]
    monkeypatch.setenv("SMSSTATUS_API_TOKEN", "the-api-token")  # a token wins
    token = credentials_of()
    assert (token.token, token.login) == ("the-api-token", None)  # type: ignore[attr-defined]


def test_unusable_credentials_are_refused_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(_Refused, match=r"cannot read .*empty: .*first line is empty"):
        credentials_of("--api-token-file", str(tmp_path / "empty"))
    with pytest.raises(_Refused, match=r"cannot read .*missing"):
        credentials_of("--api-token-file", str(tmp_path / "missing"))
    (tmp_path / "login").write_text("me\n")
    with pytest.raises(_Refused, match="no pull credentials"):
        credentials_of("--api-login-file", str(tmp_path / "login"))


def test_serve_without_the_server_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SMSSTATUS_TOKEN", TOKEN)
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn fails
    assert main(["serve", "--db", "sqlite:///never.sqlite3"]) == 2
    assert capsys.readouterr().err == (
        "smsstatus: uvicorn is missing: pip install 'smsstatus[server]'\n"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--db", "x", "--recover-every", "10"],
        ["serve", "--db", "x", "--tz", "Mars/Olympus"],
        ["serve", "--db", "x", "--workers", "0"],
        ["recover", "--db", "x", "--older-than", "1w"],
        ["recover", "--older-than", "1h"],
    ],
)
def test_bad_arguments_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(argv)
    assert exited.value.code == 2


def test_recover_refuses_a_database_it_cannot_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SMSSTATUS_API_TOKEN", "the-api-token")
    url = f"sqlite:///{tmp_path}/no/such/dir/db.sqlite3"
    assert main(["recover", "--db", url]) == 2
    message = capsys.readouterr().err
    assert message.startswith(f"smsstatus: cannot open the database {url}")
    assert message.count("\n") == 1
