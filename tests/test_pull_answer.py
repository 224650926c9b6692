"""The pull answer's JSON reading (`decode_state_answer`): the numbers, the limits
and the refusals it shares with `decode` (issue 23, points 1, 9 and 10a).

The rest of the pull request's answer (XML, the gateway's refusals, the details) is
tested in test_pull.py.
"""

from __future__ import annotations

import json
import tracemalloc
from decimal import Decimal

import pytest

from smsstatus import DecodeError, Limits, PayloadTooLarge
from smsstatus.pull import Detail, GatewayRefused, decode_state_answer

ITEM = b'{"id_sms": 1, "time": "", "state": "send"}'


@pytest.mark.parametrize("item", [b"0", b"1.5", b'""', b"null", b"true", b"{}"])
def test_every_item_counts_whatever_its_type(item: bytes) -> None:
    # Point 1 of issue 23: an array of scalars past 256 KiB was built whole, every
    # number a Decimal, before its items were counted.
    count = 300_000 // len(item)
    body = b"[" + b",".join([item] * count) + b"]"
    assert len(body) > 256 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLarge, match=f"{count} items, over the limit"):
            decode_state_answer(body, limits=Limits(max_reports=count - 1))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * len(body)  # refused before the items are built
    answer = decode_state_answer(body, limits=Limits(max_reports=count))
    assert len(answer.batch.errors) == count


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize(
    "body",
    [
        "[@]",
        '[{"id_sms": 1, "time": "", "state": "send", "price": @}]',
        '[{"id_sms": 1, "time": "", "state": "send", "note": {"x": [@]}}]',
        '[{"error": @}]',
        '[{"id_sms": 1, "x": ' + "9" * 5000 + ', "state": "send"}, @]',
    ],
    ids=["item", "price", "unknown key", "refusal", "long int"],
)
def test_nan_and_infinity_are_not_json(literal: str, body: str) -> None:
    # Point 9 of issue 23: json reads these literals; they are not JSON.
    with pytest.raises(DecodeError, match=f"{literal} is not JSON"):
        decode_state_answer(body.replace("@", literal))


def test_a_price_reads_exactly_while_items_are_read_one_at_a_time() -> None:
    body = (
        b"["
        + b", ".join(
            b'{"id_sms": %d, "time": "", "state": "send", "price": 0.%d0}' % (i, i)
            for i in range(1, 2000)
        )
        + b"]"
    )
    details = decode_state_answer(body).details
    assert details[7] == Detail(None, Decimal("0.70"))
    assert str(details[1999].price) == "0.19990"
    assert len(details) == 1999


def test_numbers_weigh_no_more_than_the_documented_bound() -> None:
    # Point 10a of issue 23: every number read as a Decimal and the whole document
    # held, 1.6 million numbers took 84 MiB beyond a 6 MiB body.  Read one item at a
    # time they weigh one item; what is held beyond the body is the batch.
    members = b", ".join(b'"n%d": 1.5' % i for i in range(12))
    item = b'{"id_sms": 1, "time": "", "state": "send", ' + members + b"}"
    body = b"[" + b",".join([item] * 20_000) + b"]"
    tracemalloc.start()
    try:
        answer = decode_state_answer(body)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(answer.batch.reports) == 20_000
    # 240 000 Decimals would weigh 25 MiB: 9 times this 2.7 MiB body.
    assert peak - kept < 4 * len(body)


def test_a_refusal_is_read_as_before() -> None:
    # The items are read twice when the first is the gateway's refusal.
    with pytest.raises(GatewayRefused, match="bad login"):
        decode_state_answer(b'[{"error": "bad login"}, {"error": "again"}]')
    answer = decode_state_answer(b'[{"error": "bad login"}, ' + ITEM + b"]")
    assert len(answer.batch.reports) == 1
    assert json.loads(answer.batch.errors[0].raw) == {"error": "bad login"}
