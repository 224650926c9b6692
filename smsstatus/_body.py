"""What every decoder does to a body first: take it as bytes, apply the size limit,
and (for `decode`) tell its format."""

from __future__ import annotations

import re

from ._errors import DecodeError, PayloadTooLarge
from ._model import Format, Limits

__all__ = ["DEFAULT_LIMITS", "Body", "as_bytes", "parse_format", "sniff_format"]

Body = bytes | bytearray | memoryview | str

DEFAULT_LIMITS = Limits()

# The first byte that is not a UTF-8 byte-order mark or blank.
_FIRST_BYTE = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*(.)", re.DOTALL).match


def as_bytes(body: Body, limits: Limits) -> bytes:
    """`body` as bytes (a `str` encoded as UTF-8); refused if empty or too large."""
    if isinstance(body, str):
        try:
            data = body.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise DecodeError(
                f"body is not valid Unicode: lone surrogate at character {exc.start}"
            ) from None
    elif isinstance(body, bytes):
        data = body
    elif isinstance(body, bytearray | memoryview):
        data = bytes(body)
    else:
        raise TypeError(
            "body must be bytes, bytearray, memoryview or str, "
            f"not {type(body).__name__}"
        )
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(
            f"body is {len(data)} bytes, over the limit of {limits.max_bytes}"
        )
    if _FIRST_BYTE(data) is None:
        raise DecodeError("body is empty")
    return data


def sniff_format(data: bytes) -> Format | None:
    """The format the body's first non-blank character says, or None when it says
    neither (the body is blank or starts with something else)."""
    match = _FIRST_BYTE(data)
    first = match.group(1) if match else b""
    if first == b"<":
        return Format.XML
    if first in (b"[", b"{"):
        return Format.JSON
    return None


def parse_format(value: Format | str) -> Format:
    """A `Format` from a `Format` or its name (any case): a wrong name is a
    programming error, so it raises a plain `ValueError`."""
    if isinstance(value, Format):
        return value
    try:
        return Format(value.lower())
    except (AttributeError, ValueError):
        raise ValueError(f"format must be 'xml' or 'json', not {value!r}") from None
