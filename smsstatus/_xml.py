"""XML: the gateway's ``<response><state …>…</state></response>`` document.

Strategy.  We drive `xml.parsers.expat` directly, with handlers, instead of building an
element tree and walking it:

- Safety comes first and costs nothing per item.  The parser gets the same guards
  `defusedxml` installs (any DOCTYPE, entity declaration or external reference raises
  defusedxml's own exception from inside the parser, at once, before anything is
  expanded or fetched), and the start-element handler refuses a document nested deeper
  than `MAX_DEPTH`.  Size and item-count limits are checked before and during the parse.
- Nothing but the reports is kept.  Each ``<state>`` is turned into a report (or a
  per-item error) at its end tag, by the rules in `_item`, and dropped: memory is the
  result plus the body, never a tree, and there is no tree for the garbage collector to
  walk.
- The body is always read as UTF-8, whatever its declaration says: the gateway sends
  UTF-8, and a second code path for other encodings would be hostile input's favourite
  place.  A UTF-16 body (it starts with a byte-order mark) is the one exception, since
  every XML processor must read it: it is converted to UTF-8 first.
- A bad item's `raw` is cut from the body by expat's byte offsets, so it is the
  element exactly as sent, and is only cut for items that need it.

Unknown attributes, elements other than ``<state>``, and anything nested inside a
``<state>`` are ignored (the text of a ``<state>`` is its own character data).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from datetime import tzinfo
from typing import NoReturn
from xml.parsers import expat

from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)

from ._body import DEFAULT_LIMITS, Body, as_bytes
from ._errors import DecodeError, PayloadTooLarge, UnsafePayload
from ._item import ItemReader
from ._model import Batch, Format, Limits, ReportError, StatusReport, _wall_clock

__all__ = [
    "MAX_DEPTH",
    "as_utf8",
    "decode_xml",
    "encode_xml",
    "new_parser",
    "parse_safely",
    "read_xml",
]

MAX_DEPTH = 64

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _forbid_dtd(
    name: str, sysid: str | None, pubid: str | None, internal: bool
) -> NoReturn:
    raise DTDForbidden(name, sysid, pubid)


def _forbid_entity(
    name: str,
    is_parameter: bool,
    value: str | None,
    base: str | None,
    sysid: str | None,
    pubid: str | None,
    notation: str | None,
) -> NoReturn:
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation)


def _forbid_unparsed_entity(
    name: str, base: str | None, sysid: str, pubid: str | None, notation: str
) -> NoReturn:
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation)


def _forbid_external(
    context: str, base: str | None, sysid: str | None, pubid: str | None
) -> NoReturn:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def parse_safely(data: bytes, parser: expat.XMLParserType) -> None:
    """Run `parser` (with its content handlers set) over `data`, with the guards.

    Raises `UnsafePayload` for a DTD, entity or external reference, and
    `DecodeError` for a malformed body; a handler's own `DecodeError` passes through.
    """
    parser.StartDoctypeDeclHandler = _forbid_dtd
    parser.EntityDeclHandler = _forbid_entity
    parser.UnparsedEntityDeclHandler = _forbid_unparsed_entity
    parser.ExternalEntityRefHandler = _forbid_external
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise DecodeError(
            f"malformed XML at line {exc.lineno}, column {exc.offset + 1}: "
            f"{expat.ErrorString(exc.code)}"
        ) from exc
    except DefusedXmlException as exc:
        what = {
            DTDForbidden: "a document type declaration (DTD)",
            EntitiesForbidden: "an entity declaration",
            ExternalReferenceForbidden: "an external reference",
        }[type(exc)]
        raise UnsafePayload(
            f"XML with {what} is refused (line {parser.CurrentLineNumber}, "
            f"column {parser.CurrentColumnNumber + 1}): the gateway's format needs none"
        ) from exc


def as_utf8(data: bytes) -> bytes:
    """`data` itself, or converted to UTF-8 when it starts with a UTF-16 mark."""
    if not data.startswith(_UTF16_BOMS):
        return data
    try:
        return data.decode("utf-16").encode("utf-8")
    except UnicodeError as exc:
        raise DecodeError("body starts with a UTF-16 mark but is not UTF-16") from exc


def new_parser() -> expat.XMLParserType:
    """An expat parser that reads its input as UTF-8 and joins adjacent text."""
    parser = expat.ParserCreate("utf-8")
    parser.buffer_text = True
    return parser


def _too_deep(parser: expat.XMLParserType) -> DecodeError:
    return DecodeError(
        f"XML nested deeper than {MAX_DEPTH} elements at line "
        f"{parser.CurrentLineNumber}, column {parser.CurrentColumnNumber + 1}"
    )


def _wrong_root(name: str) -> DecodeError:
    return DecodeError(f"root element is <{name[:40]}>, expected <response>")


def read_xml(data: bytes, tz: tzinfo | None, limits: Limits) -> Batch:
    """Decode an XML body that `as_bytes` has already checked."""
    data = as_utf8(data)
    parser = new_parser()
    read = ItemReader(tz).read
    max_reports = limits.max_reports
    reports: list[StatusReport] = []
    errors: list[ReportError] = []
    depth = 0
    index = -1  # of the current item
    attributes: dict[str, str] | None = None  # of the open <state>, None outside one
    text = ""
    start_at = 0

    def raw() -> str:
        end = parser.CurrentByteIndex
        if data.startswith(b"</state", end):  # else it was an empty-element tag
            end = data.index(b">", end) + 1
        return data[start_at:end].decode("utf-8", "replace")

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth, index, attributes, text, start_at
        depth += 1
        if depth == 2:
            if name == "state":
                index += 1
                if index == max_reports:
                    raise PayloadTooLarge(f"more than {max_reports} items")
                attributes = attrs
                text = ""
                start_at = parser.CurrentByteIndex
        elif depth == 1:
            if name != "response":
                raise _wrong_root(name)
        elif depth > MAX_DEPTH:
            raise _too_deep(parser)

    def characters(chunk: str) -> None:
        nonlocal text
        if depth == 2 and attributes is not None:
            text += chunk

    def end(name: str) -> None:
        nonlocal depth, attributes
        if depth == 2 and attributes is not None:
            a = attributes
            attributes = None
            item = read(
                index,
                a.get("id_sms"),
                a.get("time"),
                text,
                a.get("sms"),
                a.get("viber"),
                raw,
            )
            if item.__class__ is StatusReport:
                reports.append(item)
            else:
                errors.append(item)  # type: ignore[arg-type]
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parse_safely(data, parser)
    return Batch(format=Format.XML, reports=tuple(reports), errors=tuple(errors))


def decode_xml(
    body: Body, *, tz: tzinfo | None = None, limits: Limits | None = None
) -> Batch:
    """Decode the gateway's XML document.

    Every ``<state>`` becomes a `StatusReport` or, when one of its fields breaks the
    rules, a `ReportError`.  A document that cannot be read at all raises a
    `DecodeError` (`UnsafePayload` for DTDs, entities and external references,
    `PayloadTooLarge` past `limits`).  `tz` is attached to every time.
    """
    limits = limits or DEFAULT_LIMITS
    return read_xml(as_bytes(body, limits), tz, limits)


def encode_xml(reports: Iterable[StatusReport]) -> bytes:
    """The gateway's XML document for `reports`, as it would POST it."""
    lines = ['<?xml version="1.0" encoding="utf-8" ?>\n<response>\n']
    for report in reports:
        legs = ""
        if report.sms is not None:
            legs += f' sms="{report.sms.value}"'
        if report.viber is not None:
            legs += f' viber="{report.viber.value}"'
        lines.append(
            f'  <state id_sms="{report.id_sms}" time="{_wall_clock(report.time)}"'
            f"{legs}>{report.state.value}</state>\n"
        )
    lines.append("</response>\n")
    return "".join(lines).encode("utf-8")
