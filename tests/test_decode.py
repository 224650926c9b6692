"""`decode`: the golden table (both formats, both directions), sniffing, format
forcing, body types, limits and time zones.

The golden table is the h11 way: one list of cases, each a set of reports and the
exact bytes the gateway sends for them in XML and in JSON.  The same rows check that
the decoders read the bytes into the reports and that the encoders write the reports
into the bytes.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest

from smsstatus import (
    Batch,
    DecodeError,
    Format,
    Limits,
    PayloadTooLarge,
    Status,
    StatusReport,
    decode,
    decode_json,
    decode_xml,
    encode_json,
    encode_xml,
)

DATA = Path(__file__).parent / "data"

S = Status


def xml(*items: str) -> bytes:
    """The gateway's XML envelope around item lines written out in full."""
    body = "".join(f"  {item}\n" for item in items)
    head = '<?xml version="1.0" encoding="utf-8" ?>\n'
    return f"{head}<response>\n{body}</response>\n".encode()


@attrs.frozen
class Case:
    name: str
    reports: tuple[StatusReport, ...]
    xml: bytes
    json: bytes
    tz: tzinfo | None = None


MSK = ZoneInfo("Europe/Moscow")
IST = timezone(timedelta(hours=5, minutes=30))

GOLDEN = [
    Case("empty", (), xml(), b"[]"),
    Case(
        "the gateway's own example",
        (
            StatusReport(
                4007, datetime(2011, 1, 1, 12, 57, 46), S.DELIVER, sms=S.DELIVER
            ),
            StatusReport(
                4008,
                datetime(2011, 1, 1, 12, 57, 46),
                S.READ,
                sms=S.NOT_DELIVER,
                viber=S.READ,
            ),
            StatusReport(4009, None, S.SEND, viber=S.SEND),
        ),
        xml(
            '<state id_sms="4007" time="2011-01-01 12:57:46" sms="deliver">'
            "deliver</state>",
            '<state id_sms="4008" time="2011-01-01 12:57:46" sms="not_deliver"'
            ' viber="read">read</state>',
            '<state id_sms="4009" time="" viber="send">send</state>',
        ),
        b'[{"id_sms": "4007", "time": "2011-01-01 12:57:46", "state": "deliver",'
        b' "sms": "deliver"}, {"id_sms": "4008", "time": "2011-01-01 12:57:46",'
        b' "state": "read", "sms": "not_deliver", "viber": "read"},'
        b' {"id_sms": "4009", "time": "", "state": "send", "viber": "send"}]',
    ),
    Case(
        "every status, no legs",
        tuple(
            StatusReport(i, datetime(2024, 2, 29, 23, 59, 59), status)
            for i, status in enumerate(Status)
        ),
        xml(
            '<state id_sms="0" time="2024-02-29 23:59:59">send</state>',
            '<state id_sms="1" time="2024-02-29 23:59:59">not_deliver</state>',
            '<state id_sms="2" time="2024-02-29 23:59:59">expired</state>',
            '<state id_sms="3" time="2024-02-29 23:59:59">deliver</state>',
            '<state id_sms="4" time="2024-02-29 23:59:59">read</state>',
            '<state id_sms="5" time="2024-02-29 23:59:59">partly_deliver</state>',
        ),
        b'[{"id_sms": "0", "time": "2024-02-29 23:59:59", "state": "send"},'
        b' {"id_sms": "1", "time": "2024-02-29 23:59:59", "state": "not_deliver"},'
        b' {"id_sms": "2", "time": "2024-02-29 23:59:59", "state": "expired"},'
        b' {"id_sms": "3", "time": "2024-02-29 23:59:59", "state": "deliver"},'
        b' {"id_sms": "4", "time": "2024-02-29 23:59:59", "state": "read"},'
        b' {"id_sms": "5", "time": "2024-02-29 23:59:59", "state": "partly_deliver"}]',
    ),
    Case(
        "every status on each leg",
        tuple(
            StatusReport(10 + i, None, S.DELIVER, sms=status, viber=status)
            for i, status in enumerate(Status)
        ),
        xml(
            '<state id_sms="10" time="" sms="send" viber="send">deliver</state>',
            '<state id_sms="11" time="" sms="not_deliver" viber="not_deliver">'
            "deliver</state>",
            '<state id_sms="12" time="" sms="expired" viber="expired">deliver</state>',
            '<state id_sms="13" time="" sms="deliver" viber="deliver">deliver</state>',
            '<state id_sms="14" time="" sms="read" viber="read">deliver</state>',
            '<state id_sms="15" time="" sms="partly_deliver" viber="partly_deliver">'
            "deliver</state>",
        ),
        b'[{"id_sms": "10", "time": "", "state": "deliver", "sms": "send",'
        b' "viber": "send"}, {"id_sms": "11", "time": "", "state": "deliver",'
        b' "sms": "not_deliver", "viber": "not_deliver"}, {"id_sms": "12",'
        b' "time": "", "state": "deliver", "sms": "expired", "viber": "expired"},'
        b' {"id_sms": "13", "time": "", "state": "deliver", "sms": "deliver",'
        b' "viber": "deliver"}, {"id_sms": "14", "time": "", "state": "deliver",'
        b' "sms": "read", "viber": "read"}, {"id_sms": "15", "time": "",'
        b' "state": "deliver", "sms": "partly_deliver", "viber": "partly_deliver"}]',
    ),
    Case(
        "extreme ids and times",
        (
            StatusReport(0, datetime(1, 1, 1, 0, 0, 0), S.EXPIRED),
            StatusReport(10**30, datetime(9999, 12, 31, 23, 59, 59), S.READ),
            StatusReport(999, datetime(999, 9, 9, 9, 9, 9), S.SEND),
        ),
        xml(
            '<state id_sms="0" time="0001-01-01 00:00:00">expired</state>',
            '<state id_sms="1000000000000000000000000000000"'
            ' time="9999-12-31 23:59:59">read</state>',
            '<state id_sms="999" time="0999-09-09 09:09:09">send</state>',
        ),
        b'[{"id_sms": "0", "time": "0001-01-01 00:00:00", "state": "expired"},'
        b' {"id_sms": "1000000000000000000000000000000",'
        b' "time": "9999-12-31 23:59:59", "state": "read"},'
        b' {"id_sms": "999", "time": "0999-09-09 09:09:09", "state": "send"}]',
    ),
    Case(
        "a zone is attached, not converted",
        (
            StatusReport(7, datetime(2026, 3, 29, 2, 30, 0, tzinfo=MSK), S.DELIVER),
            StatusReport(8, None, S.SEND),
        ),
        xml(
            '<state id_sms="7" time="2026-03-29 02:30:00">deliver</state>',
            '<state id_sms="8" time="">send</state>',
        ),
        b'[{"id_sms": "7", "time": "2026-03-29 02:30:00", "state": "deliver"},'
        b' {"id_sms": "8", "time": "", "state": "send"}]',
        tz=MSK,
    ),
    Case(
        "a fixed offset",
        (StatusReport(9, datetime(2020, 1, 1, 0, 0, 0, tzinfo=IST), S.PARTLY_DELIVER),),
        xml('<state id_sms="9" time="2020-01-01 00:00:00">partly_deliver</state>'),
        b'[{"id_sms": "9", "time": "2020-01-01 00:00:00", "state": "partly_deliver"}]',
        tz=IST,
    ),
]

golden = pytest.mark.parametrize("case", GOLDEN, ids=[case.name for case in GOLDEN])


@golden
def test_golden_decode_xml(case: Case) -> None:
    for batch in (
        decode(case.xml, tz=case.tz),
        decode(case.xml, format="xml", tz=case.tz),
        decode_xml(case.xml, tz=case.tz),
    ):
        assert batch == Batch(format=Format.XML, reports=case.reports, errors=())


@golden
def test_golden_decode_json(case: Case) -> None:
    for batch in (
        decode(case.json, tz=case.tz),
        decode(case.json, format=Format.JSON, tz=case.tz),
        decode_json(case.json, tz=case.tz),
    ):
        assert batch == Batch(format=Format.JSON, reports=case.reports, errors=())


@golden
def test_golden_encode(case: Case) -> None:
    assert encode_xml(case.reports) == case.xml
    assert encode_json(case.reports) == case.json
    # Any iterable will do, not only a sequence.
    assert encode_xml(iter(case.reports)) == case.xml
    assert encode_json(iter(case.reports)) == case.json


@golden
def test_golden_times_carry_the_zone_given(case: Case) -> None:
    for body in (case.xml, case.json):
        for report in decode(body, tz=case.tz).reports:
            if report.time is not None:
                assert report.time.tzinfo is case.tz


def test_the_gateway_examples_decode() -> None:
    batch = decode((DATA / "gateway-example.xml").read_bytes())
    assert batch == Batch(Format.XML, GOLDEN[1].reports, ())
    batch = decode((DATA / "gateway-example.json").read_bytes())
    assert batch == Batch(
        Format.JSON,
        (
            StatusReport(4007, datetime(2011, 1, 1, 12, 57, 46), S.DELIVER),
            StatusReport(4010, None, S.SEND),
        ),
        (),
    )


def test_the_bundled_examples_hold_one_bad_item_each() -> None:
    examples = Path(__file__).parent.parent / "examples"
    for name, format in (("statuses.xml", Format.XML), ("statuses.json", Format.JSON)):
        batch = decode((examples / name).read_bytes())
        assert batch.format is format
        assert len(batch.reports) == 11
        assert len(batch.errors) == 1
        assert {r.state for r in batch.reports} == set(Status)


# --- sniffing and forcing the format -------------------------------------------

XML_DOC = GOLDEN[1].xml
JSON_DOC = GOLDEN[1].json


@pytest.mark.parametrize(
    ("body", "format"),
    [
        (XML_DOC, Format.XML),
        (JSON_DOC, Format.JSON),
        (b'{"id_sms": "1", "time": "", "state": "send"}', Format.JSON),
        (b"\xef\xbb\xbf" + XML_DOC, Format.XML),
        (b"\xef\xbb\xbf" + JSON_DOC, Format.JSON),
        (b" \t\r\n<response>\n</response>", Format.XML),
        (b"\xef\xbb\xbf\n  <response/>", Format.XML),
        (b"\n\n  " + JSON_DOC, Format.JSON),
        (b"\xef\xbb\xbf  \n" + JSON_DOC, Format.JSON),
        (b"<response/>", Format.XML),
    ],
)
def test_sniffing(body: bytes, format: Format) -> None:
    assert decode(body).format is format
    assert decode(body.decode("utf-8")).format is format


def test_an_xml_declaration_must_open_the_document() -> None:
    # Sniffing skips the blanks, but XML itself allows none before the declaration.
    with pytest.raises(DecodeError, match="malformed XML at line 2"):
        decode(b"\n" + XML_DOC)


@pytest.mark.parametrize(
    "body",
    [
        b"response",
        b"\x00<response/>",
        b"  ?",
        b"null",
        b"42",
        b'"text"',
        b"\xff\xfex\x00",
    ],
)
def test_a_body_neither_format_is_refused(body: bytes) -> None:
    with pytest.raises(DecodeError, match="neither XML nor JSON"):
        decode(body)


def test_a_utf16_xml_body_is_sniffed_as_xml() -> None:
    # decode_xml reads a UTF-16 body with its byte-order mark (every XML processor
    # must); `decode` should sniff it as XML: its first character after the BOM is '<'.
    body = XML_DOC.decode().replace("utf-8", "utf-16").encode("utf-16")
    assert decode_xml(body).reports == GOLDEN[1].reports
    assert decode(body).reports == GOLDEN[1].reports


@pytest.mark.parametrize("format", ["xml", "XML", "Xml", Format.XML])
def test_forcing_xml(format: Format | str) -> None:
    assert decode(XML_DOC, format=format).format is Format.XML
    with pytest.raises(DecodeError, match="malformed XML"):
        decode(JSON_DOC, format=format)


@pytest.mark.parametrize("format", ["json", "JSON", Format.JSON])
def test_forcing_json(format: Format | str) -> None:
    assert decode(JSON_DOC, format=format).format is Format.JSON
    with pytest.raises(DecodeError, match="malformed JSON"):
        decode(XML_DOC, format=format)


def test_forcing_a_format_skips_sniffing() -> None:
    # A body neither format would sniff still gets the forced parser's own verdict.
    with pytest.raises(DecodeError, match="malformed JSON"):
        decode(b"nonsense", format="json")
    with pytest.raises(DecodeError, match="malformed XML"):
        decode(b"nonsense", format="xml")


@pytest.mark.parametrize("format", ["yaml", "", "xmljson", 1, b"xml"])
def test_an_unknown_format_is_a_programming_error(format: object) -> None:
    with pytest.raises(ValueError, match="format must be") as info:
        decode(XML_DOC, format=format)  # type: ignore[arg-type]
    assert not isinstance(info.value, DecodeError)


# --- body types ------------------------------------------------------------------


@pytest.mark.parametrize("convert", [bytes, bytearray, memoryview, bytes.decode])
@pytest.mark.parametrize("doc", [XML_DOC, JSON_DOC], ids=["xml", "json"])
def test_every_body_type_decodes_alike(convert: object, doc: bytes) -> None:
    body = convert(doc)  # type: ignore[operator]
    expected = decode(doc)
    assert decode(body) == expected
    assert expected.reports == GOLDEN[1].reports


def test_a_memoryview_slice_decodes_only_its_bytes() -> None:
    view = memoryview(b"garbage" + XML_DOC + b"garbage")[7:-7]
    assert decode(view).reports == GOLDEN[1].reports


def test_a_str_body_keeps_its_non_ascii_characters() -> None:
    word = "d\u0435liver"  # with a Cyrillic e
    text = f'<response><state id_sms="1" time="">{word}</state></response>'
    (error,) = decode(text).errors
    assert word in error.reason
    assert error.raw == f'<state id_sms="1" time="">{word}</state>'


@pytest.mark.parametrize(
    "body",
    [
        '<response><state id_sms="1" time="">\ud800</state></response>',
        '[{"id_sms": "1", "state": "send"}]\udfff',
    ],
)
def test_a_str_with_a_lone_surrogate_is_refused(body: str) -> None:
    with pytest.raises(DecodeError, match="surrogate"):
        decode(body)


@pytest.mark.parametrize("body", [None, 42, ["<response/>"], object()])
def test_a_body_of_another_type_is_a_programming_error(body: object) -> None:
    with pytest.raises(TypeError, match="body must be"):
        decode(body)  # type: ignore[arg-type]


# --- document-level refusals common to both formats --------------------------------


@pytest.mark.parametrize(
    "body",
    [b"", "", bytearray(), memoryview(b""), b" \r\n\t", b"\xef\xbb\xbf ", b"\xff\xfe"],
)
@pytest.mark.parametrize("format", [None, "xml", "json"])
def test_an_empty_body_is_refused(body: object, format: str | None) -> None:
    with pytest.raises(DecodeError, match="body is empty"):
        decode(body, format=format)  # type: ignore[arg-type]


@pytest.mark.parametrize("body", [b" ", b"\r\n\t ", b"\xef\xbb\xbf", b"\xef\xbb\xbf "])
@pytest.mark.parametrize("format", [None, "xml", "json"])
def test_a_blank_body_is_refused(body: bytes, format: str | None) -> None:
    with pytest.raises(DecodeError):
        decode(body, format=format)


@pytest.mark.parametrize("doc", [XML_DOC, JSON_DOC], ids=["xml", "json"])
def test_max_bytes(doc: bytes) -> None:
    assert decode(doc, limits=Limits(max_bytes=len(doc))).reports
    with pytest.raises(PayloadTooLarge, match=f"over the limit of {len(doc) - 1}"):
        decode(doc, limits=Limits(max_bytes=len(doc) - 1))


def test_max_bytes_counts_the_utf8_bytes_of_a_str() -> None:
    text = "[" + " " * 10 + "]"
    assert decode(text, limits=Limits(max_bytes=12)).reports == ()
    wide = "[" + "\u00a0" * 10 + "]"  # two bytes each in UTF-8
    with pytest.raises(PayloadTooLarge):
        decode(wide, limits=Limits(max_bytes=12))


def test_max_bytes_is_checked_before_parsing() -> None:
    # Garbage over the limit is too large, not malformed: nothing was parsed.
    with pytest.raises(PayloadTooLarge):
        decode(b"<" * 101, limits=Limits(max_bytes=100))


@pytest.mark.parametrize("doc", [XML_DOC, JSON_DOC], ids=["xml", "json"])
def test_max_reports(doc: bytes) -> None:
    assert len(decode(doc, limits=Limits(max_reports=3)).reports) == 3
    with pytest.raises(PayloadTooLarge, match=r"over the limit of 2|more than 2"):
        decode(doc, limits=Limits(max_reports=2))


def test_the_default_limits() -> None:
    many = encode_json([StatusReport(i, None, S.SEND) for i in range(100_001)])
    with pytest.raises(PayloadTooLarge):
        decode(many)
    assert len(decode(many, limits=Limits(max_reports=100_001)).reports) == 100_001
    with pytest.raises(PayloadTooLarge):
        decode(b"[" + b" " * (16 * 1024 * 1024) + b"]")


# --- time zones ------------------------------------------------------------------


@pytest.mark.parametrize("doc", [XML_DOC, JSON_DOC], ids=["xml", "json"])
def test_without_tz_times_are_naive(doc: bytes) -> None:
    times = [r.time for r in decode(doc).reports if r.time is not None]
    assert times
    assert all(t.tzinfo is None for t in times)


@pytest.mark.parametrize("doc", [XML_DOC, JSON_DOC], ids=["xml", "json"])
@pytest.mark.parametrize(
    "tz", [timezone.utc, MSK, IST, ZoneInfo("America/New_York")], ids=str
)
def test_tz_is_attached_not_converted(doc: bytes, tz: tzinfo) -> None:
    naive = decode(doc).reports
    aware = decode(doc, tz=tz).reports
    assert len(naive) == len(aware)
    for plain, zoned in zip(naive, aware, strict=True):
        if plain.time is None:
            assert zoned.time is None
        else:
            assert zoned.time is not None
            assert zoned.time.tzinfo is tz
            assert zoned.time.replace(tzinfo=None) == plain.time
        assert attrs.evolve(zoned, time=plain.time) == plain


@pytest.mark.parametrize("body", [encode_xml([]), b"[]"])
def test_a_tz_that_is_not_a_tzinfo_fails_even_without_times(body: bytes) -> None:
    # Caught before any item is read: not only once a document carries a time.
    with pytest.raises(TypeError, match=r"tz must be a datetime\.tzinfo"):
        decode(body, tz="UTC")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("padded", "accepted"),
    [(" 5 ", True), ("\t5\r\n", True), ("\u00a05", False), ("5\u3000", False)],
)
def test_only_xml_and_json_blanks_surround_an_id(padded: str, accepted: bool) -> None:
    xml_body = f'<response><state id_sms="{padded}" time="">send</state></response>'
    json_body = json.dumps([{"id_sms": padded, "time": "", "state": "send"}])
    for body in (xml_body, json_body):
        batch = decode(body)
        if accepted:
            assert batch.reports == (StatusReport(5, None, Status.SEND),)
        else:
            assert batch.errors[0].reason.startswith("id_sms: expected decimal digits")
