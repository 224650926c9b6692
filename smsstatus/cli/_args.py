"""What every command shares: reading its input, the types of its arguments, and
the exception that ends it with a one-line message and exit status 2."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import timedelta, tzinfo

_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
_DURATION = re.compile(r"([0-9]+)([smhd])")
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


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


def duration(text: str) -> timedelta:
    """A duration as every command (and Django's management commands) takes it:
    ``<n>s``, ``<n>m``, ``<n>h`` or ``<n>d``, n a whole number."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 90s, 10m, 24h or 7d, got {text!r}"
        )
    try:
        return timedelta(**{_DURATION_UNITS[match[2]]: int(match[1])})
    except OverflowError:
        raise argparse.ArgumentTypeError(f"duration too long: {text!r}") from None
