"""XML: the gateway's ``<response><state …>…</state></response>`` document.

Strategy.  No element tree is ever built.  A document reaches the items by one of two
roads, and both apply the per-item rules of `_item`:

- Written as the gateway writes it.  Nearly every real document is ASCII and has
  one fixed form: an optional XML declaration, ``<response>``, ``<state>`` elements
  whose attributes and text are digits, a time and status names, ``</response>``,
  blanks between them.  `_read_as_written` recognises exactly that form with a few
  regular expressions, in linear time, and reads the items from the matches.  Such a
  document is well-formed and holds no DTD, reference, comment or CDATA, so expat
  would accept it and see in it exactly what the patterns see; and nothing in it
  needs expat's guards.  Any other byte anywhere sends the whole document down the
  second road.
- Anything else: `xml.parsers.expat`, driven directly with handlers.  The parser
  gets the same guards `defusedxml` installs (any DOCTYPE, entity declaration or
  external reference raises defusedxml's own exception from inside the parser, at
  once, before anything is expanded or fetched); the start-element handler refuses a
  document nested deeper than `MAX_DEPTH`; the body is fed to expat in slices, so it
  never holds a copy of all of it.  The start handler is the only Python called per
  element (expat appends end tags to a list itself): it reads a ``<state>`` there and
  then, from its attributes and, while the body is read one byte per character, its
  text cut from the body by expat's byte offsets.  Only an unusual item switches on
  character-data and end handlers until its end tag, to read it exactly as expat
  sees it.

Either way memory is the result plus the body, and there is no tree for the garbage
collector to walk.  Size and item-count limits are checked before and during the read,
and so are the bounds that keep hostile bodies cheap (docs/security.md): expat gets the
body in small pieces, and a tag, comment or instruction still unfinished
`MAX_MARKUP` bytes after it began is refused before pyexpat turns it into a
dictionary; elements of any kind count against `ELEMENTS_PER_ITEM` per permitted item,
since each one costs a Python call.

The encoding is UTF-8, as the gateway sends it, unless the body says otherwise: a
UTF-16 body (it starts with a byte-order mark, or with ``<`` and a zero byte, which
every XML processor must read) is converted to UTF-8 first, and so is a body whose XML
declaration names another encoding (``windows-1251``, ``koi8-r``, any text codec
Python knows).  Conversion happens once, up front, in pieces, so everything after it
(the patterns, expat, byte offsets) sees UTF-8 only and a bad item's `raw` is the
element as sent, in characters.  The canonical form of the gateway's own documents,
declared UTF-8 or not declared at all, is never copied.

Unknown attributes, elements other than ``<state>``, and anything nested inside a
``<state>`` are ignored (the text of a ``<state>`` is its own character data).
"""

from __future__ import annotations

import codecs
import io
import operator
import re
from collections.abc import Iterable
from datetime import tzinfo
from typing import Any, NoReturn
from xml.parsers import expat

from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)

from ._body import DEFAULT_LIMITS, Body, as_bytes
from ._errors import DecodeError, PayloadTooLarge, UnsafePayload
from ._item import STATUS_BYTES, TIME_PATTERN, ItemReader
from ._model import (
    Batch,
    Format,
    Limits,
    ReportError,
    StatusReport,
    _decoded_batch,
    _wall_clock,
)

__all__ = [
    "ELEMENTS_PER_ITEM",
    "MAX_DEPTH",
    "MAX_MARKUP",
    "as_utf8",
    "decode_xml",
    "encode_xml",
    "max_elements_for",
    "new_parser",
    "parse_safely",
    "read_xml",
    "too_many_elements",
]

MAX_DEPTH = 64

# How much of the body expat is given at a time: small next to the body, so expat's
# copy of its input stays small, and small next to `MAX_MARKUP`, so a token spanning
# pieces is read again only a few times (expat before 2.6 reads an unfinished token
# again from its start with every piece) and a long one is caught soon.
_PIECE = 1 << 16
# A tag (or comment, or instruction) this long is no gateway's: pyexpat would build a
# dictionary of all its attributes before any handler could refuse them.
MAX_MARKUP = 1 << 17
# Every element costs a Python call; items are capped, and so are elements in all.
ELEMENTS_PER_ITEM = 4
# Recoding works on pieces of this size, so a copy of the text as `str` never exists.
_RECODE_PIECE = 1 << 20

_UTF16_STARTS = {
    codecs.BOM_UTF16_LE: "utf-16",
    codecs.BOM_UTF16_BE: "utf-16",
    b"<\x00": "utf-16-le",
    b"\x00<": "utf-16-be",
}

# A ``<state>`` exactly as the gateway writes it, from its start tag to its end tag.
# Where this matches, expat's view of the element is the groups themselves: nothing
# in them can be a reference, markup or a blank that expat would rewrite.
_ITEM = (
    rb'<state id_sms="([0-9]+)" time="(|' + TIME_PATTERN + rb')"'
    rb'(?: sms="([a-z_]+)")?(?: viber="([a-z_]+)")?>([a-z_]+)</state>'
)
_BLANKS = rb"[ \t\r\n]*"  # XML's white space, and nothing else
# Each item with the blanks after it, and its fields (`_item.ShapedItem`).
_GATEWAY_ITEMS = re.compile(b"(" + _ITEM + _BLANKS + b")").findall
_WHOLE = operator.itemgetter(0)
# The items are listed a window of about this many bytes at a time (a list of
# matches takes a few times the bytes they were matched in), up to the end of an
# item: an end tag and the blanks after it.
_WINDOW = 1 << 16
_WINDOW_END = re.compile(b"</state>" + _BLANKS).search
_GATEWAY_HEAD = re.compile(
    # The gateway's declaration, or the one ElementTree writes (single quotes).
    rb"""(?:<\?xml version=(["'])1\.0\1(?: encoding=(["'])(?:utf|UTF)-8\2)? ?\?>)?"""
    + _BLANKS
    + b"<response>"
    + _BLANKS
).match
_GATEWAY_TAIL = re.compile(b"</response>" + _BLANKS).fullmatch
_GATEWAY_DECLARATION = b'<?xml version="1.0" encoding="utf-8"'
# An XML declaration with an encoding: the name as the XML specification spells one.
_DECLARED_ENCODING = re.compile(
    rb"""<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(["'])1\.[0-9]+\1"""
    rb"""[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(["'])([A-Za-z][A-Za-z0-9._-]*)\2"""
).match
# Text codecs Python knows that are not for documents: their decoders are written in
# Python and quadratic in the input, a gift to anyone who can name them.
_NOT_FOR_DOCUMENTS = frozenset({"idna", "punycode"})


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
    view = memoryview(data)
    try:
        for at in range(0, len(view), _PIECE):
            piece = view[at : at + _PIECE]
            parser.Parse(piece, False)
            # Outside a handler, expat's position is the start of the token it is
            # still waiting to finish (-1 before the first one).
            if at + len(piece) - max(parser.CurrentByteIndex, 0) > MAX_MARKUP:
                raise DecodeError(
                    f"XML markup longer than {MAX_MARKUP} bytes at line "
                    f"{parser.CurrentLineNumber}, column "
                    f"{parser.CurrentColumnNumber + 1}: a tag, comment or "
                    "instruction this long is no gateway's"
                )
        parser.Parse(b"", True)
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
    """`data` as UTF-8, so that byte offsets and raw text always refer to UTF-8.

    A UTF-16 body (a UTF-16 mark, or ``<`` and a zero byte, which expat takes for
    UTF-16 whatever it is told) is converted, and so is a body whose declaration
    names another encoding; a UTF-8 mark, no declared encoding or a declared UTF-8
    leave `data` as it is.
    """
    codec = _UTF16_STARTS.get(data[:2])
    if codec is not None:
        try:
            text = data.decode(codec)
        except UnicodeError as exc:
            raise DecodeError("body starts as UTF-16 but is not UTF-16") from exc
        if "\x00" in text:  # never in XML; and "<\x00" again would look like UTF-16
            raise DecodeError("body holds a NUL character: it is not UTF-16 XML")
        return text.encode("utf-8")
    if data.startswith((codecs.BOM_UTF8, _GATEWAY_DECLARATION)):
        return data
    declared = _DECLARED_ENCODING(data)
    if declared is None:
        return data
    return _recode(data, declared[0], declared[3].decode("ascii"))


def _recode(data: bytes, declaration: bytes, name: str) -> bytes:
    """`data`, declared by `declaration` to be in encoding `name`, as UTF-8."""
    shown = repr(name) if len(name) <= 40 else repr(name[:37] + "...")
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise DecodeError(
            f"body declares encoding {shown}, which Python does not know"
        ) from None
    if info.name == "utf-8":
        return data
    if not info._is_text_encoding or info.name in _NOT_FOR_DOCUMENTS:
        raise DecodeError(f"body declares encoding {shown}, which is not for text")
    decoder = info.incrementaldecoder("strict")
    # A BytesIO hands its buffer over without a copy, so the peak is the body plus
    # its UTF-8 form, never a `str` of it as well.
    out = io.BytesIO()
    at = 0
    try:
        for at in range(0, len(data), _RECODE_PIECE):
            out.write(decoder.decode(data[at : at + _RECODE_PIECE]).encode("utf-8"))
        out.write(decoder.decode(b"", True).encode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DecodeError(
            f"body is not valid {shown} (its declared encoding) at byte "
            f"{at + max(exc.start, 0)}"
        ) from exc
    except UnicodeEncodeError as exc:
        raise DecodeError(
            f"body in {shown} (its declared encoding) holds a lone surrogate"
        ) from exc
    except (UnicodeError, ValueError, TypeError) as exc:  # a codec's own refusal
        raise DecodeError(f"body is not valid {shown} (its declared encoding)") from exc
    utf8 = out.getvalue()
    if not utf8.startswith(declaration):
        # UTF-16 or EBCDIC, say, without a mark: the declaration itself does not read
        # in the encoding it names, so the body is not written in it.
        raise DecodeError(
            f"body declares encoding {shown} but is not written in it: its "
            "declaration does not read as itself in that encoding"
        )
    return utf8


def new_parser() -> expat.XMLParserType:
    """An expat parser that reads its input as UTF-8 and joins adjacent text."""
    parser = expat.ParserCreate("utf-8")
    parser.buffer_text = True
    return parser


def max_elements_for(limits: Limits) -> int:
    """How many elements a document may hold in all, under `limits`."""
    return ELEMENTS_PER_ITEM * limits.max_reports + MAX_DEPTH


def too_many_elements(max_elements: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"more than {max_elements} XML elements ({ELEMENTS_PER_ITEM} per permitted "
        "item)"
    )


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
    reader = ItemReader(tz, STATUS_BYTES)
    reports = _read_as_written(data, reader, limits.max_reports)
    errors: list[ReportError] = []
    if reports is None:
        reports, errors = _read_with_expat(data, reader, limits)
    return _decoded_batch(Format.XML, tuple(reports), tuple(errors))


def _read_as_written(
    data: bytes, reader: ItemReader, max_reports: int
) -> list[StatusReport] | None:
    """The reports of a document written exactly as the gateway writes it, every
    item good; None when `data` is written any other way or an item breaks a rule
    (expat then reads it all again, and says which).

    Such a document is ASCII: an optional XML declaration, ``<response>``, items that
    `_ITEM` matches, ``</response>``, and white space between them, nothing else.  So
    it is well-formed, holds no DTD, reference, comment or CDATA, and is two levels
    deep: expat would accept it and see in it exactly what the patterns see.
    """
    head = _GATEWAY_HEAD(data)
    end = data.rfind(b"</response>")
    if head is None or end < 0 or _GATEWAY_TAIL(data, end) is None:
        return None
    shaped = reader.shaped
    reports: list[StatusReport] = []
    at = head.end()
    while at < end:
        # A window ends after an end tag and the blanks after it: in a document of
        # the form, where an item ends (elsewhere, the matches do not cover it).
        edge = _WINDOW_END(data, at + _WINDOW, end)
        stop = end if edge is None else edge.end()
        items = _GATEWAY_ITEMS(data, at, stop)
        # The matches lie in order without overlapping: they cover the window, each
        # item right after the one before, exactly when their lengths add up to it.
        if sum(map(len, map(_WHOLE, items))) != stop - at:
            return None  # something else lies between two items or before the end
        if len(reports) + len(items) > max_reports:
            raise PayloadTooLarge(f"more than {max_reports} items")
        if not shaped(items, reports):
            return None
        at = stop
    return reports


def _read_with_expat(
    data: bytes, reader: ItemReader, limits: Limits
) -> tuple[list[StatusReport], list[ReportError]]:
    """The items of any other document, read by expat with the guards."""
    max_reports = limits.max_reports
    max_elements = max_elements_for(limits)
    parser = new_parser()
    fast = reader.fast
    find = data.find
    startswith = data.startswith
    reports: list[StatusReport] = []
    errors: list[ReportError] = []
    # Expat appends each end tag's name here itself: the depth of an element is the
    # number of start tags so far minus len(ends), and no Python runs per end tag.
    ends: list[str] = []
    started = 0
    index = -1  # of the current item
    bytewise = False  # whether a byte offset in `data` is a character offset
    # The item being read carefully, while there is one.
    slow_attrs: dict[str, Any] = {}
    slow_at = 0
    slow_text: list[str] = []

    def start(name: str, attrs: dict[str, Any]) -> None:
        nonlocal started, index, slow_attrs, slow_at, bytewise
        started += 1
        if started > max_elements:
            raise too_many_elements(max_elements)
        depth = started - len(ends)
        if depth == 2:
            if name == "state":
                index += 1
                if index == max_reports:
                    raise PayloadTooLarge(f"more than {max_reports} items")
                at = parser.CurrentByteIndex
                # The text is the bytes from the end of the start tag to the end
                # tag, if that is the next markup.  Taking the first ">" for the
                # end of the start tag is safe: one inside an attribute value would
                # leave a quote and the tag's own ">" in the text, which then names
                # no status, and so would markup, references or CDATA.
                text_at = find(b">", at) + 1
                text_end = find(b"<", text_at)
                if bytewise and startswith(b"</state", text_end):
                    # An attribute named "state" is unknown, so ignored: its place
                    # can hold the text.
                    attrs["state"] = data[text_at:text_end]
                    report = fast(attrs)
                    if report is not None:
                        reports.append(report)
                        return
                slow_attrs = attrs
                slow_at = at
                slow_text.clear()
                parser.CharacterDataHandler = slow_characters
                parser.EndElementHandler = slow_end
        elif depth == 1:
            if name != "response":
                raise _wrong_root(name)
            # The text can be read from the bytes only if expat reads them as UTF-8,
            # one byte per markup character.  It does not always: a body starting
            # with '<' and a zero byte is UTF-16 to expat, whatever it is told.
            bytewise = startswith(b"<response", parser.CurrentByteIndex)
        elif depth > MAX_DEPTH:
            raise _too_deep(parser)

    def slow_characters(chunk: str) -> None:
        if started - len(ends) == 2:
            slow_text.append(chunk)

    def slow_end(name: str) -> None:
        ends.append(name)
        if started - len(ends) != 1:
            return  # the end of an element inside the item
        parser.CharacterDataHandler = None
        parser.EndElementHandler = ends.append
        a = slow_attrs
        item = reader.careful(
            index,
            a.get("id_sms"),
            a.get("time"),
            "".join(slow_text),
            a.get("sms"),
            a.get("viber"),
            raw,
        )
        if isinstance(item, StatusReport):
            reports.append(item)
        else:
            errors.append(item)

    def raw() -> str:
        stop = parser.CurrentByteIndex
        if startswith(b"</state", stop):  # else it was an empty-element tag
            stop = data.index(b">", stop) + 1
        return data[slow_at:stop].decode("utf-8", "replace")

    parser.StartElementHandler = start
    parser.EndElementHandler = ends.append
    try:
        parse_safely(data, parser)
    finally:
        # The handlers and the parser refer to each other; breaking the cycle frees
        # the parser and this document's time cache now, not at the next collection.
        parser.StartElementHandler = parser.EndElementHandler = None
        parser.CharacterDataHandler = None
    return reports, errors


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
