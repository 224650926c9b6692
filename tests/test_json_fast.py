"""The msgspec accelerator (`smsstatus._json_fast`) against the pure JSON reader.

The accelerator may only ever agree with the pure reader, so every test here decodes
one body both ways and asserts the same `Batch` (compared by value and by `repr`,
which also shows each time's zone) or the same `DecodeError`, message included.

The suite runs twice in CI: with msgspec (the ``test`` extra brings it), where the
accelerator must really take the ordinary documents; and in nox's
``tests-X-without-fast`` session, which sets ``SMSSTATUS_WITHOUT_FAST=1`` after
uninstalling msgspec, where it must take none and every body goes the pure way.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable
from datetime import timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsstatus import (
    Batch,
    DecodeError,
    Limits,
    Status,
    StatusReport,
    _json_fast,
    decode,
    decode_json,
    strategies,
)

WITHOUT_FAST = os.environ.get("SMSSTATUS_WITHOUT_FAST") == "1"
# Whether the accelerator takes a document it would take with msgspec installed.
FAST = not WITHOUT_FAST
DATA = Path(__file__).parent / "data"
ORDINARY = (DATA / "gateway-example.json").read_bytes()

Outcome = tuple[str, ...]


def outcome(attempt: Callable[[], Batch]) -> Outcome:
    """What a decode gives, in a form two decodes can be compared by."""
    try:
        batch = attempt()
    except DecodeError as exc:
        return ("raised", type(exc).__name__, str(exc))
    return ("batch", repr(batch), str(len(batch.reports)))


def both_ways(
    body: bytes, *, tz: tzinfo | None = None, limits: Limits | None = None
) -> tuple[Outcome, Outcome, bool]:
    """The outcome with the accelerator, without it, and whether it took the body."""
    limits = limits or Limits()
    taken = _json_fast.read(body, tz, limits) is not None
    fast = outcome(lambda: decode(body, tz=tz, limits=limits))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_json_fast, "read", lambda *args: None)
        pure = outcome(lambda: decode(body, tz=tz, limits=limits))
        pure_batch = None if pure[0] == "raised" else decode(body, tz=tz, limits=limits)
    if taken:
        # Equal by value as well as by repr.
        assert decode(body, tz=tz, limits=limits) == pure_batch
    return fast, pure, taken


# --- with and without msgspec -------------------------------------------------------


def test_this_run_has_msgspec_unless_it_is_the_run_without() -> None:
    # Without this, a missing msgspec would quietly test the pure reader twice.
    assert (importlib.util.find_spec("msgspec") is None) == WITHOUT_FAST


def test_the_accelerator_takes_ordinary_documents_exactly_when_msgspec_is_there() -> (
    None
):
    batch = _json_fast.read(ORDINARY, None, Limits())
    if WITHOUT_FAST:
        assert batch is None
    else:
        assert batch is not None
        assert batch == decode_json(ORDINARY)
        assert len(batch.reports) == len(json.loads(ORDINARY))


def test_without_msgspec_the_accelerator_declines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A None entry in sys.modules makes `import msgspec` raise ImportError.
    monkeypatch.setitem(sys.modules, "msgspec", None)
    assert _json_fast.decoder.__wrapped__() is None  # type: ignore[attr-defined]
    assert _json_fast.id_list_writer.__wrapped__() is None  # type: ignore[attr-defined]


def test_msgspec_writes_ids_of_any_length() -> None:
    write = _json_fast.id_list_writer()
    if WITHOUT_FAST:
        assert write is None
    else:
        assert write is not None
        assert write((0, 2**64)) == b"[0,18446744073709551616]"


# --- the differential tests ----------------------------------------------------------


@given(strategies.json_payloads())
def test_valid_documents_take_the_accelerator_and_agree(body: bytes) -> None:
    fast, pure, taken = both_ways(body)
    assert taken is FAST
    assert fast == pure


@given(strategies.hostile_payloads())
def test_hostile_documents_agree(body: bytes) -> None:
    fast, pure, _ = both_ways(body)
    assert fast == pure


@pytest.mark.parametrize(
    "path", sorted(DATA.rglob("*.*")), ids=lambda p: str(p.relative_to(DATA))
)
def test_the_sample_and_hostile_files_agree(path: Path) -> None:
    fast, pure, _ = both_ways(path.read_bytes())
    assert fast == pure


# Documents in the ordinary form with at most a few deviations, each one step away
# from it: the accelerator must take the ordinary ones and hand back the others, or
# take them with the pure reader's result.
_STATUS_NAMES = ["send", "deliver", "read", "expired", "not_deliver", "partly_deliver"]
_ORDINARY = {
    "id_sms": st.integers(0, 2**63 - 1) | st.integers(0, 2**63 - 1).map(str),
    "time": st.just("") | st.datetimes().map(lambda t: t.isoformat(" ", "seconds")),
    "state": st.sampled_from(_STATUS_NAMES),
    "sms": st.sampled_from([*_STATUS_NAMES, "", None]),
    "viber": st.sampled_from([*_STATUS_NAMES, "", None]),
}
_ODD: dict[str, list[Any]] = {
    "id_sms": [
        -1,
        2**63,
        2**64,
        10**30,
        " 7",
        "7 ",
        "\t7\n",
        "+7",
        "-7",
        "0x1f",
        "1e3",
        "\u0661\u0662",
        "\uff11",
        "",
        "007",
        7.0,
        True,
        None,
        [7],
        {"id": 7},
        "9" * 5000,
    ],
    "time": [
        "2023-02-29 00:00:00",
        "2024-03-01T08:00:00",
        "2024-03-01 08:00:00Z",
        "2024-03-01 08:00:00.5",
        "2024-03-01 8:00:00",
        " 2024-03-01 08:00:00",
        "2024-13-01 00:00:00",
        "2024-03-01 24:00:00",
        "\u0662024-03-01 08:00:00",
        "0000-01-01 00:00:00",
        None,
        0,
        [],
        "\ud800",
    ],
    "state": ["", "Send", "send ", "delivered", None, 1, ["send"], "\ud800"],
}
_ODD["sms"] = _ODD["viber"] = _ODD["state"][1:]


@st.composite
def near_ordinary_documents(draw: st.DrawFn) -> bytes:
    items: list[Any] = []
    for _ in range(draw(st.integers(0, 5))):
        item = {key: draw(_ORDINARY[key]) for key in ("id_sms", "time", "state")}
        for leg in ("sms", "viber"):
            if draw(st.booleans()):
                item[leg] = draw(_ORDINARY[leg])
        items.append(item)
    for _ in range(draw(st.integers(0, 2)) if items else 0):
        at = draw(st.integers(0, len(items) - 1))
        how = draw(st.sampled_from(["value", "value", "value", "drop", "add", "item"]))
        key = draw(st.sampled_from(sorted(_ODD)))
        if how == "item":
            items[at] = draw(st.sampled_from([None, 1, "x", [], [items[at]]]))
        elif not isinstance(items[at], dict):
            continue
        elif how == "value":
            items[at][key] = draw(st.sampled_from(_ODD[key]))
        elif how == "drop":
            items[at].pop(key, None)
        else:
            name = draw(st.sampled_from(["extra", "ID_SMS", "id_sms ", "", "\u00e9"]))
            items[at][name] = draw(st.none() | st.integers() | st.text(max_size=3))
    document: Any = items[0] if len(items) == 1 and draw(st.booleans()) else items
    text = json.dumps(
        document,
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.sampled_from([None, 1, "\t"])),
        separators=draw(st.sampled_from([None, (",", ":"), (" , ", " : ")])),
    )
    if draw(st.integers(0, 4)) == 0:
        # Keys written twice: the last one counts, for both readers.
        text = text.replace('"id_sms":', '"id_sms": "1", "id_sms":', 1)
    if draw(st.integers(0, 4)) == 0:
        # Escapes in keys and values ("d" is in no JSON literal, only in strings).
        text = text.replace("d", "\\u0064")
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 7)) == 0:
        data = draw(st.sampled_from([b" \r\n\t", b"\xef\xbb\xbf"])) + data
    if draw(st.integers(0, 7)) == 0:
        data += draw(st.sampled_from([b"\n", b" x", b"\x00", b"]"]))
    return data


_ZONES = st.sampled_from(
    [None, timezone.utc, timezone(timedelta(hours=-3, minutes=-30)), ZoneInfo("UTC")]
)


@given(near_ordinary_documents(), _ZONES, st.integers(1, 7))
def test_near_ordinary_documents_agree(
    body: bytes, tz: tzinfo | None, max_reports: int
) -> None:
    fast, pure, _ = both_ways(body, tz=tz, limits=Limits(max_reports=max_reports))
    assert fast == pure


# --- what the accelerator hands back, one case each ---------------------------------


def item(id_sms: str, more: str = "", time: str = "2024-03-01 08:00:00") -> str:
    return f'{{"id_sms": {id_sms}, "time": "{time}", "state": "deliver"{more}}}'


def array(*items: str) -> str:
    return "[" + ", ".join(items) + "]"


@pytest.mark.parametrize(
    ("body", "taken"),
    [
        (array(item('"7"')), True),
        (array(item("7", ', "sms": "", "viber": null')), True),
        (item("7"), True),  # a lone object
        ("[]", True),
        (array(item('" 7"')), False),  # blanks: the pure reader's rules
        (array(item('"\\u0661\\u0662"')), False),  # digits, but not ASCII ones
        (array(item('"\\uff17"')), False),
        (array(item(str(2**63))), False),  # past 63 bits
        (array(item('"' + "9" * 5000 + '"')), False),
        (array(item("7", ', "extra": "\\ud800"')), False),
        # msgspec would skip an unknown key's value unread, invalid UTF-8 and all.
        (array(item("7", ', "extra": "?"')).encode().replace(b"?", b"\xff"), False),
        (array(item("7", ', "sms": "bogus"')), False),
        (array(item("7", time="2024-02-30 08:00:00")), False),
        (array(item("7", time="2024-03-01T08:00:00")), False),  # not the wire's form
        ("\ufeff" + array(item("7")), False),
        (array(item("7"), "1"), False),
        (array(item("7")) + " x", False),
        ("[" * 100_000 + "]" * 100_000, False),
    ],
)
def test_what_the_accelerator_takes(body: str | bytes, taken: bool) -> None:
    data = body.encode("utf-8") if isinstance(body, str) else body
    fast, pure, was_taken = both_ways(data)
    assert was_taken is (taken and FAST)
    assert fast == pure


def test_a_wrong_tz_raises_the_same_type_error() -> None:
    for read in (_json_fast.read, lambda *args: None):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_json_fast, "read", read)
            with pytest.raises(TypeError, match=r"tz must be a datetime\.tzinfo"):
                decode(ORDINARY, tz="UTC")  # type: ignore[arg-type]


def test_too_many_items_are_refused_by_the_pure_reader() -> None:
    fast, pure, taken = both_ways(ORDINARY, limits=Limits(max_reports=1))
    assert not taken
    assert fast == pure
    assert fast[:2] == ("raised", "PayloadTooLarge")


# --- keys written twice and arrays of scalars (issue 23, points 1 and 3) -------------


@pytest.mark.parametrize(
    ("item", "max_reports"),
    [
        # msgspec kept the last of 300 ids; the pure reader counts them all.
        ('{"id_sms": 1, ' + '"id_sms": 2, ' * 300 + '"time": "", "state": "send"}', 10),
        ('{"id_sms": 1, "time": "", ' + '"state": "send", ' * 277 + '"sms": ""}', 1),
        (
            '{"id_sms": 1, "time": "", "state": "send"'
            + ', "viber": "read"' * 260
            + "}",
            5,
        ),
    ],
    ids=["300 ids", "277 states", "260 legs"],
)
def test_keys_written_twice_past_the_bounds_are_refused_both_ways(
    item: str, max_reports: int
) -> None:
    body = f"[{item}]".encode()
    fast, pure, taken = both_ways(body, limits=Limits(max_reports=max_reports))
    assert not taken
    assert fast == pure
    assert fast[:2] == ("raised", "PayloadTooLarge")


def test_keys_written_twice_within_the_bounds_read_the_last_value_both_ways() -> None:
    item = '{"id_sms": 1, "id_sms": 2, "time": "", "state": "send", "sms": "", '
    item += '"sms": "read"}'
    fast, pure, taken = both_ways(f"[{item}, {item}]".encode())
    assert taken is FAST  # both keep the last value
    assert fast == pure
    assert decode(f"[{item}]".encode()).reports == (
        StatusReport(2, None, Status.SEND, sms=Status.READ),
    )


_SCALARS = ["0", "1.5", "-2e3", '""', '"x"', "null", "true", "false", "[]", "{}"]


def _item_text(draw: st.DrawFn) -> str:
    """One item, as text: an ordinary object, maybe with a key written many times
    (around the bound of 256 values an item), or a value of another type."""
    if draw(st.booleans()):
        return draw(st.sampled_from(_SCALARS))
    members = ['"id_sms": 7', '"time": ""', '"state": "send"']
    if draw(st.booleans()):
        members.append(draw(st.sampled_from(['"sms": "read"', '"viber": null'])))
    repeats = draw(st.sampled_from([0, 1, 2, 250, 252, 253, 254, 300]))
    member = draw(st.sampled_from([*members, '"note": 1']))
    members += [member] * repeats
    draw(st.randoms()).shuffle(members)
    return "{" + ", ".join(members) + "}"


@st.composite
def arrays_of_anything(draw: st.DrawFn) -> tuple[bytes, int]:
    """A document (mostly an array) and a `max_reports` around its item count: items
    of every type, keys written twice, and sometimes a long run of one scalar that
    makes the body larger than the sizes at which the pure reader changes roads
    (then one item too many: reading so many items both ways would be slow)."""
    max_reports = draw(st.integers(1, 6))
    items = [_item_text(draw) for _ in range(draw(st.integers(0, max_reports + 2)))]
    run = draw(st.sampled_from([0, 0, 0, max_reports, 140_000]))
    scalar = draw(st.sampled_from(_SCALARS))
    at = draw(st.integers(0, len(items)))
    items[at:at] = [scalar] * run
    if run > max_reports:
        max_reports = len(items) - 1
    if len(items) == 1 and draw(st.booleans()):
        text = items[0]
    else:
        text = "[" + draw(st.sampled_from([",", ", ", ",\n"])).join(items) + "]"
    return text.encode(), max(1, max_reports)


@given(arrays_of_anything())
def test_arrays_of_anything_agree_and_count_every_item(
    document: tuple[bytes, int],
) -> None:
    body, max_reports = document
    fast, pure, _ = both_ways(body, limits=Limits(max_reports=max_reports))
    assert fast == pure
    value = json.loads(body)
    items = len(value) if isinstance(value, list) else 1
    if items > max_reports:
        assert pure[:2] == ("raised", "PayloadTooLarge")
    elif pure[0] == "batch":
        batch = decode(body, limits=Limits(max_reports=max_reports))
        assert len(batch.reports) + len(batch.errors) == items
