"""What every command shares: reading its input, the types of its arguments, and
the exception that ends it with a one-line message and exit status 2."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import tzinfo

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


def _environment_credentials() -> tuple[str | None, str | None, str | None]:
    """The pull credentials in the environment, as (token, login, password):
    ``SMSSTATUS_API_TOKEN``, else ``SMSSTATUS_API_LOGIN`` and
    ``SMSSTATUS_API_PASSWORD`` (an empty variable counts as unset)."""
    token, login, password = (
        os.environ.get(f"SMSSTATUS_API_{name}") or None
        for name in ("TOKEN", "LOGIN", "PASSWORD")
    )
    return (token, None, None) if token else (None, login, password)


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
