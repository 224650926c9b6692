"""The ``smsstatus`` command: look at a payload from the terminal, make one, or
deliver one to a running server the way the gateway would.

Exit status of ``decode``: 0 when every item decoded, 1 when some items were errors;
of ``replay``: 0 when nothing was lost, 1 otherwise.  Always 2 when the document was
refused or the command could not run (a one-line message on stderr).  The commands
only parse arguments and print: the work is done by the library's public modules.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import tzinfo
from typing import Any, TextIO

from ._ack import build_ack
from ._decode import decode
from ._errors import DecodeError
from ._model import Batch, ReportError, StatusReport, _wall_clock
from .testing import Attempt, Delivery, Gateway, sample_payload

__all__ = ["main"]

_COLUMNS = ("id_sms", "time", "state", "sms", "viber", "final")
# How many ids a line of ``replay`` output lists before it only counts the rest.
_SHOWN_IDS = 20


class _Refused(Exception):
    """A one-line reason to exit with status 2."""


def _read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise _Refused(f"cannot read {path}: {exc.strerror or exc}") from exc


def _zone(name: str) -> tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"unknown time zone {name!r}") from exc


def _report_row(report: StatusReport) -> tuple[str, ...]:
    return (
        str(report.id_sms),
        _wall_clock(report.time) or "-",
        report.state.value,
        report.sms.value if report.sms else "-",
        report.viber.value if report.viber else "-",
        "final" if report.is_final else "",
    )


def _print_table(batch: Batch, out: TextIO) -> None:
    rows = [_COLUMNS, *map(_report_row, batch.reports)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    for row in rows:
        print(
            "  ".join(
                cell.ljust(w) for cell, w in zip(row, widths, strict=True)
            ).rstrip(),
            file=out,
        )
    print(
        f"\n{_counted(len(batch.reports), 'report')}, "
        f"{_counted(len(batch.errors), 'error')} ({batch.format.value})",
        file=out,
    )
    for error in batch.errors:
        print(
            f"\nerror in item {error.index} (id_sms={error.id_sms}): {error.reason}",
            file=out,
        )
        print(f"  raw: {error.raw}", file=out)


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _report_json(report: StatusReport) -> dict[str, Any]:
    return {
        "id_sms": report.id_sms,
        "time": report.time.isoformat(" ") if report.time else None,
        "state": report.state.value,
        "sms": report.sms.value if report.sms else None,
        "viber": report.viber.value if report.viber else None,
        "final": report.is_final,
    }


def _error_json(error: ReportError) -> dict[str, Any]:
    return {
        "error": error.reason,
        "index": error.index,
        "id_sms": error.id_sms,
        "raw": error.raw,
    }


def _decode_command(args: argparse.Namespace, out: TextIO) -> int:
    try:
        batch = decode(_read_input(args.file), format=args.format, tz=args.tz)
    except DecodeError as exc:
        raise _Refused(str(exc)) from exc
    if args.ack:
        ack = build_ack(batch.reports, batch.format)
        print(ack.body.decode("utf-8"), file=out)
        for error in batch.errors:
            print(
                f"not acknowledged: item {error.index}: {error.reason}", file=sys.stderr
            )
    elif args.json:
        for report in batch.reports:
            print(json.dumps(_report_json(report)), file=out)
        for error in batch.errors:
            print(json.dumps(_error_json(error)), file=out)
    else:
        _print_table(batch, out)
    return 1 if batch.errors else 0


def _sample_command(args: argparse.Namespace, out: TextIO) -> int:
    try:
        payload = sample_payload(args.count, args.format, seed=args.seed, bad=args.bad)
    except ValueError as exc:
        raise _Refused(str(exc)) from exc
    text = payload.decode("utf-8")
    out.write(text if text.endswith("\n") else text + "\n")
    return 0


def _ids(ids: Sequence[int]) -> str:
    shown = " ".join(map(str, ids[:_SHOWN_IDS]))
    more = len(ids) - _SHOWN_IDS
    return f"{shown} ... and {more} more" if more > 0 else shown or "-"


def _print_attempt(attempt: Attempt, out: TextIO) -> None:
    answer = attempt.error or f"HTTP {attempt.status}"
    print(
        f"attempt {attempt.number}: sent {len(attempt.sent)}, {answer}, "
        f"acknowledged {len(attempt.acknowledged)}",
        file=out,
    )
    print(f"  sent:         {_ids(attempt.sent)}", file=out)
    print(f"  acknowledged: {_ids(attempt.acknowledged)}", file=out)


def _unreachable(delivery: Delivery) -> str | None:
    """Why ids were lost when the last attempts all failed in transport, else None."""
    if not delivery.lost:
        return None
    last = [a for a in delivery.attempts if a.number == delivery.attempts[-1].number]
    return last[-1].error if all(a.status is None for a in last) else None


def _replay_command(args: argparse.Namespace, out: TextIO) -> int:
    payload = _read_input(args.file)
    try:
        batch = decode(payload)
        gateway = Gateway(batch.format, attempts=args.attempts)
        delivery = gateway.deliver_http(args.url, payload, timeout=args.timeout)
    except ValueError as exc:  # a DecodeError, or a URL that is not http(s)
        raise _Refused(str(exc)) from exc
    for attempt in delivery.attempts:
        _print_attempt(attempt, out)
    for error in batch.errors:
        if error.id_sms is None:
            print(
                f"item {error.index} has no readable id_sms: it went out once and "
                "can never be acknowledged",
                file=out,
            )
    if delivery.lost:
        print(
            f"lost after {args.attempts} attempts: {_ids(sorted(delivery.lost))}",
            file=out,
        )
    else:
        print(f"nothing lost: {len(delivery.acknowledged)} acknowledged", file=out)
    reason = _unreachable(delivery)
    if reason is not None:
        raise _Refused(f"{args.url}: {reason}")
    return 1 if delivery.lost else 0


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _positive(text: str) -> int:
    value = _count(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a whole number >= 1, got 0")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smsstatus",
        description="Read the WebCom gateway's delivery-status documents.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    decode_parser = commands.add_parser(
        "decode",
        help="print the reports and per-item errors of a payload",
        description="Print the reports of a status document (XML or JSON) and the "
        "items that could not be read.  Exit status 0: every item decoded; 1: some "
        "items were errors; 2: the document was refused.",
    )
    decode_parser.add_argument(
        "file", metavar="FILE", help="the payload, or - for stdin"
    )
    decode_parser.add_argument(
        "--format",
        choices=["xml", "json"],
        help="the payload's format (default: sniff it)",
    )
    decode_parser.add_argument(
        "--tz", type=_zone, help="time zone of the gateway's times, e.g. Europe/Moscow"
    )
    output = decode_parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON lines")
    output.add_argument(
        "--ack", action="store_true", help="print the acknowledgement body instead"
    )
    decode_parser.set_defaults(run=_decode_command)

    sample_parser = commands.add_parser(
        "sample",
        help="print a realistic payload, maybe with bad items",
        description="Print a realistic status document such as the gateway sends, "
        "with --bad of its items deliberately bad (they decode as errors).",
    )
    sample_parser.add_argument(
        "--count", type=_count, default=10, help="how many items (default: 10)"
    )
    sample_parser.add_argument(
        "--format", choices=["xml", "json"], default="xml", help="(default: xml)"
    )
    sample_parser.add_argument(
        "--seed", type=int, help="the same seed prints the same payload"
    )
    sample_parser.add_argument(
        "--bad", type=_count, default=0, help="how many of the items are bad"
    )
    sample_parser.set_defaults(run=_sample_command)

    replay_parser = commands.add_parser(
        "replay",
        help="deliver a payload to a running server as the gateway would",
        description="POST a status document to URL as the gateway would: first the "
        "document as it is, then, up to --attempts attempts in all, the statuses "
        "whose ids the answers did not acknowledge (bad items as their raw text).  "
        "Prints each attempt, then the ids that would be lost.  Exit status 0: "
        "nothing lost; 1: some ids lost; 2: the document was refused or the server "
        "could not be reached.",
    )
    replay_parser.add_argument("url", metavar="URL", help="the endpoint's URL")
    replay_parser.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        default="-",
        help="the payload, or - for stdin (the default)",
    )
    replay_parser.add_argument(
        "--attempts",
        type=_positive,
        default=5,
        help="attempts per status before it is lost (default: 5, as the gateway)",
    )
    replay_parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds to wait for each answer (default: 10)",
    )
    replay_parser.set_defaults(run=_replay_command)
    _add_pull_command(commands)
    return parser


# --- smsstatus pull ----------------------------------------------------------------

_PULL_HELP = """\
Ask the gateway for the latest status of each ID (the pull status request) and print
the answer.  Credentials come from the environment only, never from the command line:
SMSSTATUS_API_TOKEN, or SMSSTATUS_API_LOGIN and SMSSTATUS_API_PASSWORD.  Exit status
0: every ID answered; 1: some IDs unanswered or items unreadable; 2: no credentials,
the gateway refused the request or its answer was unreadable; 3: the gateway could
not be reached (try again later)."""


def _pull_command(args: argparse.Namespace, out: TextIO) -> int:
    import os

    from .pull import Credentials, GatewayRefused, GatewayUnavailable, fetch_states

    def variable(name: str) -> str | None:
        return os.environ.get(f"SMSSTATUS_API_{name}") or None

    token = variable("TOKEN")
    try:
        credentials = Credentials(
            login=None if token else variable("LOGIN"),
            password=None if token else variable("PASSWORD"),
            token=token,
        )
    except ValueError as exc:
        raise _Refused(
            f"{exc}; set SMSSTATUS_API_TOKEN, or SMSSTATUS_API_LOGIN and "
            "SMSSTATUS_API_PASSWORD"
        ) from None
    try:
        answer = fetch_states(
            args.ids,
            credentials,
            base_url=args.base_url,
            format=args.format,
            detail=args.detail,
        )
    except GatewayUnavailable as exc:
        print(f"smsstatus: {exc}", file=sys.stderr)
        return 3
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


def _add_pull_command(commands: Any) -> None:
    from .pull import DEFAULT_BASE_URL

    pull = commands.add_parser(
        "pull",
        help="ask the gateway for the statuses of messages",
        description=_PULL_HELP,
    )
    pull.add_argument("ids", metavar="ID", type=_count, nargs="+", help="an id_sms")
    pull.add_argument(
        "--base-url",
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: ``sys.argv[1:]``); returns the exit
    status."""
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args, sys.stdout)
    except _Refused as exc:
        print(f"smsstatus: {exc}", file=sys.stderr)
        return 2
    return status
