"""The JSON decoder and encoder: document shape, limits, encodings, and `raw`."""

from __future__ import annotations

import codecs
import json
import sys
from datetime import datetime, timezone

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
    decode,
    decode_json,
    encode_json,
)

SEND_1 = StatusReport(1, None, Status.SEND)
ITEM_1 = '{"id_sms": "1", "time": "", "state": "send"}'


def test_an_empty_array_is_an_empty_batch() -> None:
    for body in ("[]", " [ ] ", "\n[\n]\n"):
        assert decode_json(body) == Batch(Format.JSON, (), ())


def test_a_lone_object_is_a_batch_of_one() -> None:
    assert decode_json(ITEM_1) == Batch(Format.JSON, (SEND_1,), ())
    assert decode(ITEM_1) == Batch(Format.JSON, (SEND_1,), ())
    (error,) = decode_json('{"id_sms": "x", "state": "send"}').errors
    assert error.index == 0
    assert error.raw == '{"id_sms": "x", "state": "send"}'


def test_an_empty_object_is_a_batch_of_one_error() -> None:
    (error,) = decode_json("{}").errors
    assert error == ReportError(0, None, error.reason, "{}")
    assert "id_sms" in error.reason


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("null", "NoneType"),
        ("42", "int"),
        ("1.5", "float"),
        ('"[]"', "str"),
        ("true", "bool"),
    ],
)
def test_a_document_that_is_neither_array_nor_object_is_refused(
    body: str, kind: str
) -> None:
    with pytest.raises(
        DecodeError, match=f"JSON document is {kind}, expected an array"
    ):
        decode_json(body)


@pytest.mark.parametrize(
    "body",
    [
        "[",
        "[{]",
        '[{"id_sms": "1"},]',
        "[1 2]",
        "[] []",
        "[]x",
        "{'id_sms': '1'}",
        '[{"id_sms": "1\x00"}]',
        "[01]",
        "[.5]",
        '["\\x41"]',
        '["\\ud800\\u"]',
        "/* comment */ []",
    ],
)
def test_malformed_json_is_refused_with_a_position(body: str) -> None:
    with pytest.raises(DecodeError, match=r"malformed JSON at line \d+, column \d+"):
        decode_json(body)


def test_malformed_json_reports_the_line() -> None:
    with pytest.raises(DecodeError, match="malformed JSON at line 3, column 11"):
        decode_json('[\n{"id_sms": "1"},\n{"id_sms" 2}]')


@pytest.mark.parametrize(
    "bad", [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80"]
)
def test_invalid_utf8_is_refused(bad: bytes) -> None:
    head = b'[{"id_sms": "1", "time": "", "state": "'
    body = head + bad + b'"}]'
    with pytest.raises(DecodeError, match=f"not valid UTF-8 at byte {len(head)}$"):
        decode_json(body)


def test_utf16_json_is_refused() -> None:
    for codec in ("utf-16", "utf-16-le", "utf-32"):
        with pytest.raises(DecodeError):
            decode_json(f"[{ITEM_1}]".encode(codec))


def test_a_utf8_bom_is_accepted() -> None:
    body = codecs.BOM_UTF8 + f"[{ITEM_1}]".encode()
    assert decode_json(body).reports == (SEND_1,)
    assert decode(body).reports == (SEND_1,)


def test_a_bom_after_blanks_is_not_a_bom() -> None:
    with pytest.raises(DecodeError):
        decode_json(b" " + codecs.BOM_UTF8 + b"[]")


def test_non_ascii_strings_are_read() -> None:
    (error,) = decode_json('[{"id_sms": "1", "state": "доставлено"}]'.encode()).errors
    assert "'доставлено'" in error.reason
    assert json.loads(error.raw) == {"id_sms": "1", "state": "доставлено"}


@pytest.mark.parametrize("opener", ["[", '{"a":', '[{"a":'])
def test_deep_nesting_is_refused(opener: str) -> None:
    closer = {"[": "]", '{"a":': "}", '[{"a":': "}]"}[opener]
    with pytest.raises(DecodeError, match=r"nested too deep|malformed"):
        decode_json(opener * 100_000)
    with pytest.raises(DecodeError, match="nested too deep"):
        decode_json(opener * 100_000 + "1" + closer * 100_000)


def test_moderate_nesting_inside_an_item_is_fine() -> None:
    deep = "[" * 50 + "]" * 50
    body = f'[{{"id_sms": "1", "time": "", "state": "send", "extra": {deep}}}]'
    assert decode_json(body).reports == (SEND_1,)


def test_raw_of_an_item_nested_as_deep_as_the_parser_allows() -> None:
    # Wherever the scanner's limit lies, an item it could read must have a raw that
    # reads again: writing it back must not hit a limit reading did not.
    limit = sys.getrecursionlimit()
    checked = 0
    for depth in range(limit - 100, limit + 10):
        body = '[{"id_sms": "x", "a": ' + "[" * depth + "]" * depth + "}]"
        try:
            (error,) = decode_json(body).errors
        except DecodeError:
            continue
        checked += 1
        assert decode_json(error.raw).errors == (error,), f"depth {depth}"
    assert checked


def test_a_number_too_long_to_convert_is_refused() -> None:
    with pytest.raises(DecodeError, match="malformed JSON"):
        decode_json("[" + "1" * 5000 + "]")


def test_nan_and_infinity_are_bad_values_not_crashes() -> None:
    body = (
        '[{"id_sms": NaN, "state": "send"},'
        ' {"id_sms": 1, "time": Infinity, "state": "send"}]'
    )
    first, second = decode_json(body).errors
    assert "id_sms" in first.reason
    assert "time" in second.reason
    assert second.id_sms == 1


def test_max_reports_counts_every_item() -> None:
    body = "[" + ", ".join([ITEM_1, "null", "{}"]) + "]"
    batch = decode_json(body, limits=Limits(max_reports=3))
    assert len(batch.reports) + len(batch.errors) == 3
    with pytest.raises(PayloadTooLarge, match="3 items, over the limit of 2"):
        decode_json(body, limits=Limits(max_reports=2))


def test_max_bytes() -> None:
    body = f"[{ITEM_1}]".encode()
    assert decode_json(body, limits=Limits(max_bytes=len(body))).reports == (SEND_1,)
    with pytest.raises(PayloadTooLarge):
        decode_json(body, limits=Limits(max_bytes=len(body) - 1))


def test_raw_is_the_item_as_json() -> None:
    body = (
        '[{"id_sms": "1", "time": "", "state": "send"},'
        ' {"time": "2011-01-01 12:57:46", "id_sms": 7, "state": "read",'
        ' "x": [1, {"y": null}]}]'
    )
    assert len(decode_json(body).reports) == 2
    body = body.replace('"read"', '"READ"')
    (error,) = decode_json(body).errors
    assert error.index == 1
    assert error.id_sms == 7
    assert json.loads(error.raw) == json.loads(body)[1]
    assert decode_json(error.raw).errors == (
        ReportError(0, 7, error.reason, error.raw),
    )


def test_encode_writes_id_as_a_string_and_legs_only_when_set() -> None:
    reports = [
        StatusReport(1, None, Status.SEND),
        StatusReport(
            2, datetime(2011, 1, 1, 12, 57, 46), Status.READ, viber=Status.READ
        ),
        StatusReport(3, None, Status.SEND, sms=Status.SEND),
    ]
    assert json.loads(encode_json(reports)) == [
        {"id_sms": "1", "time": "", "state": "send"},
        {
            "id_sms": "2",
            "time": "2011-01-01 12:57:46",
            "state": "read",
            "viber": "read",
        },
        {"id_sms": "3", "time": "", "state": "send", "sms": "send"},
    ]


def test_encode_writes_the_wall_clock_and_drops_microseconds() -> None:
    when = datetime(2011, 1, 1, 23, 57, 46, 500_000, tzinfo=timezone.utc)
    (item,) = json.loads(encode_json([StatusReport(1, when, Status.READ)]))
    assert item["time"] == "2011-01-01 23:57:46"


def test_encode_an_empty_batch() -> None:
    assert encode_json([]) == b"[]"
    assert decode_json(encode_json([])) == Batch(Format.JSON, (), ())
