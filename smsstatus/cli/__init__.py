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
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from smsstatus._version import __version__

from ._args import _Refused
from ._decode import _add_decode
from ._pull import _add_pull
from ._recover import _add_recover
from ._replay import _add_replay
from ._sample import _add_sample
from ._serve import _add_serve
from ._stats import _add_stats

__all__ = ["main"]

# What a shell reports for a command that a closed pipe (SIGPIPE, 13) ended.
_BROKEN_PIPE = 128 + 13
_INTERRUPTED = 128 + 2

# One entry per subcommand, in the order `--help` lists them.
_COMMANDS: tuple[Callable[[Any], None], ...] = (
    _add_decode,
    _add_sample,
    _add_replay,
    _add_pull,
    _add_stats,
    _add_serve,
    _add_recover,
)


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
