"""``smsstatus pull``: ask the gateway for the statuses of messages."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from ._args import _count, _environment_credentials, _Refused
from ._output import _error_json, _ids, _print_table, _report_json

_PULL_HELP = """\
Ask the gateway for the latest status of each ID (the pull status request) and print
the answer.  Credentials come from the environment only, never from the command line:
SMSSTATUS_API_TOKEN, or SMSSTATUS_API_LOGIN and SMSSTATUS_API_PASSWORD.  Exit status
0: every ID answered; 1: some IDs unanswered or items unreadable; 2: no credentials,
the gateway refused the request, could not be reached or answered unreadably."""


def _pull_command(args: argparse.Namespace, out: TextIO) -> int:
    from smsstatus.pull import (
        Credentials,
        GatewayRefused,
        GatewayUnavailable,
        fetch_states,
    )

    token, login, password = _environment_credentials()
    if not token and not (login and password):
        half = "SMSSTATUS_API_LOGIN" if login else "SMSSTATUS_API_PASSWORD"
        raise _Refused(
            (f"{half} alone is not enough" if login or password else "no credentials")
            + ": set SMSSTATUS_API_TOKEN, or SMSSTATUS_API_LOGIN and"
            " SMSSTATUS_API_PASSWORD, in the environment (the gateway's API token, or"
            " your account's login and password; never on the command line)"
        )
    try:
        credentials = Credentials(login=login, password=password, token=token)
    except ValueError as exc:  # e.g. a control character pasted into a secret
        raise _Refused(f"{exc}: check the SMSSTATUS_API_ variables") from None
    try:
        answer = fetch_states(
            args.ids,
            credentials,
            base_url=args.base_url,
            format=args.format,
            detail=args.detail,
        )
    except GatewayUnavailable as exc:
        raise _Refused(f"{exc} (try again later)") from None
    except GatewayRefused as exc:
        raise _Refused(f"the gateway refused: {exc.message}") from None
    except ValueError as exc:  # a bad argument, or an unreadable answer
        raise _Refused(str(exc)) from None
    batch = answer.batch
    if args.json:
        for report in batch.reports:
            line = _report_json(report)
            detail = answer.details.get(report.id_sms)
            if detail is not None:
                price = None if detail.price is None else str(detail.price)
                line.update(parts=detail.parts, price=price)
            print(json.dumps(line), file=out)
        for error in batch.errors:
            print(json.dumps(_error_json(error)), file=out)
    else:
        _print_table(batch, out)
        for id_sms, detail in answer.details.items():
            print(f"{id_sms}: {detail.parts} parts, {detail.price} each", file=out)
    unanswered = set(args.ids) - {report.id_sms for report in batch.reports}
    if unanswered:
        print(f"not answered: {_ids(sorted(unanswered))}", file=sys.stderr)
    return 1 if unanswered or batch.errors else 0


def _add_pull(commands: Any) -> None:
    from smsstatus.pull import DEFAULT_BASE_URL

    pull = commands.add_parser(
        "pull",
        help="ask the gateway for the statuses of messages",
        description=_PULL_HELP,
    )
    pull.add_argument("ids", metavar="ID", type=_count, nargs="+", help="an id_sms")
    pull.add_argument(
        "--base-url",
        metavar="URL",
        default=DEFAULT_BASE_URL,
        help=f"the gateway's address (default: {DEFAULT_BASE_URL})",
    )
    pull.add_argument(
        "--format", choices=["xml", "json"], default="xml", help="(default: xml)"
    )
    pull.add_argument(
        "--detail",
        action="store_true",
        help="also print each message's parts and price (needs --format json)",
    )
    pull.add_argument("--json", action="store_true", help="print JSON lines")
    pull.set_defaults(run=_pull_command)
