"""Properties, checked by hypothesis with the strategies below (private to this file:
the public `smsstatus.strategies` is tested on its own).

- encode then decode gives back the reports, in both formats, naive or with a zone;
- no input of any kind makes a decoder raise anything but `DecodeError`;
- every item of a document decoded is in exactly one of `reports` and `errors`, and
  every error's `raw` decodes again to the same error;
- an item reads the same from XML as from JSON (the XML read checked against
  ElementTree, the item rules against the JSON decoder).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from xml.etree import ElementTree
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from hypothesis import given
from hypothesis import strategies as st

from smsstatus import (
    Batch,
    DecodeError,
    Format,
    Limits,
    ReportError,
    Status,
    StatusReport,
    decode,
    decode_json,
    decode_xml,
    encode_json,
    encode_xml,
)
from smsstatus._item import STATUS_BYTES, ItemReader
from smsstatus._xml import _read_as_written

ENCODERS = {Format.XML: encode_xml, Format.JSON: encode_json}

# --- strategies ----------------------------------------------------------------

statuses = st.sampled_from(Status)
wall_clocks = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)
).map(lambda t: t.replace(microsecond=0))
zones: st.SearchStrategy[tzinfo] = st.one_of(
    st.just(timezone.utc),
    st.builds(
        timezone,
        st.timedeltas(
            min_value=timedelta(hours=-23), max_value=timedelta(hours=23)
        ).map(lambda d: timedelta(minutes=d // timedelta(minutes=1))),
    ),
    st.timezones(),
)


def reports(tz: tzinfo | None = None) -> st.SearchStrategy[StatusReport]:
    times = (
        wall_clocks if tz is None else wall_clocks.map(lambda t: t.replace(tzinfo=tz))
    )
    return st.builds(
        StatusReport,
        id_sms=st.integers(min_value=0, max_value=10**25),
        time=st.none() | times,
        state=statuses,
        sms=st.none() | statuses,
        viber=st.none() | statuses,
    )


formats = st.sampled_from(Format)


@st.composite
def documents(draw: st.DrawFn) -> tuple[Format, bytes]:
    """A valid document of either format."""
    format = draw(formats)
    return format, ENCODERS[format](draw(st.lists(reports(), max_size=6)))


@st.composite
def mutated(draw: st.DrawFn) -> tuple[Format, bytes]:
    """A valid document with a few random edits: flips, insertions, deletions, cuts."""
    format, body = draw(documents())
    data = bytearray(body)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice"]))
        at = draw(st.integers(0, len(data)))
        if kind == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del data[at:]
        elif kind == "splice":
            # Something that means a lot to the parsers, where it can do harm.
            markup = [
                b"<", b">", b"&", b"]]>", b"<!--", b"<![CDATA[", b"<!DOCTYPE r>",
                b"<state>", b"</state>", b'"', b"'", b"\\", b"[", b"{", b"}", b"]",
                b",", b"null", b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"&#0;", b"&lt;",
            ]  # fmt: skip
            data[at:at] = draw(st.sampled_from(markup))
    return format, bytes(data)


# --- the round trip -------------------------------------------------------------


@given(format=formats, rs=st.lists(reports(), max_size=20))
def test_round_trip_naive(format: Format, rs: list[StatusReport]) -> None:
    body = ENCODERS[format](rs)
    assert decode(body) == Batch(format, tuple(rs), ())


@given(format=formats, data=st.data())
def test_round_trip_with_a_zone(format: Format, data: st.DataObject) -> None:
    tz = data.draw(zones)
    rs = data.draw(st.lists(reports(tz), max_size=20))
    body = ENCODERS[format](rs)
    batch = decode(body, tz=tz)
    assert batch == Batch(format, tuple(rs), ())
    assert all(r.time.tzinfo is tz for r in batch.reports if r.time is not None)


@given(rs=st.lists(reports(), max_size=20))
def test_both_formats_decode_alike(rs: list[StatusReport]) -> None:
    assert decode_xml(encode_xml(rs)).reports == decode_json(encode_json(rs)).reports


@given(rs=st.lists(reports(), max_size=20), tz=st.none() | zones)
def test_the_gateway_s_form_reads_as_expat_reads_it(
    rs: list[StatusReport], tz: tzinfo | None
) -> None:
    # Read by the patterns (the gateway's form), and by expat once the declaration
    # says a little more than the gateway's does.
    body = encode_xml(rs)
    by_patterns = _read_as_written(body, ItemReader(tz, STATUS_BYTES), len(rs))
    assert by_patterns is not None
    by_expat = decode_xml(body.replace(b"?>", b' standalone="yes"?>', 1), tz=tz)
    assert by_expat.errors == ()
    assert tuple(by_patterns) == by_expat.reports


# --- nothing but DecodeError ----------------------------------------------------


def decode_or_none(body: Any, **options: Any) -> Batch | None:
    """`decode(body)`, or None when it raised a `DecodeError` (anything else fails).

    The error's message must stay short whatever the body: it is logged.
    """
    try:
        return decode(body, **options)
    except DecodeError as exc:
        message = str(exc)
    assert len(message) < 300
    return None


@given(body=st.binary(max_size=300), format=st.sampled_from([None, "xml", "json"]))
def test_arbitrary_bytes_raise_nothing_but_decode_error(
    body: bytes, format: str | None
) -> None:
    decode_or_none(body, format=format)


@given(body=st.text(max_size=200), format=st.sampled_from([None, "xml", "json"]))
def test_arbitrary_text_raises_nothing_but_decode_error(
    body: str, format: str | None
) -> None:
    decode_or_none(body, format=format)


@given(
    body=st.one_of(
        st.binary(max_size=100).map(lambda b: b"<response>" + b),
        st.binary(max_size=100).map(lambda b: b"[" + b),
        st.binary(max_size=100).map(lambda b: b'<response><state id_sms="1" ' + b),
        st.binary(max_size=100).map(lambda b: b'[{"id_sms": ' + b),
    )
)
def test_arbitrary_bytes_after_a_good_start(body: bytes) -> None:
    decode_or_none(body)


def item_count(format: Format, body: bytes) -> int:
    """How many items a document holds, counted without smsstatus."""
    if format is Format.JSON:
        document = json.loads(body.decode("utf-8-sig"))
        return 1 if isinstance(document, dict) else len(document)
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        body = body.decode("utf-16").encode("utf-8")
    parser = expat.ParserCreate("utf-8")
    depth = count = 0

    def start(name: str, attrs: Any) -> None:
        nonlocal depth, count
        depth += 1
        count += depth == 2 and name == "state"

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.Parse(body, True)
    return count


def assert_accounts_for_every_item(format: Format, body: bytes, batch: Batch) -> None:
    assert batch.format is format
    count = item_count(format, body)
    assert len(batch.reports) + len(batch.errors) == count
    indexes = [error.index for error in batch.errors]
    assert indexes == sorted(set(indexes))
    assert all(0 <= i < count for i in indexes)
    for error in batch.errors:
        text = error.raw
        if format is Format.XML:
            text = f"<response>{text}</response>"
        elif not text.startswith("{"):
            # Not an object: alone it is no document (API.md), so put it in one.
            text = f"[{text}]"
        again = decode(text, format=format)
        assert again.errors == (ReportError(0, error.id_sms, error.reason, error.raw),)


@given(document=mutated())
def test_mutated_documents(document: tuple[Format, bytes]) -> None:
    format, body = document
    for forced in (None, format):
        batch = decode_or_none(body, format=forced)
        if batch is not None and batch.format is format:
            assert_accounts_for_every_item(format, body, batch)


@given(document=documents(), data=st.data())
def test_truncated_documents(
    document: tuple[Format, bytes], data: st.DataObject
) -> None:
    _, body = document
    cut = data.draw(st.integers(0, len(body) - 1))
    batch = decode_or_none(body[:cut])
    if batch is not None:  # only the trailing newline of the XML may go
        assert body[cut:].strip() == b""


@given(document=documents(), limit=st.integers(1, 8))
def test_max_reports_is_exact(document: tuple[Format, bytes], limit: int) -> None:
    format, body = document
    count = item_count(format, body)
    batch = decode_or_none(body, limits=Limits(max_reports=limit))
    assert (batch is not None) is (count <= limit)


# --- XML and JSON read an item alike ------------------------------------------

# Values near the rules' edges, and text that means something to XML.
FIELD_TEXT = st.one_of(
    st.sampled_from([s.value for s in Status]),
    st.sampled_from(
        ["", " ", "0", "42", " 42 ", "-1", "4.2", "\u0664\u0662", "9" * 30]
    ),
    st.sampled_from(
        ["2011-01-01 12:57:46", "2011-02-30 00:00:00", "2011-01-01T12:57:46"]
    ),
    st.text(st.sampled_from("0123456789-: send>\"'&</]!"), max_size=24),
    st.text(
        st.characters(
            blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"
        ),
        max_size=12,
    ),
)
FIELD_NAMES = ("id_sms", "time", "sms", "viber")


@st.composite
def items(draw: st.DrawFn) -> tuple[dict[str, str], str]:
    """The fields of one item (a missing attribute is absent) and its state text."""
    fields = {
        name: draw(FIELD_TEXT)
        for name in FIELD_NAMES
        if draw(st.booleans()) or (name == "id_sms" and draw(st.booleans()))
    }
    return fields, draw(FIELD_TEXT)


@st.composite
def xml_text(draw: st.DrawFn, text: str) -> str:
    """`text` as element content, in pieces written each its own way."""
    out = []
    rest = text
    while rest:
        size = draw(st.integers(1, len(rest)))
        piece, rest = rest[:size], rest[size:]
        how = draw(st.sampled_from(["plain", "cdata", "refs", "comment"]))
        if how == "cdata" and "]]>" not in piece and "\r" not in piece:
            out.append(f"<![CDATA[{piece}]]>")
        elif how == "refs":
            out.append("".join(f"&#{ord(c)};" for c in piece))
        else:
            out.append(escape(piece).replace("\r", "&#13;"))
            if how == "comment":
                out.append("<!-- - -->")
    return "".join(out)


def reference_xml_items(body: str) -> list[dict[str, str]]:
    """The items of an XML document as ElementTree reads them."""
    root = ElementTree.fromstring(body)
    found = []
    for element in root:
        if element.tag == "state":
            text = (element.text or "") + "".join(c.tail or "" for c in element)
            found.append({**element.attrib, "state": text})
    return found


@given(st.lists(items(), min_size=1, max_size=4), st.data())
def test_an_item_reads_the_same_from_xml_and_json(
    generated: list[tuple[dict[str, str], str]], data: st.DataObject
) -> None:
    xml_items = []
    for fields, state in generated:
        attributes = "".join(f" {k}={quoteattr(v)}" for k, v in fields.items())
        if state or data.draw(st.booleans()):
            xml_items.append(f"<state{attributes}>{data.draw(xml_text(state))}</state>")
        else:
            xml_items.append(f"<state{attributes}/>")
    body = "<response>\n" + "\n".join(xml_items) + "\n</response>"
    # The XML is read as ElementTree reads it...
    expected_items = [{**fields, "state": state} for fields, state in generated]
    assert reference_xml_items(body) == expected_items
    # ...and its items follow the same rules as the same values in JSON.
    from_xml = decode(body.encode("utf-8"))
    from_json = decode(json.dumps(expected_items))
    assert from_xml.reports == from_json.reports
    assert [(e.index, e.id_sms, e.reason) for e in from_xml.errors] == [
        (e.index, e.id_sms, e.reason) for e in from_json.errors
    ]
    for error in from_xml.errors:
        assert error.raw == xml_items[error.index]


@given(
    st.integers(min_value=0, max_value=10**30),
    st.sampled_from(["{}", " {} ", "{}\t", "000{}", "  0{}"]),
)
def test_any_decimal_id_reads_in_both_formats(id_sms: int, shape: str) -> None:
    text = shape.format(id_sms)
    xml_body = f'<response><state id_sms="{text}" time="">send</state></response>'
    json_body = json.dumps([{"id_sms": text, "state": "send"}])
    expected = (StatusReport(id_sms, None, Status.SEND),)
    assert decode(xml_body).reports == decode(json_body).reports == expected
