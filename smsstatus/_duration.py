"""Durations as every command writes them: ``<n>s``, ``<n>m``, ``<n>h`` or ``<n>d``.

One parser for the command line (``--since``, ``--bucket``, ``--older-than``,
``--recover-every``) and Django's management commands, so that ``30m`` means the
same everywhere.
"""

from __future__ import annotations

import argparse
import re
from datetime import timedelta

__all__ = ["duration", "parse_duration"]

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_DURATION = re.compile(r"([0-9]{1,9})([smhd])").fullmatch


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``2h`` or ``1d`` as a `~datetime.timedelta` (blanks around
    it ignored); anything else raises `ValueError` saying so."""
    found = _DURATION(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise ValueError(
            f"not a duration: {text!r} (a whole number and s, m, h or d: 30m, 2h, 1d)"
        )
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def duration(text: str) -> timedelta:
    """`parse_duration` as an `argparse` ``type``: a bad value is the parser's usage
    error, with the reason."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
