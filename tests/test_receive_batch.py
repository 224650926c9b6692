"""`receive_batch` and `areceive_batch`: one store call per document."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_receive import MIXED as MIXED_DOCUMENTS

from smsstatus import (
    Ack,
    Format,
    ReportError,
    Status,
    StatusReport,
    areceive_batch,
    decode_ack,
    encode_json,
    encode_xml,
    receive_batch,
)
from smsstatus.sql import StatusTable
from smsstatus.strategies import status_reports
from smsstatus.testing import Gateway, sample_reports

T = datetime(2026, 11, 26, 9, 14, 2)
formats = pytest.mark.parametrize("format", list(Format), ids=lambda f: f.value)
ENCODE = {Format.XML: encode_xml, Format.JSON: encode_json}


def r(id_sms: int, state: Status, time: datetime | None = T) -> StatusReport:
    return StatusReport(id_sms, time, state)


# Two ids, each several times, in disorder; 3 once.
DISORDERED = [
    r(2, Status.SEND, None),
    r(1, Status.DELIVER),
    r(2, Status.DELIVER),
    r(1, Status.READ),
    r(3, Status.PARTLY_DELIVER),
    r(1, Status.EXPIRED),  # as far along as READ, later: READ stays
    r(2, Status.SEND),
]
COLLAPSED = (r(2, Status.DELIVER), r(1, Status.READ), r(3, Status.PARTLY_DELIVER))

# 10 good, 11 bad (time), 12 good, bad without an id, 11 again (good), 13 bad (state).
MIXED = MIXED_DOCUMENTS[Format.XML]


class Store:
    """Records its calls; returns `answer` (a function of the reports)."""

    def __init__(self, answer: Any = lambda reports: None) -> None:
        self.calls: list[tuple[StatusReport, ...]] = []
        self.answer = answer

    def __call__(self, reports: tuple[StatusReport, ...]) -> Any:
        self.calls.append(reports)
        return self.answer(reports)


def acked(ack: Ack) -> tuple[int, ...]:
    assert ack.status == 200
    assert ack.ids == decode_ack(ack.body, ack.format)
    return ack.ids


# --- the store's argument ----------------------------------------------------------


@formats
def test_store_gets_one_report_per_id_in_first_appearance_order(format) -> None:
    store = Store()
    ack = receive_batch(ENCODE[format](DISORDERED), store)
    assert store.calls == [COLLAPSED]
    assert acked(ack) == (2, 1, 3)
    assert ack.format is format


def test_store_is_not_called_without_reports() -> None:
    store = Store()
    only_bad = b'<response><state id_sms="5" time="">gone</state></response>'
    assert acked(receive_batch(only_bad, store, on_error=lambda e: True)) == (5,)
    assert acked(receive_batch(b"<response/>", store)) == ()
    assert store.calls == []


@pytest.mark.parametrize("body", [b"", b"<response>", b"[1, 2", b"<!DOCTYPE x><x/>"])
def test_a_bad_document_is_refused_without_calling_the_store(body, caplog) -> None:
    store = Store()
    ack = receive_batch(body, store)
    assert (ack.status, ack.ids) == (400, ())
    assert store.calls == []
    assert "refused a status document" in caplog.text


# --- what the store returns --------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "acknowledged"),
    [
        (None, (2, 1, 3)),
        ([1, 3], (1, 3)),
        ((3, 99, 3), (3,)),  # 99 was not offered: ignored
        (iter([2]), (2,)),
        (frozenset(), ()),
        ({1: "x", 2: "y"}, (2, 1)),
    ],
    ids=repr,
)
def test_the_ids_the_store_returns_are_acknowledged(answer, acknowledged) -> None:
    ack = receive_batch(encode_xml(DISORDERED), Store(lambda reports: answer))
    assert acked(ack) == acknowledged


@pytest.mark.parametrize(
    "answer",
    [5, "123", b"1", bytearray(b"\x01"), [1, "2"], [True], [1.0], object()],
    ids=repr,
)
def test_a_bad_return_value_takes_nothing(answer, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="smsstatus"):
        ack = receive_batch(encode_xml(DISORDERED), Store(lambda reports: answer))
    assert acked(ack) == ()
    (record,) = [rec for rec in caplog.records if rec.name == "smsstatus"]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], TypeError)
    assert "none is acknowledged" in record.getMessage()


def test_a_store_that_raises_takes_nothing(caplog) -> None:
    def store(reports: tuple[StatusReport, ...]) -> None:
        raise OSError("disk full")

    with caplog.at_level(logging.ERROR, logger="smsstatus"):
        assert acked(receive_batch(encode_json(DISORDERED), store)) == ()
    (record,) = caplog.records
    assert record.exc_info is not None
    assert "disk full" in str(record.exc_info[1])


def test_a_store_whose_iteration_raises_takes_nothing(caplog) -> None:
    def ids(reports: tuple[StatusReport, ...]) -> Iterable[int]:
        yield 1
        raise OSError("lost the connection")

    assert acked(receive_batch(encode_xml(DISORDERED), ids)) == ()
    assert "lost the connection" in caplog.text


# --- per-item errors ---------------------------------------------------------------


def test_an_id_is_acknowledged_only_when_every_item_with_it_was_taken() -> None:
    errors: list[ReportError] = []

    def on_error(error: ReportError) -> bool:
        errors.append(error)
        return error.id_sms == 11

    store = Store()
    assert acked(receive_batch(MIXED, store, on_error=on_error)) == (10, 11, 12)
    assert [e.index for e in errors] == [1, 3, 5]
    assert [rep.id_sms for rep in store.calls[0]] == [10, 12, 11]
    # The store did not take 11: its bad item alone does not acknowledge it.
    store = Store(lambda reports: [10, 12])
    assert acked(receive_batch(MIXED, store, on_error=on_error)) == (10, 12)


def test_without_on_error_bad_items_are_logged_and_not_acknowledged(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="smsstatus"):
        assert acked(receive_batch(MIXED, Store())) == (10, 12)
    assert caplog.text.count("is not a valid status") == 3


@pytest.mark.parametrize("result", ["stored", 1, [1], None, False], ids=repr)
def test_on_error_acknowledges_only_on_exactly_true(result) -> None:
    assert acked(receive_batch(MIXED, Store(), on_error=lambda e: result)) == (10, 12)


def test_on_error_raising_is_logged_and_not_acknowledged(caplog) -> None:
    def on_error(error: ReportError) -> bool:
        raise OSError("no room")

    assert acked(receive_batch(MIXED, Store(), on_error=on_error)) == (10, 12)
    assert "on_error failed for the item at index 1" in caplog.text


# --- async callbacks ---------------------------------------------------------------


class AsyncStore(Store):
    async def __call__(self, reports: tuple[StatusReport, ...]) -> Any:  # type: ignore[override]
        await asyncio.sleep(0)
        return super().__call__(reports)


def test_receive_batch_refuses_async_callbacks() -> None:
    async def on_error(error: ReportError) -> bool:
        return True

    async def store(reports: tuple[StatusReport, ...]) -> None:
        pass

    for call in (
        lambda: receive_batch(MIXED, store),
        lambda: receive_batch(MIXED, AsyncStore()),
        lambda: receive_batch(MIXED, Store(), on_error=on_error),
    ):
        with pytest.raises(TypeError, match="areceive_batch"):
            call()


def test_receive_batch_takes_nothing_from_a_store_returning_an_awaitable(caplog):
    store = AsyncStore()
    ack = receive_batch(encode_xml(DISORDERED), lambda reports: store(reports))
    assert acked(ack) == ()
    assert store.calls == []  # the coroutine was closed, never run
    assert "areceive" in caplog.text


@formats
def test_areceive_batch_awaits_the_store_and_on_error(format) -> None:
    store = AsyncStore(lambda reports: [2, 3])

    async def on_error(error: ReportError) -> bool:
        return error.id_sms == 13

    ack = asyncio.run(areceive_batch(MIXED, store, on_error=on_error))
    assert acked(ack) == (13,)  # 10, 12 and 11 were not taken by the store
    ack = asyncio.run(areceive_batch(ENCODE[format](DISORDERED), store))
    assert store.calls[-1] == COLLAPSED
    assert acked(ack) == (2, 3)


def test_areceive_batch_with_sync_callbacks() -> None:
    store = Store()
    ack = asyncio.run(areceive_batch(MIXED, store, on_error=lambda e: e.id_sms == 11))
    assert acked(ack) == (10, 11, 12)
    assert len(store.calls) == 1
    assert acked(asyncio.run(areceive_batch(b"<response/>", store))) == ()
    assert len(store.calls) == 1  # not called without reports


def test_areceive_batch_failures(caplog) -> None:
    async def failing(reports: tuple[StatusReport, ...]) -> None:
        raise OSError("disk full")

    async def on_error(error: ReportError) -> bool:
        raise OSError("no room")

    body = encode_xml(DISORDERED)
    assert acked(asyncio.run(areceive_batch(body, failing))) == ()
    assert acked(asyncio.run(areceive_batch(body, AsyncStore(lambda rs: "1")))) == ()
    assert acked(asyncio.run(areceive_batch(MIXED, Store(), on_error=on_error))) == (
        10,
        12,
    )
    assert acked(asyncio.run(areceive_batch(MIXED, Store()))) == (10, 12)
    assert acked(asyncio.run(areceive_batch(MIXED, Store(), on_error=lambda e: 1))) == (
        10,
        12,
    )
    assert "disk full" in caplog.text
    assert "no room" in caplog.text
    ack = asyncio.run(areceive_batch(b"<oops", Store()))
    assert (ack.status, ack.ids) == (400, ())


# --- with StatusTable --------------------------------------------------------------


@formats
def test_a_disordered_delivery_into_a_status_table(format, connection) -> None:
    table = StatusTable()
    table.create(connection)
    reports = sample_reports(300, seed=8)
    # Each message's earlier status, arriving in any order with its latest.
    earlier = [
        r(rep.id_sms, Status.SEND, None) for rep in reports if rep.state.value != "send"
    ]
    history = [*reports, *earlier]
    gateway = Gateway(format, batch_size=40, shuffle=True, duplicate=0.3, seed=8)
    delivery = gateway.deliver(
        lambda body, content_type: (
            200,
            receive_batch(body, lambda rs: table.save(connection, rs)).body,
        ),
        history,
    )
    assert not delivery.lost
    ids = {rep.id_sms for rep in reports}
    assert delivery.acknowledged == ids
    assert table.load(connection, ids) == {rep.id_sms: rep for rep in reports}


# --- the collapse rule, against a reference built from `supersedes` ---------------

few_ids = status_reports().map(lambda rep: attrs.evolve(rep, id_sms=rep.id_sms % 4))


def reference(reports: list[StatusReport]) -> tuple[StatusReport, ...]:
    """Per id, in first-appearance order, the first report that no report of its id
    supersedes: the contract's words, checked pair by pair."""
    chosen = []
    for id_sms in dict.fromkeys(rep.id_sms for rep in reports):
        group = [rep for rep in reports if rep.id_sms == id_sms]
        chosen.append(next(x for x in group if not any(y.supersedes(x) for y in group)))
    return tuple(chosen)


@given(st.lists(few_ids, max_size=30), st.sampled_from(list(Format)))
def test_collapse_follows_the_contract(reports, format) -> None:
    store = Store()
    ack = receive_batch(ENCODE[format](reports), store)
    expected = reference(reports)
    assert store.calls == ([expected] if reports else [])
    assert acked(ack) == tuple(rep.id_sms for rep in expected)
