"""The per-item rules of API.md, each field value tried in XML and in JSON.

Every case is one item, written into a document of either format by `xml_item` /
`json_item`, between two good items, so the test also sees that a bad item does not
disturb its neighbours, that `index` counts items, and that `raw` is the item exactly
and decodes again to the same error.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest

from smsstatus import (
    Batch,
    Format,
    ReportError,
    Status,
    StatusReport,
    decode,
)

MISSING: Any = object()
GOOD_TIME = "2011-01-01 12:57:46"


def fields(**changes: Any) -> dict[str, Any]:
    """A good item's fields, with some replaced (MISSING drops one)."""
    item = {"id_sms": "42", "time": GOOD_TIME, "state": "deliver", **changes}
    return {k: v for k, v in item.items() if v is not MISSING}


def xml_item(item: dict[str, Any]) -> str:
    attributes = "".join(
        f" {name}={quoteattr(value)}" for name, value in item.items() if name != "state"
    )
    return f"<state{attributes}>{escape(item.get('state', ''))}</state>"


def json_item(item: dict[str, Any]) -> str:
    return json.dumps(item)


def document(format: Format, *items: dict[str, Any]) -> str:
    """A document of `format` holding `items`."""
    if format is Format.XML:
        return "<response>" + "".join(map(xml_item, items)) + "</response>"
    return "[" + ", ".join(map(json_item, items)) + "]"


NEIGHBOUR = StatusReport(1, None, Status.SEND)


def decode_one(format: Format, item: dict[str, Any]) -> StatusReport | ReportError:
    """Decode `item` between two good neighbours; return what it became."""
    good = {"id_sms": "1", "time": "", "state": "send"}
    batch = decode(document(format, good, item, good).encode("utf-8"), format=format)
    assert batch.format is format
    assert len(batch.reports) + len(batch.errors) == 3
    assert batch.reports.count(NEIGHBOUR) == 2
    if batch.errors:
        (error,) = batch.errors
        assert error.index == 1
        expected = xml_item(item) if format is Format.XML else json_item(item)
        assert error.raw == expected
        assert_redecodes(format, error)
        return error
    return batch.reports[1]


def assert_redecodes(format: Format, error: ReportError) -> None:
    """An error's `raw` can be stored and decoded again, to the same error."""
    text = f"<response>{error.raw}</response>" if format is Format.XML else error.raw
    again = decode(text, format=format)
    assert again == Batch(
        format, (), (ReportError(0, error.id_sms, error.reason, error.raw),)
    )


formats = pytest.mark.parametrize("format", list(Format), ids=lambda f: f.value)


# --- values that are fine ---------------------------------------------------------


@formats
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("42", 42),
        ("0", 0),
        ("007", 7),
        (" 42", 42),
        ("42 ", 42),
        ("  42  ", 42),
        ("9" * 100, int("9" * 100)),
    ],
)
def test_good_id(format: Format, value: str, expected: int) -> None:
    report = decode_one(format, fields(id_sms=value))
    assert report == StatusReport(
        expected, datetime(2011, 1, 1, 12, 57, 46), Status.DELIVER
    )


def test_xml_id_with_tabs_and_newlines() -> None:
    # In an attribute they arrive as spaces (XML normalises them), and spaces are fine.
    report = decode_one(Format.XML, fields(id_sms="\t42\n"))
    assert isinstance(report, StatusReport)
    assert report.id_sms == 42


def test_json_id_with_tabs_and_newlines() -> None:
    report = decode_one(Format.JSON, fields(id_sms="\t42\r\n"))
    assert isinstance(report, StatusReport)
    assert report.id_sms == 42


@pytest.mark.parametrize("value", [0, 42, 10**30])
def test_json_id_as_a_number(value: int) -> None:
    report = decode_one(Format.JSON, fields(id_sms=value))
    assert isinstance(report, StatusReport)
    assert report.id_sms == value
    assert type(report.id_sms) is int


@formats
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (GOOD_TIME, datetime(2011, 1, 1, 12, 57, 46)),
        ("2024-02-29 00:00:00", datetime(2024, 2, 29)),
        ("2000-02-29 23:59:59", datetime(2000, 2, 29, 23, 59, 59)),
        ("0001-01-01 00:00:00", datetime(1, 1, 1)),
        ("9999-12-31 23:59:59", datetime(9999, 12, 31, 23, 59, 59)),
        ("", None),
        (MISSING, None),
    ],
)
def test_good_time(format: Format, value: Any, expected: datetime | None) -> None:
    report = decode_one(format, fields(time=value))
    assert isinstance(report, StatusReport)
    assert report.time == expected


def test_json_null_time_is_none() -> None:
    report = decode_one(Format.JSON, fields(time=None))
    assert isinstance(report, StatusReport)
    assert report.time is None


@formats
@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.value)
def test_every_status_in_every_field(format: Format, status: Status) -> None:
    value = status.value
    report = decode_one(format, fields(state=value, sms=value, viber=value))
    assert report == StatusReport(
        42, datetime(2011, 1, 1, 12, 57, 46), status, sms=status, viber=status
    )


@formats
@pytest.mark.parametrize("leg", ["sms", "viber"])
@pytest.mark.parametrize("value", ["", MISSING], ids=["empty", "missing"])
def test_an_empty_or_missing_leg_is_absent(
    format: Format, leg: str, value: Any
) -> None:
    report = decode_one(format, fields(**{leg: value}))
    assert isinstance(report, StatusReport)
    assert getattr(report, leg) is None


@pytest.mark.parametrize("leg", ["sms", "viber"])
def test_a_json_null_leg_is_absent(leg: str) -> None:
    report = decode_one(Format.JSON, fields(**{leg: None}))
    assert isinstance(report, StatusReport)
    assert getattr(report, leg) is None


@formats
def test_unknown_fields_are_ignored(format: Format) -> None:
    report = decode_one(format, fields(channel="viber", priority="high", id="7"))
    assert report == StatusReport(42, datetime(2011, 1, 1, 12, 57, 46), Status.DELIVER)


# --- values that are refused --------------------------------------------------------


def assert_refused(
    error: StatusReport | ReportError, field: str, id_sms: int | None, shown: str | None
) -> None:
    assert isinstance(error, ReportError), error
    assert error.id_sms == id_sms
    assert field in error.reason
    if shown is not None:
        assert shown in error.reason
    assert len(error.reason) < 200


BAD_ID_TEXT = [
    "abc",
    "42a",
    "-1",
    "+1",
    "1.5",
    "1e3",
    "0x10",
    "1 2",
    "4_2",
    "",
    " ",
    "\u0664\u0662",  # Arabic-Indic digits: isdigit(), but not decimal ASCII
    "\uff14\uff12",  # fullwidth digits
    "\u00b2",  # superscript two
    "42\u00a0x",
]


@formats
@pytest.mark.parametrize("value", BAD_ID_TEXT, ids=ascii)
def test_bad_id_text(format: Format, value: str) -> None:
    error = decode_one(format, fields(id_sms=value))
    assert_refused(error, "id_sms", None, repr(value) if value.strip() else None)


@formats
def test_missing_id(format: Format) -> None:
    assert_refused(
        decode_one(format, fields(id_sms=MISSING)), "id_sms", None, "missing"
    )


@formats
def test_an_id_too_long_to_convert(format: Format) -> None:
    error = decode_one(format, fields(id_sms="9" * 5000))
    assert_refused(error, "id_sms", None, None)
    assert isinstance(error, ReportError)
    assert "9" * 100 not in error.reason


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (-1, "-1"),
        (1.5, "1.5"),
        (42.0, "42.0"),
        (True, "True"),
        (False, "False"),
        (None, "missing"),
        ([42], "[42]"),
        ({"n": 42}, "object"),
    ],
    ids=repr,
)
def test_bad_json_id(value: Any, shown: str) -> None:
    assert_refused(decode_one(Format.JSON, fields(id_sms=value)), "id_sms", None, shown)


@pytest.mark.parametrize("sign", ["", "-"])
def test_a_json_id_too_long_to_convert_is_that_item_s_error(sign: str) -> None:
    # Point 7 of issue 11: such a number refused the whole document.
    body = '[{"id_sms": 1, "time": "", "state": "send"}, '
    body += '{"id_sms": ' + sign + "9" * 5000 + ', "time": "", "state": "send"}]'
    batch = decode(body)
    assert batch.reports == (NEIGHBOUR,)
    (error,) = batch.errors
    expected = "must not be negative" if sign else "too long (5000 digits)"
    assert_refused(error, "id_sms", None, expected)
    assert error.raw == body[body.index("{", 2) : -1]
    assert decode(error.raw).errors == (ReportError(0, None, error.reason, error.raw),)


@pytest.mark.parametrize("field", ["time", "state", "sms"])
def test_a_json_number_too_long_in_a_field_is_shown_as_a_number(field: str) -> None:
    number = "7" * 5000
    body = f'[{{"id_sms": 4, "time": "", "state": "send", "{field}": {number}}}]'
    (error,) = decode(body).errors
    assert_refused(error, field, 4, "a number 777")


def test_a_json_number_too_long_under_an_unknown_key_is_ignored() -> None:
    body = '[{"id_sms": 1, "time": "", "state": "send", "x": [%s]}]' % ("5" * 9000)
    assert decode(body).reports == (NEIGHBOUR,)


WRONG_TIME_SHAPE = [
    "2011-01-01T12:57:46",
    "2011/01/01 12:57:46",
    "2011-01-01 12-57-46",
    "2011.01.01 12:57:46",
    "2011-01-01  12:57:46",
    "2011-01-01 12:57:46.5",
    "2011-01-01 12:57:46.123456",
    "2011-01-01 12:57:46,5",
    "2011-01-01 12:57:46+03:00",
    "2011-01-01 12:57:46Z",
    "2011-01-01 12:57:46 MSK",
    "2011-1-1 12:57:46",
    "11-01-01 12:57:46",
    "02011-01-01 12:57:46",
    "2011-01-01 1:57:46",
    "2011-01-01 12:57",
    "2011-01-01",
    "12:57:46",
    "\u0662\u0660\u0661\u0661-01-01 12:57:46",
    "\u00a02011-01-01 12:57:46",  # a no-break space is not an XML or JSON blank
    "2011-01-01 12:57:46\u2028",
    "now",
]
IMPOSSIBLE_TIME = [
    "2026-02-30 10:00:00",
    "2011-02-29 12:00:00",
    "1900-02-29 12:00:00",
    "2011-04-31 12:00:00",
    "2011-13-01 00:00:00",
    "2011-00-01 00:00:00",
    "2011-01-00 00:00:00",
    "0000-01-01 00:00:00",
    "2011-01-01 24:00:00",
    "2011-01-01 25:61:00",
    "2011-01-01 12:60:00",
    "2011-01-01 12:57:60",
]
BAD_TIME_TEXT = WRONG_TIME_SHAPE + IMPOSSIBLE_TIME


@formats
@pytest.mark.parametrize("value", BAD_TIME_TEXT, ids=ascii)
def test_bad_time_text(format: Format, value: str) -> None:
    error = decode_one(format, fields(time=value))
    assert_refused(error, "time", 42, repr(value))


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "0"), (1293886666, "1293886666"), (True, "True"), ([], "[]"), ({}, "{}")],
    ids=repr,
)
def test_bad_json_time(value: Any, shown: str) -> None:
    assert_refused(decode_one(Format.JSON, fields(time=value)), "time", 42, shown)


@formats
@pytest.mark.parametrize("value", IMPOSSIBLE_TIME, ids=ascii)
def test_an_impossible_time_is_told_from_a_wrong_shape(
    format: Format, value: str
) -> None:
    error = decode_one(format, fields(time=value))
    assert_refused(error, "time", 42, repr(value))
    assert isinstance(error, ReportError)
    assert "not a date-time that exists" in error.reason
    assert "expected" not in error.reason


@formats
@pytest.mark.parametrize("value", WRONG_TIME_SHAPE, ids=ascii)
def test_a_wrong_time_shape_says_the_expected_one(format: Format, value: str) -> None:
    error = decode_one(format, fields(time=value))
    assert isinstance(error, ReportError)
    assert "expected 'YYYY-MM-DD HH:MM:SS' or empty" in error.reason


BLANKS = [" ", "\t", "\r\n", "\n  ", " \t\r\n "]


@formats
@pytest.mark.parametrize("blank", BLANKS, ids=ascii)
def test_blanks_around_every_field_are_ignored(format: Format, blank: str) -> None:
    def pad(text: str) -> str:
        return blank + text + blank

    item = fields(
        id_sms=pad("42"),
        time=pad(GOOD_TIME),
        state=pad("read"),
        sms=pad("deliver"),
        viber=pad("read"),
    )
    report = decode_one(format, item)
    assert report == StatusReport(
        42, datetime(2011, 1, 1, 12, 57, 46), Status.READ, Status.DELIVER, Status.READ
    )


@formats
@pytest.mark.parametrize("blank", BLANKS, ids=ascii)
def test_a_blank_time_or_leg_is_empty(format: Format, blank: str) -> None:
    report = decode_one(format, fields(time=blank, sms=blank, viber=blank))
    assert report == StatusReport(42, None, Status.DELIVER)


@formats
@pytest.mark.parametrize("blank", BLANKS, ids=ascii)
def test_a_blank_state_is_missing(format: Format, blank: str) -> None:
    assert_refused(decode_one(format, fields(state=blank)), "state", 42, "missing")


def test_a_pretty_printed_state_element_is_read() -> None:
    body = b'<response><state id_sms="7" time="">\n  deliver\n</state></response>'
    assert decode(body).reports == (StatusReport(7, None, Status.DELIVER),)


@pytest.mark.parametrize(
    ("format", "other"),
    [
        *((f, c) for f in Format for c in ("\u00a0", "\u2003", "\u0085", "\u3000")),
        # Characters XML does not allow at all, so JSON only.
        (Format.JSON, "\f"),
        (Format.JSON, "\v"),
    ],
    ids=ascii,
)
def test_other_white_space_is_not_a_blank(format: Format, other: str) -> None:
    error = decode_one(format, fields(state=other + "deliver"))
    assert_refused(error, "state", 42, None)


BAD_STATUS_TEXT = [
    "delivered",
    "Deliver",
    "DELIVER",
    "not deliver",
    "not-deliver",
    "notdeliver",
    "unknown",
    "дeliver",
]


@formats
@pytest.mark.parametrize("field", ["state", "sms", "viber"])
@pytest.mark.parametrize("value", BAD_STATUS_TEXT, ids=ascii)
def test_bad_status_text(format: Format, field: str, value: str) -> None:
    error = decode_one(format, fields(**{field: value}))
    assert_refused(error, field, 42, repr(value))


@formats
@pytest.mark.parametrize("value", ["", MISSING], ids=["empty", "missing"])
def test_state_is_required(format: Format, value: Any) -> None:
    assert_refused(decode_one(format, fields(state=value)), "state", 42, "missing")


def test_json_null_state_is_missing() -> None:
    assert_refused(decode_one(Format.JSON, fields(state=None)), "state", 42, "missing")


@pytest.mark.parametrize("field", ["state", "sms", "viber"])
@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1, "1"),
        (0, "0"),
        (2.5, "2.5"),
        (True, "True"),
        (False, "False"),
        (["deliver"], "['deliver']"),
        ({"deliver": 1}, "object"),
    ],
    ids=repr,
)
def test_bad_json_status_type(field: str, value: Any, shown: str) -> None:
    assert_refused(decode_one(Format.JSON, fields(**{field: value})), field, 42, shown)


def test_xml_state_text_ignores_nested_elements_but_not_their_text() -> None:
    # The text of a <state> is its own character data; a child element's is not.
    body = (
        b'<response><state id_sms="1" time="">deli<b>ignored</b>ver</state>'
        b'<state id_sms="2" time=""><![CDATA[read]]></state>'
        b'<state id_sms="3" time="">&#115;end</state></response>'
    )
    assert decode(body).reports == (
        StatusReport(1, None, Status.DELIVER),
        StatusReport(2, None, Status.READ),
        StatusReport(3, None, Status.SEND),
    )


# --- which field is named, and the id -------------------------------------------


@formats
def test_the_first_bad_field_is_named(format: Format) -> None:
    error = decode_one(format, fields(id_sms="x", time="y", state="z", sms="w"))
    assert_refused(error, "id_sms", None, "'x'")
    error = decode_one(format, fields(time="y", state="z", sms="w"))
    assert_refused(error, "time", 42, "'y'")
    error = decode_one(format, fields(state="z", sms="w", viber="v"))
    assert_refused(error, "state", 42, "'z'")
    error = decode_one(format, fields(sms="w", viber="v"))
    assert_refused(error, "sms", 42, "'w'")


@formats
def test_the_id_is_read_when_another_field_is_bad(format: Format) -> None:
    error = decode_one(format, fields(id_sms=" 0099 ", viber="seen"))
    assert_refused(error, "viber", 99, "'seen'")


@formats
def test_a_long_bad_value_is_cut_short(format: Format) -> None:
    value = "x" * 10_000
    for field in ("id_sms", "time", "state", "sms"):
        error = decode_one(format, fields(**{field: value}))
        assert isinstance(error, ReportError)
        assert field in error.reason
        assert len(error.reason) < 200
        assert len(error.raw) > 10_000  # the raw item itself is kept whole


# --- items of the wrong shape in JSON ---------------------------------------


@pytest.mark.parametrize(
    ("item", "kind"),
    [
        ("null", "null"),
        ("42", "number or boolean"),
        ("4.5", "number or boolean"),
        ("true", "number or boolean"),
        ('"4007"', "string"),
        ("[]", "array"),
        ('["4007", "", "send"]', "array"),
    ],
)
def test_a_json_item_that_is_not_an_object(item: str, kind: str) -> None:
    body = f'[{{"id_sms": 1, "state": "send"}}, {item}]'
    batch = decode(body)
    assert batch.reports == (NEIGHBOUR,)
    (error,) = batch.errors
    assert error.index == 1
    assert error.id_sms is None
    assert kind in error.reason
    assert json.loads(error.raw) == json.loads(item)
    assert_redecodes_as_refused(error)


def assert_redecodes_as_refused(error: ReportError) -> None:
    # A lone non-object is not a document at all; in an array it is the same error.
    again = decode(f"[{error.raw}]")
    assert again.errors == (ReportError(0, None, error.reason, error.raw),)


def test_json_raw_keeps_a_lone_surrogate_storable() -> None:
    body = b'[{"id_sms": "1", "state": "\\ud800"}]'
    (error,) = decode(body).errors
    assert error.raw.encode("utf-8")  # no UnicodeEncodeError: it is escaped
    assert decode(error.raw).errors == (error,)


def test_json_duplicate_keys_the_last_one_wins() -> None:
    body = b'[{"id_sms": "1", "state": "bogus", "state": "read", "time": ""}]'
    assert decode(body).reports == (StatusReport(1, None, Status.READ),)


# --- one document's times are read once, and nothing is shared between documents --


@formats
def test_a_repeated_time_reads_alike_for_good_and_bad_items(format: Format) -> None:
    good = fields(time=GOOD_TIME)
    bad_state = fields(time=GOOD_TIME, state="nope")
    bad_time = fields(time="2011-02-30 00:00:00")
    items = [good, bad_state, bad_time, bad_time, good, bad_state]
    batch = decode(document(format, *items))
    assert [e.index for e in batch.errors] == [1, 2, 3, 5]
    assert [e.reason.split(":")[0] for e in batch.errors] == [
        "state",
        "time",
        "time",
        "state",
    ]
    assert (
        batch.reports
        == (StatusReport(42, datetime(2011, 1, 1, 12, 57, 46), Status.DELIVER),) * 2
    )


@formats
def test_the_zone_of_one_call_does_not_leak_into_the_next(format: Format) -> None:
    body = document(format, fields())
    (aware,) = decode(body, tz=timezone.utc).reports
    (naive,) = decode(body).reports
    assert aware.time is not None
    assert aware.time.tzinfo is timezone.utc
    assert naive.time is not None
    assert naive.time.tzinfo is None


@formats
def test_the_zone_is_attached_to_an_unusual_item_too(format: Format) -> None:
    # An id with blanks around it is fine, but not the common case.
    body = document(format, fields(id_sms=" 42 "))
    (report,) = decode(body, tz=timezone.utc).reports
    assert report.id_sms == 42
    assert report.time == datetime(2011, 1, 1, 12, 57, 46, tzinfo=timezone.utc)
    assert report.time.tzinfo is timezone.utc
