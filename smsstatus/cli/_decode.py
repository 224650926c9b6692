"""``smsstatus decode``: print the reports and per-item errors of a payload."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from smsstatus import DecodeError, Limits, build_ack, decode

from ._args import _positive, _read_input, _Refused, _size, _zone
from ._output import _error_json, _item, _print_table, _report_json


def _decode_command(args: argparse.Namespace, out: TextIO) -> int:
    limits = Limits(max_bytes=args.max_bytes, max_reports=args.max_reports)
    try:
        batch = decode(
            _read_input(args.file), format=args.format, tz=args.tz, limits=limits
        )
    except DecodeError as exc:
        raise _Refused(str(exc)) from exc
    if args.ack:
        ack = build_ack(batch.reports, batch.format)
        print(ack.body.decode("utf-8"), file=out)
        for error in batch.errors:
            print(f"not acknowledged: {_item(error)}: {error.reason}", file=sys.stderr)
    elif args.json:
        for report in batch.reports:
            print(json.dumps(_report_json(report)), file=out)
        for error in batch.errors:
            print(json.dumps(_error_json(error)), file=out)
    else:
        _print_table(batch, out)
    return 1 if batch.errors else 0


def _add_decode(commands: Any) -> None:
    parser = commands.add_parser(
        "decode",
        help="print the reports and per-item errors of a payload",
        description="Print the reports of a status document (XML or JSON) and the "
        "items that could not be read, named by their index (from 0).  Exit status "
        "0: every item decoded; 1: some items were errors; 2: the document was "
        "refused.",
    )
    parser.add_argument("file", metavar="FILE", help="the payload, or - for stdin")
    parser.add_argument(
        "--format",
        choices=["xml", "json"],
        help="the payload's format (default: sniff it)",
    )
    parser.add_argument(
        "--tz", type=_zone, help="time zone of the gateway's times, e.g. Europe/Moscow"
    )
    defaults = Limits()
    parser.add_argument(
        "--max-bytes",
        type=_size,
        default=defaults.max_bytes,
        metavar="SIZE",
        help="refuse a bigger payload; K, M, G suffixes (default: 16M)",
    )
    parser.add_argument(
        "--max-reports",
        type=_positive,
        default=defaults.max_reports,
        metavar="COUNT",
        help=f"refuse a payload of more items (default: {defaults.max_reports})",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON lines")
    output.add_argument(
        "--ack", action="store_true", help="print the acknowledgement body instead"
    )
    parser.set_defaults(run=_decode_command)


# --- sample -------------------------------------------------------------------------
