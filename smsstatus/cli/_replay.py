"""``smsstatus replay``: deliver a payload to a running server as the gateway
would, and tell which ids would be lost."""

from __future__ import annotations

import argparse
import socket
import sys
import time
from typing import Any, TextIO

from smsstatus import decode
from smsstatus.testing import Attempt, Delivery, Gateway, Send
from smsstatus.testing._simulator import _http_sender

from ._args import _positive, _read_input, _Refused, _seconds, _some_seconds
from ._output import _ids


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
