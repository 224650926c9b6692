"""``smsstatus stats``: how delivery is going, per slice of time, from the ledger."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta, timezone
from typing import Any, TextIO

from smsstatus._duration import duration
from smsstatus.sql import Bucket, StatusTable
from smsstatus.sql._url import (
    DatabaseUnavailable,
    connect,
    driver_error,
    first_line,
    redacted,
)

from ._args import _Refused

_BAR = 40  # characters of the longest bar


def _json(bucket: Bucket) -> dict[str, Any]:
    return {
        "start": bucket.start.isoformat(),
        "messages": bucket.messages,
        "states": {status.value: count for status, count in bucket.states.items()},
        "to_final": dict(bucket.to_final),
        "final": bucket.final,
        "delivered": bucket.delivered,
        "delivery_rate": bucket.delivery_rate,
    }


def _print_table(buckets: list[Bucket], out: TextIO) -> None:
    """One line per slice; the bar's ``#`` are the delivered messages, its ``-``
    the others, scaled to the busiest slice."""
    most = max((b.messages for b in buckets), default=0) or 1
    print("start (UTC)       messages  delivered  final  rate", file=out)
    for b in buckets:
        rate = "-" if b.delivery_rate is None else f"{100 * b.delivery_rate:.1f}%"
        delivered = round(_BAR * b.delivered / most)
        rest = round(_BAR * b.messages / most) - delivered
        print(
            f"{b.start:%Y-%m-%d %H:%M}  {b.messages:>8}  {b.delivered:>9}"
            f"  {b.final:>5}  {rate:>6}  {'#' * delivered}{'-' * rest}".rstrip(),
            file=out,
        )


def _stats_command(args: argparse.Namespace, out: TextIO) -> int:
    try:
        since = datetime.now(timezone.utc) - args.since
    except OverflowError:
        raise _Refused(f"--since goes back before the year 1: {args.since}") from None
    try:
        connection = connect(args.db)
    except DatabaseUnavailable as exc:
        raise _Refused(str(exc)) from None
    try:
        buckets = StatusTable().stats(
            connection, since=since, bucket=args.bucket, tag=args.tag
        )
    except ValueError as exc:
        raise _Refused(str(exc)) from None
    except driver_error(connection) as exc:
        raise _Refused(f"{redacted(args.db)}: {first_line(exc)}") from None
    finally:
        connection.close()
    if args.svg:
        from smsstatus.dashboard._svg import states_chart

        chart = states_chart(
            buckets,
            args.bucket,
            title=f"Messages by latest state since {since:%Y-%m-%d %H:%M} UTC",
        )
        try:
            with open(args.svg, "w", encoding="utf-8") as file:
                file.write(chart + "\n")
        except OSError as exc:
            raise _Refused(f"cannot write {args.svg}: {exc.strerror or exc}") from None
    elif args.json:
        for bucket in buckets:
            print(json.dumps(_json(bucket)), file=out)
    else:
        _print_table(buckets, out)
    return 0


def _add_stats(commands: Any) -> None:
    parser = commands.add_parser(
        "stats",
        help="how delivery is going, per slice of time",
        description="Print, for each slice of time since --since, the messages first "
        "seen in it and how they are doing now, from the ledger's database.",
    )
    parser.add_argument(
        "--db",
        required=True,
        metavar="URL",
        help="sqlite:///relative/path, sqlite:////absolute/path or postgresql://...",
    )
    parser.add_argument(
        "--since",
        type=duration,
        default=timedelta(hours=24),
        help="how far back: <n>s, <n>m, <n>h or <n>d (default: 24h)",
    )
    parser.add_argument(
        "--bucket",
        type=duration,
        default=timedelta(hours=1),
        help="the slice size, dividing a day (default: 1h)",
    )
    parser.add_argument("--tag", help="only the messages registered with this tag")
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json", action="store_true", help="one JSON object per line and slice"
    )
    output.add_argument(
        "--svg", metavar="FILE", help="write the chart of the slices to FILE"
    )
    parser.set_defaults(run=_stats_command)
