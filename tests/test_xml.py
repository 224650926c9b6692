"""The XML decoder and encoder: document shape, limits, encodings, and `raw`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from smsstatus import (
    Batch,
    DecodeError,
    Format,
    Limits,
    PayloadTooLarge,
    ReportError,
    Status,
    StatusReport,
    UnsafePayload,
    decode_xml,
    encode_xml,
)
from smsstatus._item import STATUS_BYTES, ItemReader
from smsstatus._xml import _WINDOW, _read_as_written

DATA = Path(__file__).parent / "data"

SEND_1 = StatusReport(1, None, Status.SEND)
ITEM_1 = b'<state id_sms="1" time="">send</state>'


def test_the_smallest_documents() -> None:
    for body in (b"<response/>", b"<response></response>", b"<response>\n</response>"):
        assert decode_xml(body) == Batch(Format.XML, (), ())


def test_xml_accepts_str_and_bytes_alike() -> None:
    body = b"<response>" + ITEM_1 + b"</response>"
    assert (
        decode_xml(body)
        == decode_xml(body.decode())
        == Batch(Format.XML, (SEND_1,), ())
    )


def test_quoting_and_attribute_order_do_not_matter() -> None:
    body = (
        b"<response>"
        b"<state viber='read' time='2011-01-01 12:57:46' id_sms='4008'>read</state>"
        b'<state\n  id_sms = "4009"\n  time=""\n>send</state   >'
        b"</response  >"
    )
    assert decode_xml(body).reports == (
        StatusReport(
            4008, datetime(2011, 1, 1, 12, 57, 46), Status.READ, viber=Status.READ
        ),
        StatusReport(4009, None, Status.SEND),
    )


def test_other_elements_comments_and_instructions_are_ignored() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n'
        b"<!-- a comment -->\n"
        b'<response version="2">'
        b"<?app instruction?>"
        b"<meta><state id_sms='9' time=''>read</state></meta>"
        b"<!-- <state id_sms='8' time=''>read</state> -->"
        b"<count>1</count>" + ITEM_1 + b"<status id_sms='7' time=''>read</status>"
        b"</response>\n<!-- trailing -->\n"
    )
    assert decode_xml(body) == Batch(Format.XML, (SEND_1,), ())


def test_namespaced_or_prefixed_names_are_not_the_gateway_s() -> None:
    with pytest.raises(DecodeError, match="root element"):
        decode_xml(b'<g:response xmlns:g="urn:x"/>')
    body = (
        b'<response xmlns:g="urn:x"><g:state id_sms="1" time="">send</g:state>'
        b"</response>"
    )
    assert decode_xml(body) == Batch(Format.XML, (), ())


@pytest.mark.parametrize(
    "body",
    [
        b"<Response/>",
        b"<state id_sms='1'>send</state>",
        b"<responses></responses>",
        b"<r/>",
    ],
)
def test_wrong_root_is_refused(body: bytes) -> None:
    with pytest.raises(DecodeError, match="root element is <"):
        decode_xml(body)


def test_a_long_root_name_is_not_echoed_whole() -> None:
    name = b"r" * 10_000
    with pytest.raises(DecodeError) as info:
        decode_xml(b"<" + name + b"/>")
    assert len(str(info.value)) < 200


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"<response>", "line 1"),
        (b"<response><state id_sms='1'>send</response>", "line 1"),
        (b"<response></response><response></response>", "line 1"),
        (b"<response>\n<state id_sms='1' id_sms='2'>send</state></response>", "line 2"),
        (b"<response>\n\n<state id_sms=1>send</state></response>", "line 3"),
        (b"<response>&undefined;</response>", "line 1"),
        (b"<response>&#0;</response>", "line 1"),
        (b"<response>\x00</response>", "line 1"),
        (b"<response>\x0c</response>", "line 1"),
        (b"<?xml version='1.0'?><?xml version='1.0'?><response/>", "line 1"),
        (b"<response/>trailing", "line 1"),
        (b"just text", "line 1"),
    ],
)
def test_malformed_xml_is_refused_with_a_position(body: bytes, where: str) -> None:
    with pytest.raises(DecodeError, match=f"malformed XML at {where}, column ") as info:
        decode_xml(body)
    assert not isinstance(info.value, UnsafePayload)


def test_non_ascii_text_is_read_as_utf8() -> None:
    body = '<response><state id_sms="1" time="" note="Статус">чтение</state></response>'
    (error,) = decode_xml(body.encode("utf-8")).errors
    assert "'чтение'" in error.reason
    assert error.raw == body[len("<response>") : -len("</response>")]


# --- depth and size limits ------------------------------------------------------


def nested(depth: int) -> bytes:
    """A <response> with elements nested `depth` deep in all (the root counts)."""
    inner = depth - 1
    return b"<response>" + b"<a>" * inner + b"</a>" * inner + b"</response>"


def test_64_levels_are_fine_65_are_refused() -> None:
    assert decode_xml(nested(64)) == Batch(Format.XML, (), ())
    with pytest.raises(DecodeError, match="nested deeper than 64 elements at line 1"):
        decode_xml(nested(65))


def test_depth_counts_inside_a_state_too() -> None:
    deep = b"<state id_sms='1' time=''>send" + b"<a>" * 70 + b"</a>" * 70 + b"</state>"
    with pytest.raises(DecodeError, match="nested deeper"):
        decode_xml(b"<response>" + deep + b"</response>")


def test_max_reports_is_enforced_while_parsing() -> None:
    # The limit trips at the first extra <state>, before the rest is even well-formed.
    body = b"<response>" + ITEM_1 * 3 + b"<state id_sms='4'>send</state><<<garbage"
    with pytest.raises(PayloadTooLarge, match="more than 3 items"):
        decode_xml(body, limits=Limits(max_reports=3))
    with pytest.raises(DecodeError, match="malformed"):
        decode_xml(body, limits=Limits(max_reports=4))


def test_max_reports_counts_bad_items_too() -> None:
    body = (
        b"<response>" + b"<state id_sms='x' time=''>send</state>" * 3 + b"</response>"
    )
    assert len(decode_xml(body, limits=Limits(max_reports=3)).errors) == 3
    with pytest.raises(PayloadTooLarge):
        decode_xml(body, limits=Limits(max_reports=2))


def test_max_reports_ignores_other_elements() -> None:
    body = b"<response>" + b"<other/>" * 10 + ITEM_1 + b"</response>"
    assert decode_xml(body, limits=Limits(max_reports=1)).reports == (SEND_1,)


def test_max_bytes() -> None:
    body = b"<response>" + ITEM_1 + b"</response>"
    assert decode_xml(body, limits=Limits(max_bytes=len(body))).reports == (SEND_1,)
    with pytest.raises(PayloadTooLarge):
        decode_xml(body, limits=Limits(max_bytes=len(body) - 1))


# --- raw -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [
        '<state id_sms="x" time="">send</state>',
        '<state id_sms="x" time=""/>',
        '<state id_sms="x" time="" />',
        '<state id_sms="x" time="a>b"/>',
        '<state id_sms="x" time="a>b">send</state   >',
        "<state\n  id_sms='x'\n  time=''\n>send</state\n>",
        '<state id_sms="x" time=""><!-- c --><b>x</b>send<![CDATA[>]]></state>',
        '<state id_sms="x" time="">&amp;&lt;&#x41;</state>',
        '<state id_sms="x" time="" note="ü€𝄞">send</state>',
    ],
)
def test_raw_is_the_element_exactly_as_sent(item: str) -> None:
    good = ITEM_1.decode()
    body = f'<?xml version="1.0"?>\n<response>\n  {good}\n  {item}\n</response>\n'
    batch = decode_xml(body.encode("utf-8"))
    (error,) = batch.errors
    assert error.raw == item
    assert error.index == 1
    again = decode_xml(f"<response>{error.raw}</response>")
    assert again.errors == (ReportError(0, error.id_sms, error.reason, error.raw),)


def test_raw_of_items_after_many_good_ones() -> None:
    body = (
        b"<response>"
        + ITEM_1 * 1000
        + b"<state id_sms='7' time='bad'>read</state></response>"
    )
    batch = decode_xml(body)
    assert len(batch.reports) == 1000
    assert batch.errors == (
        ReportError(
            1000, 7, batch.errors[0].reason, "<state id_sms='7' time='bad'>read</state>"
        ),
    )


# --- encoding --------------------------------------------------------------------


def test_encode_writes_legs_only_when_set() -> None:
    body = encode_xml(
        [
            StatusReport(1, None, Status.SEND),
            StatusReport(2, None, Status.SEND, sms=Status.SEND),
            StatusReport(3, None, Status.SEND, viber=Status.SEND),
        ]
    )
    lines = body.decode().splitlines()
    assert lines[2] == '  <state id_sms="1" time="">send</state>'
    assert lines[3] == '  <state id_sms="2" time="" sms="send">send</state>'
    assert lines[4] == '  <state id_sms="3" time="" viber="send">send</state>'


def test_encode_writes_the_wall_clock_and_drops_microseconds() -> None:
    when = datetime(2011, 1, 1, 12, 57, 46, 999_999, tzinfo=ZoneInfo("Asia/Tokyo"))
    body = encode_xml([StatusReport(1, when, Status.READ)])
    assert b'time="2011-01-01 12:57:46"' in body


def test_encode_an_empty_batch_decodes_to_an_empty_batch() -> None:
    assert decode_xml(encode_xml([])) == Batch(Format.XML, (), ())


@pytest.mark.parametrize("shift", [-40, -20, -7, -1, 0, 1, 9, 30])
def test_items_across_any_internal_buffer_boundary(shift: int) -> None:
    # A decoder may feed the parser in slices; items cut by a slice read the same.
    bad = '<state id_sms="7" time="" note="Статус">nope</state>'
    good = '<state id_sms="1" time="">send</state>'
    for boundary in (1 << 12, 1 << 13, 1 << 16, 1 << 17):
        head = "<response>" + good * ((boundary - 200) // len(good))
        padding = " " * (boundary + shift - len(head.encode()) - 20)
        body = f"{head}{padding}{bad}{good}</response>".encode()
        batch = decode_xml(body)
        assert len(batch.reports) == body.count(b'id_sms="1"')
        (error,) = batch.errors
        assert error.raw == bad
        assert error.id_sms == 7
        assert error.index == len(batch.reports) - 1


@pytest.mark.parametrize("declaration", [True, False])
def test_a_document_written_by_elementtree_reads_the_same(declaration: bool) -> None:
    # ElementTree writes a single-quoted declaration and no blanks between elements.
    reports = [
        StatusReport(
            7, datetime(2026, 1, 2, 3, 4, 5), Status.DELIVER, sms=Status.DELIVER
        ),
        StatusReport(8, None, Status.SEND, viber=Status.SEND),
    ]
    root = ET.Element("response")
    for report in reports:
        attributes = {"id_sms": str(report.id_sms), "time": _wall(report.time)}
        if report.sms:
            attributes["sms"] = report.sms.value
        if report.viber:
            attributes["viber"] = report.viber.value
        ET.SubElement(root, "state", attributes).text = report.state.value
    body = ET.tostring(root, encoding="utf-8", xml_declaration=declaration)
    assert body.startswith(b"<?xml version='1.0'") is declaration
    assert decode_xml(body) == Batch(Format.XML, tuple(reports), ())


def _wall(time: datetime | None) -> str:
    return "" if time is None else time.strftime("%Y-%m-%d %H:%M:%S")


# --- the gateway's own form, read by the patterns a window at a time ---------------


def _gateway_document(count: int) -> tuple[list[StatusReport], bytes]:
    """`count` varied reports and the gateway's document of them, over many windows
    of the pattern reader."""
    statuses = list(Status)
    reports = [
        StatusReport(
            10_000 + n,
            None if n % 7 == 0 else datetime(2026, 3, 1 + n % 28, n % 24, n % 60, 7),
            statuses[n % len(statuses)],
            sms=statuses[n % 5] if n % 3 else None,
            viber=statuses[n % 4] if n % 2 else None,
        )
        for n in range(count)
    ]
    body = encode_xml(reports)
    assert len(body) > 3 * _WINDOW
    return reports, body


def _by_expat(body: bytes) -> bytes:
    """`body` with a declaration the patterns do not take, so expat reads it all."""
    return body.replace(b"?>", b' standalone="yes"?>', 1)


def test_a_long_document_reads_as_expat_reads_it() -> None:
    reports, body = _gateway_document(3000)
    batch = decode_xml(body, tz=ZoneInfo("Europe/Berlin"))
    assert batch == decode_xml(_by_expat(body), tz=ZoneInfo("Europe/Berlin"))
    assert batch.reports == tuple(
        StatusReport(
            r.id_sms,
            r.time and r.time.replace(tzinfo=ZoneInfo("Europe/Berlin")),
            r.state,
            r.sms,
            r.viber,
        )
        for r in reports
    )


@pytest.mark.parametrize("window", [1, 2, 3])
@pytest.mark.parametrize(
    "insert", [b"<!-- c -->", b"x", b"<other/>", b"&#32;", b"<state>x</state>"]
)
def test_anything_between_items_at_a_window_s_edge_is_read_by_expat(
    window: int, insert: bytes
) -> None:
    # Where a window ends (after the first end tag past its size, and the blanks),
    # and a few bytes around it: the patterns see it and leave the document to
    # expat.
    _, body = _gateway_document(3000)
    assert _read_as_written(body, ItemReader(None, STATUS_BYTES), 3000) is not None
    edge = body.find(b"</state>", window * _WINDOW) + len(b"</state>\n")
    for at in (edge - 1, edge, edge + 2):
        changed = body[:at] + insert + body[at:]
        assert _read_as_written(changed, ItemReader(None, STATUS_BYTES), 3000) is None
        assert decode_xml(changed) == decode_xml(_by_expat(changed))


def test_a_bad_item_in_a_later_window_keeps_its_index() -> None:
    reports, body = _gateway_document(3000)
    at = body.find(b"<state ", 2 * _WINDOW + 100)
    index = body.count(b"<state ", 0, at)
    bad = b'<state id_sms="7" time="2026-02-30 00:00:00">read</state>'
    batch = decode_xml(body[:at] + bad + body[at:])
    assert batch.reports == tuple(reports)
    ((error_index, id_sms),) = [(e.index, e.id_sms) for e in batch.errors]
    assert (error_index, id_sms) == (index, 7)


def test_max_reports_counts_the_items_of_every_window() -> None:
    _, body = _gateway_document(3000)
    assert len(decode_xml(body, limits=Limits(max_reports=3000)).reports) == 3000
    with pytest.raises(PayloadTooLarge, match="more than 2999 items"):
        decode_xml(body, limits=Limits(max_reports=2999))
    # The limit trips at the first extra item, whatever comes after it.
    broken = body.replace(b"</response>", b"<<<garbage</response>")
    with pytest.raises(PayloadTooLarge, match="more than 2999 items"):
        decode_xml(broken, limits=Limits(max_reports=2999))
    with pytest.raises(PayloadTooLarge, match="more than 100 items"):
        decode_xml(broken, limits=Limits(max_reports=100))
