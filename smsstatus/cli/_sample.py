"""``smsstatus sample``: print a realistic payload, maybe with bad items."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from smsstatus.testing import sample_payload

from ._args import _count, _Refused

# Written in pieces of this size: see `_sample_command`.
_PIECE = 64 * 1024


def _sample_command(args: argparse.Namespace, out: TextIO) -> int:
    try:
        payload = sample_payload(
            args.count,
            args.format,
            seed=args.seed,
            bad=args.bad,
            histories=args.histories,
        )
    except ValueError as exc:
        raise _Refused(str(exc)) from exc
    text = payload.decode("utf-8")
    text = text if text.endswith("\n") else text + "\n"
    # In pieces: one huge write to a pipe whose reader left can end without the
    # broken pipe showing, and the exit status would not tell.
    for start in range(0, len(text), _PIECE):
        out.write(text[start : start + _PIECE])
    return 0


def _add_sample(commands: Any) -> None:
    parser = commands.add_parser(
        "sample",
        help="print a realistic payload, maybe with bad items",
        description="Print a realistic status document such as the gateway sends, "
        "with --bad of its items deliberately bad (they decode as errors).",
    )
    parser.add_argument(
        "--count",
        type=_count,
        default=10,
        help="how many items, or messages with --histories (default: 10)",
    )
    parser.add_argument(
        "--format", choices=["xml", "json"], default="xml", help="(default: xml)"
    )
    parser.add_argument(
        "--seed", type=int, help="the same seed prints the same payload"
    )
    parser.add_argument(
        "--bad", type=_count, default=0, help="how many of the items are bad"
    )
    parser.add_argument(
        "--histories",
        action="store_true",
        help="several statuses per message along plausible paths (send, deliver, "
        "read...), in time order",
    )
    parser.set_defaults(run=_sample_command)
