"""``smsstatus recover``: one recovery pass, for cron; the pass
``smsstatus serve --recover-every`` runs (`smsstatus.serve.recover_pending`)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from ._args import _Refused
from ._serve import (
    _CREDENTIALS_HELP,
    _add_database,
    _add_recovery,
    _add_zone,
    _credentials,
    _open_ledger,
    _recovery,
)

_RECOVER_HELP = """\
Ask the gateway (the pull status request) about every message of the ledger that is
not final and has not changed for --older-than, and store the answers.  One pass at a
time per table, whoever runs it: a pass that finds another running does nothing.
Exit status 0 when the pass ran or another was running; 2 when the gateway refused
or could not be reached (what was stored before stays)."""


def _recover_command(args: argparse.Namespace, out: TextIO) -> int:
    from smsstatus._errors import SmsStatusError

    recovery = _recovery(args, _credentials(args))
    _open_ledger(args.db)
    try:
        done = recovery()
    except SmsStatusError as exc:  # GatewayRefused, GatewayUnavailable, DecodeError
        raise _Refused(f"recovery stopped: {exc}") from None
    if done is None:
        print("another recovery is running: nothing done", file=out)
    else:
        print(
            f"asked about {done.asked}, stored {done.stored}, "
            f"unanswered {done.unanswered}",
            file=out,
        )
    return 0


def _add_recover(commands: Any) -> None:
    recover = commands.add_parser(
        "recover",
        help="pull the statuses the push channel dropped (one pass, for cron)",
        description=f"{_RECOVER_HELP}\n\n{_CREDENTIALS_HELP}",
    )
    _add_database(recover)
    _add_zone(recover)
    _add_recovery(recover, older_than="1h")
    recover.set_defaults(run=_recover_command)
