"""`decode`: the format-agnostic entry point."""

from __future__ import annotations

from datetime import tzinfo

from . import _json_fast
from ._body import DEFAULT_LIMITS, OPENING, Body, opened, parse_format
from ._errors import DecodeError
from ._json import read_json_pure
from ._model import Batch, Format, Limits
from ._xml import read_xml

__all__ = ["decode"]

_XML = Format.XML


def decode(
    body: Body,
    *,
    format: Format | str | None = None,
    tz: tzinfo | None = None,
    limits: Limits | None = None,
) -> Batch:
    """Decode a status document of either format.

    With `format` None the body says which it is: its first non-blank character
    (after an optional UTF-8 byte-order mark) is ``<`` for XML, ``[`` or ``{`` for JSON.
    Bad items become `ReportError` values in the batch; a document that cannot be read
    raises a `DecodeError` and nothing else, whatever the body holds.
    """
    # Every step counts for a one-item document: `is None` tests, no attribute
    # look-up of the enum, and the usual body (bytes within the limit that start
    # at their first character) taken without a call to `opened`.
    if limits is None:
        limits = DEFAULT_LIMITS
    chosen = None if format is None else parse_format(format)
    if (
        body.__class__ is bytes
        and len(body) <= limits.max_bytes
        and (sniffed := OPENING.get(body[:1])) is not None
    ):
        data: bytes = body
    else:
        data, sniffed = opened(body, limits)
    if chosen is None:
        chosen = sniffed
        if chosen is None:
            raise DecodeError(
                "body is neither XML nor JSON: it does not start with '<', '[' or '{'"
            )
    if chosen is _XML:
        return read_xml(data, tz, limits)
    # `read_json`, without the call.
    batch = _json_fast.read(data, tz, limits)
    return batch if batch is not None else read_json_pure(data, tz, limits)
