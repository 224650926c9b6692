"""The ``smsstatus`` command: look at a payload from the terminal, make one, or
deliver one to a running server the way the gateway would.

Strategy.  Each subcommand is one ``_add_<name>(commands)`` function that declares
its arguments and sets ``run`` to a ``_<name>_command(args, out) -> int``; `_COMMANDS`
lists them, so a new subcommand is one function and one entry.  The commands only
parse arguments and print: the work is done by the library's public modules.

Exit status, the same for every command: 0 when all went well; 1 when some items
were errors (``decode``) or some ids would be lost (``replay``); 2 when the document
was refused, the arguments were wrong or the server could not be reached (a one-line
message on stderr); 141 (128 + SIGPIPE, what a shell reports for a Unix tool that a
closed pipe ended) when the reader of stdout went away, as with ``| head``, without
a traceback; 130 on Ctrl-C.  Items are named by their 0-based index, as in
`ReportError.index`: "index 11" is the twelfth item.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Sequence
from datetime import tzinfo
from typing import Any, TextIO

from . import __version__
from ._ack import build_ack
from ._decode import decode
from ._errors import DecodeError
from ._model import Batch, Limits, ReportError, StatusReport, _wall_clock
from .testing import (
    Attempt,
    Delivery,
    Gateway,
    Send,
    _http_sender,
    sample_payload,
)

__all__ = ["main"]

_COLUMNS = ("id_sms", "time", "state", "sms", "viber", "final")
# How many ids a line of ``replay`` output lists before it only counts the rest.
_SHOWN_IDS = 20
# What a shell reports for a command that a closed pipe (SIGPIPE, 13) ended.
_BROKEN_PIPE = 128 + 13
_INTERRUPTED = 128 + 2
_PIECE = 64 * 1024
_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


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


# --- argument types -----------------------------------------------------------------


def _zone(name: str) -> tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"unknown time zone {name!r}") from exc


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


def _size(text: str) -> int:
    number, unit = text.strip(), ""
    if number[-1:].upper() in _SIZE_UNITS:
        number, unit = number[:-1], number[-1].upper()
    try:
        return _positive(number) * _SIZE_UNITS[unit]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 1000, 64K or 16M, got {text!r}"
        ) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds >= 0, got {text!r}")
    return value


def _some_seconds(text: str) -> float:
    value = _seconds(text)
    if value == 0.0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


# --- decode -------------------------------------------------------------------------


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
        print(f"\nerror at {_item(error)}: {error.reason}", file=out)
        print(f"  raw: {error.raw}", file=out)


def _item(error: ReportError) -> str:
    return f"index {error.index} (id_sms={error.id_sms})"


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


# --- replay -------------------------------------------------------------------------


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


class _Progress:
    """How far a replay is, on stderr: one line rewritten in place on a terminal,
    else a line every few seconds and a last one at the end."""

    def __init__(self, stream: TextIO, ids: int) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._every = 0.1 if self._tty else 5.0
        self._ids = ids
        self._acknowledged: set[int] = set()
        self._number = self._sent = self._width = 0
        self._shown: float | None = None
        self._line = ""
        self._pending = False  # a line not shown yet

    def __call__(self, attempt: Attempt) -> None:
        if attempt.number != self._number:
            self._number, self._sent = attempt.number, 0
        self._sent += len(attempt.sent)
        self._acknowledged.update(attempt.acknowledged)
        self._line = (
            f"attempt {self._number}: {self._sent} sent, "
            f"{len(self._acknowledged)} of {self._ids} ids acknowledged"
        )
        self._pending = True
        now = time.monotonic()
        if self._shown is None or now - self._shown >= self._every:
            self._shown = now
            self._show()

    def _show(self) -> None:
        self._pending = False
        if self._tty:
            self._stream.write(f"\r{self._line.ljust(self._width)}")
            self._width = len(self._line)
        else:
            self._stream.write(f"{self._line}\n")
        self._stream.flush()

    def close(self) -> None:
        """Wipe the line on a terminal (the report follows on stdout); elsewhere
        show the last state if it was not shown yet."""
        if self._tty and self._width:
            self._stream.write(f"\r{' ' * self._width}\r")
            self._stream.flush()
        elif not self._tty and self._pending:
            self._show()


def _giving_up(url: str, send: Send) -> Send:
    """`send`, except that a refused connection or an unknown host ends the replay
    at once: nothing is listening there, so retrying cannot help."""

    def send_or_give_up(body: bytes, content_type: str) -> tuple[int, bytes]:
        try:
            return send(body, content_type)
        except (ConnectionRefusedError, socket.gaierror) as exc:
            raise _Refused(
                f"cannot connect to {url}: {exc.strerror or exc} (is the server "
                "running?); gave up without retrying"
            ) from exc

    return send_or_give_up


def _replay_command(args: argparse.Namespace, out: TextIO) -> int:
    payload = _read_input(args.file)
    try:
        batch = decode(payload, format=args.format)
        items = len(batch.reports) + len(batch.errors)
        gateway = Gateway(
            batch.format,
            attempts=args.attempts,
            batch_size=args.batch_size or max(items, 1),
            pause=args.pause,
        )
        send = _giving_up(args.url, _http_sender(args.url, args.timeout))
    except ValueError as exc:  # a DecodeError, or a URL that is not http(s)
        raise _Refused(str(exc)) from exc
    ids = {r.id_sms for r in batch.reports}
    ids.update(e.id_sms for e in batch.errors if e.id_sms is not None)
    progress = (
        _Progress(sys.stderr, len(ids))
        if (sys.stderr.isatty() if args.progress is None else args.progress)
        else None
    )
    attempts: list[Attempt] = []

    def on_attempt(attempt: Attempt) -> None:
        attempts.append(attempt)
        if progress is not None:
            progress(attempt)

    try:
        delivery = gateway.deliver(send, payload, on_attempt=on_attempt)
    finally:  # what was done before giving up, or before Ctrl-C, is still told
        if progress is not None:
            progress.close()
        for attempt in attempts:
            _print_attempt(attempt, out)
    for error in batch.errors:
        if error.id_sms is None:
            print(
                f"the item at index {error.index} has no readable id_sms: it went "
                "out once and can never be acknowledged",
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


def _add_replay(commands: Any) -> None:
    parser = commands.add_parser(
        "replay",
        help="deliver a payload to a running server as the gateway would",
        description="POST a status document to URL as the gateway would: first the "
        "document as it is (or in batches of --batch-size), then, up to --attempts "
        "attempts in all and --pause seconds apart, the statuses whose ids the "
        "answers did not acknowledge (bad items as their raw text).  Prints each "
        "POST, then the ids that would be lost.  Exit status 0: nothing lost; 1: "
        "some ids lost; 2: the document was refused, or the server could not be "
        "reached (a refused connection ends the replay at once).",
    )
    parser.add_argument("url", metavar="URL", help="the endpoint's URL")
    parser.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        default="-",
        help="the payload, or - for stdin (the default)",
    )
    parser.add_argument(
        "--format",
        choices=["xml", "json"],
        help="the payload's format (default: sniff it)",
    )
    parser.add_argument(
        "--attempts",
        type=_positive,
        default=5,
        help="attempts per status before it is lost (default: 5, as the gateway)",
    )
    parser.add_argument(
        "--batch-size",
        type=_positive,
        metavar="COUNT",
        help="statuses per POST at most (default: the whole document in one POST, "
        "and its retries in one POST)",
    )
    parser.add_argument(
        "--pause",
        type=_seconds,
        default=1.0,
        metavar="SECONDS",
        help="seconds to wait before each attempt after the first (default: 1)",
    )
    parser.add_argument(
        "--timeout",
        type=_some_seconds,
        default=10.0,
        metavar="SECONDS",
        help="seconds to wait for each answer (default: 10)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="show progress on stderr (default: when stderr is a terminal)",
    )
    parser.set_defaults(run=_replay_command)


# --- the command line ---------------------------------------------------------------

# One entry per subcommand, in the order `--help` lists them.
_COMMANDS: tuple[Callable[[Any], None], ...] = (_add_decode, _add_sample, _add_replay)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smsstatus",
        description="Read the WebCom gateway's delivery-status documents.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _COMMANDS:
        add(commands)
    return parser


def _stdout_gone() -> None:
    """After a broken pipe, point stdout at the null device, so that the flush at
    exit does not fail again and print a traceback of its own (the recipe in the
    documentation of the `signal` module)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file: nothing to flush
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: ``sys.argv[1:]``); returns the exit
    status."""
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args, sys.stdout)
        sys.stdout.flush()  # a broken pipe shows here, not at exit
    except _Refused as exc:
        print(f"smsstatus: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _stdout_gone()
        return _BROKEN_PIPE
    except KeyboardInterrupt:
        return _INTERRUPTED
    return status
