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
# A bounded number of digits: int() of thousands is refused by Python itself.
_DURATION = re.compile(r"([0-9]{1,30})([smhd])").fullmatch


def parse_duration(text: str) -> timedelta:
    """``90s``, ``10m``, ``24h`` or ``7d`` as a `~datetime.timedelta` (blanks around
    it ignored); anything else raises `ValueError` saying so."""
    found = _DURATION(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise ValueError(
            f"expected a duration such as 90s, 10m, 24h or 7d, got {text!r}"
        )
    try:
        return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    except OverflowError:
        raise ValueError(f"duration too long: {text!r}") from None


def duration(text: str) -> timedelta:
    """`parse_duration` as an `argparse` ``type``: a bad value is the parser's usage
    error, with the reason."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
