"""What every decoder does to a body first: take it as bytes, apply the size limit,
and (for `decode`) tell its format."""

from __future__ import annotations

import codecs
import re

from ._errors import DecodeError, PayloadTooLarge
from ._model import Format, Limits

__all__ = [
    "DEFAULT_LIMITS",
    "OPENING",
    "Body",
    "as_bytes",
    "opened",
    "parse_format",
    "sniff_format",
]

Body = bytes | bytearray | memoryview | str

DEFAULT_LIMITS = Limits()

_NOT_BLANK = re.compile(rb"[^ \t\r\n]").search
_FORMATS = {"<": Format.XML, "[": Format.JSON, "{": Format.JSON}
# The format a body's first byte says, when it is the first character.
OPENING = {first.encode(): format for first, format in _FORMATS.items()}
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# How much of a UTF-16 body is decoded to find its first character.
_UTF16_HEAD = 4096


def as_bytes(body: Body, limits: Limits) -> bytes:
    """`body` as bytes (a `str` encoded as UTF-8); refused if empty or too large."""
    return opened(body, limits)[0]


def opened(body: Body, limits: Limits) -> tuple[bytes, Format | None]:
    """`as_bytes`, and the format the body's first character says (`sniff_format`):
    the first character is looked for once, for both."""
    # bytes first: what every web framework hands over.
    if body.__class__ is bytes:
        data: bytes = body
    elif isinstance(body, str):
        try:
            data = body.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise DecodeError(
                f"body is not valid Unicode: lone surrogate at character {exc.start}"
            ) from None
    elif isinstance(body, bytes | bytearray | memoryview):
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
    # Nearly every body starts right at its first character: one look-up for it.
    sniffed = OPENING.get(data[:1])
    if sniffed is None:
        first = _first_character(data)
        if not first:
            raise DecodeError("body is empty")
        sniffed = _FORMATS.get(first)
    return data, sniffed


def sniff_format(data: bytes) -> Format | None:
    """The format the body's first non-blank character says, or None when it says
    neither (the body is blank or starts with something else)."""
    return OPENING.get(data[:1]) or _FORMATS.get(_first_character(data))


def _first_character(data: bytes) -> str:
    """The first character after a byte-order mark that is not blank, or "" if
    there is none: UTF-16 for a body with a UTF-16 mark, else the first byte."""
    if data.startswith(_UTF16_BOMS):
        head = data[:_UTF16_HEAD].decode("utf-16", "ignore")
        return head.lstrip(" \t\r\n")[:1]
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    match = _NOT_BLANK(data, start)
    return chr(match.group()[0]) if match else ""


def parse_format(value: Format | str) -> Format:
    """A `Format` from a `Format` or its name (any case): a wrong name is a
    programming error, so it raises a plain `ValueError`."""
    if isinstance(value, Format):
        return value
    try:
        return Format(value.lower())
    except (AttributeError, ValueError):
        raise ValueError(f"format must be 'xml' or 'json', not {value!r}") from None
