"""``smsstatus serve``: the standalone receiver (`smsstatus.serve`), and what it shares
with ``smsstatus recover``: the database check, the pull credentials, durations."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any, TextIO

from smsstatus._duration import duration

from ._args import _environment_credentials, _positive, _Refused, _zone

if TYPE_CHECKING:
    from smsstatus.pull import Credentials

_SERVE_HELP = """\
Receive the gateway's statuses at POST /statuses/<token> and write them to the ledger
in the database --db names (created on start): sqlite:///relative/path,
sqlite:////absolute/path or postgresql://user@host/dbname.  The token comes from the
environment variable SMSSTATUS_TOKEN only (at least 32 characters).  Also GET /healthz,
GET /metrics, and GET /dashboard with --dashboard-password-file.  SIGTERM or SIGINT
ends it gracefully (exit status 0).  Needs the extra smsstatus[server]."""

_CREDENTIALS_HELP = """\
The pull request's credentials (for recovery) come from --api-token-file, or
--api-login-file and --api-password-file (the first line of each file), else from the
environment: SMSSTATUS_API_TOKEN, or SMSSTATUS_API_LOGIN and SMSSTATUS_API_PASSWORD;
never from the command line."""


def _open_ledger(url: str) -> None:
    """Create the ledger's tables at `url` (idempotent), or refuse with one line."""
    from smsstatus.sql import StatusTable
    from smsstatus.sql._url import (
        DatabaseUnavailable,
        connect,
        driver_error,
        first_line,
        redacted,
    )

    try:
        connection = connect(url, create=True)
    except DatabaseUnavailable as exc:
        raise _Refused(f"cannot open the database {exc}") from None
    try:
        StatusTable().create(connection)
    except driver_error(connection) as exc:
        where = redacted(url)
        raise _Refused(
            f"cannot create the tables in {where}: {first_line(exc)}"
        ) from None
    finally:
        connection.close()


def _credentials(args: argparse.Namespace) -> Credentials:
    """The pull credentials, from the files the arguments name, else the
    environment."""
    from smsstatus.pull import Credentials
    from smsstatus.serve._settings import read_secret

    def read(path: str | None) -> str | None:
        if path is None:
            return None
        try:
            return read_secret(path)
        except (OSError, ValueError) as exc:
            raise _Refused(f"cannot read {path}: {exc}") from None

    files = (args.api_token_file, args.api_login_file, args.api_password_file)
    if any(files):
        token, login, password = map(read, files)
    else:
        token, login, password = _environment_credentials()
    try:
        return Credentials(login=login, password=password, token=token)
    except ValueError as exc:
        raise _Refused(
            f"no pull credentials ({exc}): give --api-token-file, or "
            "--api-login-file and --api-password-file, or set SMSSTATUS_API_TOKEN, "
            "or SMSSTATUS_API_LOGIN and SMSSTATUS_API_PASSWORD"
        ) from None


def _serve_command(args: argparse.Namespace, out: TextIO) -> int:
    from smsstatus._token import check_token

    try:
        check_token(os.environ.get("SMSSTATUS_TOKEN"))
    except ValueError as exc:
        raise _Refused(str(exc)) from None
    try:
        import uvicorn  # noqa: F401

        from smsstatus.serve._run import run
        from smsstatus.serve._settings import Settings
    except ImportError as exc:
        raise _Refused(
            f"{exc.name} is missing: pip install 'smsstatus[server]'"
        ) from None
    settings = Settings(
        db=args.db, tz=args.tz, dashboard_password_file=args.dashboard_password_file
    )
    try:
        settings.dashboard_password()
    except (OSError, ValueError) as exc:
        raise _Refused(f"cannot read the dashboard password: {exc}") from None
    recovery = None
    if args.recover_every is not None:
        recovery = _recovery(args, _credentials(args))
    _open_ledger(args.db)
    run(
        settings,
        host=args.host,
        port=args.port,
        workers=args.workers,
        recovery=recovery,
        recover_every=args.recover_every.total_seconds() if recovery else 0.0,
    )
    return 0


def _recovery(args: argparse.Namespace, credentials: Credentials) -> Any:
    """A recovery pass on the arguments' database, ready to run."""
    from functools import partial

    from smsstatus.serve import recover_pending

    return partial(
        recover_pending,
        args.db,
        credentials,
        older_than=args.older_than,
        page=args.page,
        base_url=args.base_url,
        tz=_zone(args.tz),
    )


def _add_database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        required=True,
        help="sqlite:///relative/path, sqlite:////absolute/path or postgresql://...",
    )


def _add_recovery(parser: argparse.ArgumentParser, *, older_than: str) -> None:
    """The arguments ``serve`` and ``recover`` share for recovery."""
    from smsstatus.pull import DEFAULT_BASE_URL

    parser.add_argument(
        "--older-than",
        type=duration,
        default=duration(older_than),
        metavar="DURATION",
        help="recover messages not final and unchanged for this long "
        f"(default: {older_than})",
    )
    parser.add_argument(
        "--page",
        type=_positive,
        default=500,
        metavar="N",
        help="pending ids read and asked about at a time (default: 500)",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        default=DEFAULT_BASE_URL,
        help=f"the gateway's address (default: {DEFAULT_BASE_URL})",
    )
    for what in ("token", "login", "password"):
        parser.add_argument(
            f"--api-{what}-file",
            metavar="FILE",
            help=f"a file whose first line is the pull request's {what}",
        )


def _zone_name(name: str) -> str:
    _zone(name)
    return name


def _add_zone(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tz",
        type=_zone_name,
        default="UTC",
        metavar="ZONE",
        help="the gateway's time zone, e.g. Europe/Moscow (default: UTC)",
    )


def _add_serve(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the standalone receiver",
        description=f"{_SERVE_HELP}\n\n{_CREDENTIALS_HELP}",
    )
    _add_database(serve)
    serve.add_argument("--host", default="127.0.0.1", help="(default: 127.0.0.1)")
    serve.add_argument("--port", type=_positive, default=8080, help="(default: 8080)")
    _add_zone(serve)
    serve.add_argument(
        "--workers", type=_positive, default=2, metavar="N", help="(default: 2)"
    )
    serve.add_argument(
        "--dashboard-password-file",
        metavar="FILE",
        help="serve GET /dashboard to whoever gives the first line of FILE as the "
        "password (HTTP basic authentication, any user name)",
    )
    serve.add_argument(
        "--recover-every",
        type=duration,
        metavar="DURATION",
        help="recover pending messages in the background this often (e.g. 10m)",
    )
    _add_recovery(serve, older_than="1h")
    serve.set_defaults(run=_serve_command)
