"""The ``smsstatus`` command: look at a payload from the terminal.

Exit status: 0 when every item decoded, 1 when some items were errors, 2 when the
document was refused or the command could not run (a one-line message on stderr).
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

__all__ = ["main"]

_COLUMNS = ("id_sms", "time", "state", "sms", "viber", "final")


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
        f"\n{len(batch.reports)} reports, {len(batch.errors)} errors "
        f"({batch.format.value})",
        file=out,
    )
    for error in batch.errors:
        print(
            f"\nerror in item {error.index} (id_sms={error.id_sms}): {error.reason}",
            file=out,
        )
        print(f"  raw: {error.raw}", file=out)


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
    return parser


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
