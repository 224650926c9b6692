"""Acknowledgements: the answer that tells the gateway which statuses arrived.

The gateway re-sends every status whose `id_sms` is not in the answer, so the answer
mirrors the request's format (see WIRE-FORMAT.md).  `decode_ack` reads one back, for
the gateway's side of a test.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from . import _json_fast
from ._body import DEFAULT_LIMITS, as_bytes, parse_format
from ._errors import DecodeError
from ._item import read_id
from ._json import load_json
from ._model import Format, StatusReport
from ._xml import (
    MAX_DEPTH,
    as_utf8,
    max_elements_for,
    new_parser,
    parse_safely,
    too_many_elements,
)

__all__ = ["Ack", "ack_of", "build_ack", "decode_ack", "empty_ack"]

_JSON_TYPE = "application/json"
_XML_TYPE = "text/xml; charset=utf-8"


class _AckSlots:
    # Where an `Ack` keeps its fields, shared with `_AckBuilder` (see `ack_of`).
    __slots__ = ("__weakref__", "body", "content_type", "format", "ids", "status")


@attrs.frozen
class Ack(_AckSlots):
    """The HTTP answer to one delivery: `status`, `content_type` and `body` are what
    the view returns; `ids` are the acknowledged `id_sms` values."""

    ids: tuple[int, ...]
    format: Format
    body: bytes
    content_type: str
    status: int = 200

    @property
    def headers(self) -> dict[str, str]:
        """The response headers to send with `body`."""
        return {"Content-Type": self.content_type}


class _AckBuilder(_AckSlots):
    __slots__ = ()


_JSON = Format.JSON
_XML_HEAD = b'<?xml version="1.0" encoding="utf-8"?>\n<response>'
# What goes before the first id, between two ids and after the last: JSON, XML.
_JSON_AROUND = (b'[{"id_sms": ', b'}, {"id_sms": ', b"}]")
_XML_AROUND = (_XML_HEAD + b"<id_sms>", b"</id_sms><id_sms>", b"</id_sms></response>")


def build_ack(accepted: Iterable[int | StatusReport], format: Format | str) -> Ack:
    """The acknowledgement of `accepted` (ids, or the reports themselves) in `format`,
    the format the statuses came in.  Ids are deduplicated, first seen first."""
    chosen = parse_format(format)
    ids: dict[int, None] = {}
    for item in accepted:
        id_sms = item.id_sms if isinstance(item, StatusReport) else item
        if type(id_sms) is not int or id_sms < 0:
            raise ValueError(f"cannot acknowledge {id_sms!r}: not an id_sms")
        ids[id_sms] = None
    return ack_of(tuple(ids), chosen)


def ack_of(ids: tuple[int, ...], format: Format, *, status: int = 200) -> Ack:
    """The `Ack` of `ids` that are already known to be distinct ids (those of
    decoded reports), without `build_ack`'s checks."""
    # Built as the decoders build reports (`_model._unchecked_report`): a third of
    # the cost of the attrs ``__init__``, paid once per delivery.  `is`, not a dict
    # of the formats: an enum member hashes in Python.
    json = format is _JSON
    ack: Any = _AckBuilder()
    ack.ids = ids
    ack.format = format
    ack.content_type = _JSON_TYPE if json else _XML_TYPE
    ack.status = status
    if not ids:
        ack.body = b"[]" if json else _XML_HEAD + b"</response>"
    elif (write := _json_fast.id_list_writer()) is not None:
        # The digits are what costs: written by msgspec when it is there, and each
        # comma then becomes what stands between two ids.
        start, between, end = _JSON_AROUND if json else _XML_AROUND
        ack.body = b"".join((start, write(ids)[1:-1].replace(b",", between), end))
    elif json:
        # Else one bytes %-format of them all: twice as fast as str() of each and a
        # join, and no encoding after.
        ack.body = (
            b"[" + b'{"id_sms": %d}, ' * (len(ids) - 1) + b'{"id_sms": %d}]'
        ) % ids
    else:
        ack.body = (
            _XML_HEAD + b"<id_sms>%d</id_sms>" * len(ids) + b"</response>"
        ) % ids
    ack.__class__ = Ack
    return ack  # type: ignore[no-any-return]


def empty_ack(format: Format, *, status: int) -> Ack:
    """An acknowledgement of nothing, with an HTTP `status` (400 for a refused body)."""
    return ack_of((), format, status=status)


def _decimal(value: object) -> int | None:
    try:
        return read_id(value)
    except ValueError:
        return None


def _xml_ids(data: bytes) -> list[int | None]:
    parser = new_parser()
    # Each id's text in pieces, joined once at the end: an id split by a million
    # child elements costs a million appends, not a million ever longer copies.
    texts: list[list[str]] = []
    depth = 0
    started = 0
    max_elements = max_elements_for(DEFAULT_LIMITS)
    reading = False

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth, reading, started
        depth += 1
        started += 1
        if started > max_elements:
            raise too_many_elements(max_elements)
        if depth == 1 and name != "response":
            raise DecodeError(
                f"acknowledgement root is <{name[:40]}>, expected <response>"
            )
        if depth > MAX_DEPTH:
            raise DecodeError(f"XML nested deeper than {MAX_DEPTH} elements")
        if depth == 2:
            # Its text is all its own character data, as for a <state>: text after
            # a nested element counts too.
            reading = name == "id_sms"
            if reading:
                texts.append([])

    def characters(chunk: str) -> None:
        if reading and depth == 2:
            texts[-1].append(chunk)

    def end(name: str) -> None:
        nonlocal depth, reading
        if depth == 2:
            reading = False
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parse_safely(as_utf8(data), parser)
    return [_decimal("".join(text)) for text in texts]


def _json_ids(data: bytes) -> list[int | None]:
    document = load_json(data)
    if document.__class__ is not list:
        raise DecodeError("JSON acknowledgement is not an array")
    ids = []
    for index, item in enumerate(document):
        if item.__class__ is not dict:
            raise DecodeError(f"JSON acknowledgement item {index} is not an object")
        ids.append(_decimal(item.get("id_sms")))
    return ids


def decode_ack(body: bytes | str, format: Format | str) -> tuple[int, ...]:
    """The ids an acknowledgement holds, in order (the gateway's side of `build_ack`).

    Raises `DecodeError` when `body` is not a well-formed acknowledgement in `format`,
    under the same safety rules as `decode`; ids that are not decimal integers are
    skipped.
    """
    chosen = parse_format(format)
    data = as_bytes(body, DEFAULT_LIMITS)
    ids = _xml_ids(data) if chosen is Format.XML else _json_ids(data)
    return tuple(id_sms for id_sms in ids if id_sms is not None)
