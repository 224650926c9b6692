"""The hypothesis strategies, and our own `receive()` property-tested with them."""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import find, given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import smsstatus
from smsstatus import (
    DecodeError,
    Format,
    Status,
    StatusReport,
    UnsafePayload,
    encode_json,
    encode_xml,
)
from smsstatus.strategies import (
    _XML_ATTACKS,
    hostile_payloads,
    json_payloads,
    status_reports,
    statuses,
    xml_payloads,
)

MOSCOW = timezone(timedelta(hours=3), "MSK")


def check_report(report: StatusReport) -> None:
    assert report.id_sms >= 0
    if report.time is not None:
        assert report.time.microsecond == 0
        assert datetime(2000, 1, 1) <= report.time.replace(tzinfo=None)
        assert report.time.year <= 2099


@given(status_reports())
def test_status_reports_are_valid(report: StatusReport) -> None:
    check_report(report)
    assert report.time is None or report.time.tzinfo is None


@given(st.lists(status_reports(tz=MOSCOW)), st.sampled_from([encode_xml, encode_json]))
def test_status_reports_survive_a_round_trip(
    reports: list[StatusReport], encode: Callable[[list[StatusReport]], bytes]
) -> None:
    batch = smsstatus.decode(encode(reports), tz=MOSCOW)
    assert batch.reports == tuple(reports)
    assert all(r.time is None or r.time.tzinfo is MOSCOW for r in reports)


def test_strategies_shrink_to_small_readable_examples() -> None:
    assert find(statuses(), lambda s: True) is Status.SEND
    assert find(status_reports(), lambda r: True) == StatusReport(0, None, Status.SEND)
    timed = find(status_reports(), lambda r: r.time is not None)
    assert timed.time == datetime(2000, 1, 1)
    assert find(xml_payloads(), lambda p: True) == encode_xml([])
    assert find(json_payloads(), lambda p: True) == encode_json([])
    one = find(xml_payloads(), lambda p: b"<state" in p)
    assert one == encode_xml([StatusReport(0, None, Status.SEND)])
    assert find(hostile_payloads(), lambda p: True) == b""


def test_statuses_draw_every_status() -> None:
    for status in Status:
        assert find(statuses(), lambda s, status=status: s is status) is status


@given(xml_payloads())
def test_xml_payloads_are_valid_documents(payload: bytes) -> None:
    batch = smsstatus.decode(payload)
    assert batch.format is Format.XML
    assert batch.errors == ()
    for report in batch.reports:
        check_report(report)


@given(json_payloads())
def test_json_payloads_are_valid_documents(payload: bytes) -> None:
    batch = smsstatus.decode(payload)
    assert batch.format is Format.JSON
    assert batch.errors == ()


@given(
    st.data(),
    st.sampled_from([(xml_payloads, Format.XML), (json_payloads, Format.JSON)]),
)
def test_payloads_decode_to_the_reports_given(data: st.DataObject, kind: tuple) -> None:
    payloads, format = kind
    reports = data.draw(st.lists(status_reports(), min_size=1, max_size=5))
    payload = data.draw(payloads(st.just(reports)))
    batch = smsstatus.decode(payload)
    assert batch.format is format
    assert batch.reports == tuple(reports)


def test_payload_variants_are_drawn() -> None:
    report = StatusReport(1, None, Status.SEND)
    just = st.just([report])
    assert find(xml_payloads(just), lambda p: not p.startswith(b"<?xml"))
    assert find(xml_payloads(just), lambda p: b"\n" not in p)
    assert find(json_payloads(just), lambda p: b'"id_sms": 1' in p)
    assert find(json_payloads(just), lambda p: b'"id_sms":"1"' in p)


@pytest.mark.parametrize("payloads", [xml_payloads, json_payloads])
def test_reports_must_be_a_strategy(payloads: Callable[..., object]) -> None:
    with pytest.raises(InvalidArgument, match="strategy of lists of StatusReport"):
        payloads([StatusReport(1, None, Status.SEND)])


# --- our receive(), property-tested with the strategies ----------------------------


@given(xml_payloads() | json_payloads())
def test_receive_acknowledges_every_valid_payload(payload: bytes) -> None:
    handled: list[StatusReport] = []
    ack = smsstatus.receive(payload, handled.append)
    batch = smsstatus.decode(payload)
    assert ack.status == 200
    assert ack.format is batch.format
    assert handled == list(batch.reports)
    assert set(ack.ids) == {r.id_sms for r in batch.reports}
    assert smsstatus.decode_ack(ack.body, ack.format) == ack.ids


@given(hostile_payloads())
def test_receive_refuses_or_isolates_every_hostile_payload(payload: bytes) -> None:
    handled: list[StatusReport] = []
    ack = smsstatus.receive(payload, handled.append)
    assert smsstatus.decode_ack(ack.body, ack.format) == ack.ids
    if ack.status == 400:
        assert ack.ids == ()
        assert handled == []
        with pytest.raises(DecodeError):
            smsstatus.decode(payload)
    else:
        assert ack.status == 200
        # Only what was handled is acknowledged; bad items (no on_error) are not.
        batch = smsstatus.decode(payload)
        assert handled == list(batch.reports)
        bad = {e.id_sms for e in batch.errors}
        assert set(ack.ids) == {r.id_sms for r in batch.reports} - bad


@pytest.mark.parametrize("name", sorted(_XML_ATTACKS))
def test_each_xml_attack_is_refused_or_harmless(name: str) -> None:
    payload = _XML_ATTACKS[name]
    if name == "XInclude":  # expat does not process XInclude: the item is empty
        (error,) = smsstatus.decode(payload).errors
        assert error.reason == "state: missing"
    elif name == "deep nesting":
        with pytest.raises(DecodeError, match="nested deeper than 64"):
            smsstatus.decode(payload)
    else:
        with pytest.raises(UnsafePayload):
            smsstatus.decode(payload)


def test_the_attacks_include_those_the_issue_names() -> None:
    assert set(_XML_ATTACKS) >= {
        "billion laughs",
        "quadratic blowup",
        "external entity",
        "external DTD",
        "parameter entity",
    }


# --- from_type and the optional dependency ---------------------------------------


@given(st.from_type(StatusReport))
def test_from_type_draws_valid_reports(report: StatusReport) -> None:
    check_report(report)


def test_the_strategy_is_registered_through_the_entry_point() -> None:
    (entry,) = [
        e
        for e in importlib.metadata.entry_points(group="hypothesis")
        if e.value.startswith("smsstatus.")
    ]
    hook = entry.load()
    hook()  # registering again is harmless
    assert find(st.from_type(StatusReport), lambda r: True) == StatusReport(
        0, None, Status.SEND
    )


def test_importing_without_hypothesis_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    monkeypatch.delitem(sys.modules, "smsstatus.strategies")
    with pytest.raises(ImportError, match=r"pip install 'smsstatus\[hypothesis\]'"):
        importlib.import_module("smsstatus.strategies")
