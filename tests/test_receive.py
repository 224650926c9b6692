"""`receive` and `areceive`: which ids are acknowledged, what is logged, what is
refused."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

import pytest

from smsstatus import (
    Ack,
    Format,
    Limits,
    ReportError,
    Status,
    StatusReport,
    areceive,
    build_ack,
    decode_ack,
    encode_json,
    encode_xml,
    receive,
)
from smsstatus._receive import _is_async

REPORTS = [
    StatusReport(1, datetime(2011, 1, 1, 12, 0, 0), Status.DELIVER),
    StatusReport(2, None, Status.SEND),
    StatusReport(3, datetime(2011, 1, 1, 12, 0, 1), Status.READ, viber=Status.READ),
    StatusReport(4, None, Status.SEND),
]
ENCODE = {Format.XML: encode_xml, Format.JSON: encode_json}
formats = pytest.mark.parametrize("format", list(Format), ids=lambda f: f.value)

# A document with bad items between good ones: 10 good, 11 bad (time), 12 good,
# bad without an id, 11 again (good this time), 13 bad (state).
MIXED = {
    Format.XML: b"<response>"
    b'<state id_sms="10" time="">send</state>'
    b'<state id_sms="11" time="yesterday">send</state>'
    b'<state id_sms="12" time="">read</state>'
    b'<state id_sms="" time="">send</state>'
    b'<state id_sms="11" time="">deliver</state>'
    b'<state id_sms="13" time="">gone</state>'
    b"</response>",
    Format.JSON: b"["
    b'{"id_sms": "10", "time": "", "state": "send"},'
    b'{"id_sms": "11", "time": "yesterday", "state": "send"},'
    b'{"id_sms": "12", "time": "", "state": "read"},'
    b'{"id_sms": "", "time": "", "state": "send"},'
    b'{"id_sms": "11", "time": "", "state": "deliver"},'
    b'{"id_sms": "13", "time": "", "state": "gone"}'
    b"]",
}


class Store:
    """A handler that records what it got and fails for chosen ids."""

    def __init__(self, fail: Iterable[int] = ()) -> None:
        self.fail = set(fail)
        self.seen: list[StatusReport] = []

    def __call__(self, report: StatusReport) -> None:
        self.seen.append(report)
        if report.id_sms in self.fail:
            raise RuntimeError(f"database down for {report.id_sms}")


class AsyncStore(Store):
    """The same, as an object whose call returns a coroutine."""

    async def __call__(self, report: StatusReport) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        super().__call__(report)


def acked(ack: Ack) -> tuple[int, ...]:
    """The ids, checked to be what the gateway would read from the body."""
    assert ack.ids == decode_ack(ack.body, ack.format)
    return ack.ids


def smsstatus_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "smsstatus"]


# --- the happy path ----------------------------------------------------------


@formats
def test_every_report_handled_is_acknowledged(format: Format) -> None:
    store = Store()
    ack = receive(ENCODE[format](REPORTS), store)
    assert store.seen == REPORTS
    assert ack == build_ack([1, 2, 3, 4], format)
    assert ack.status == 200
    assert acked(ack) == (1, 2, 3, 4)


@formats
def test_the_answer_mirrors_the_format(format: Format) -> None:
    ack = receive(ENCODE[format](REPORTS), Store())
    assert ack.format is format
    assert (
        ack.content_type
        == {
            Format.XML: "text/xml; charset=utf-8",
            Format.JSON: "application/json",
        }[format]
    )


@formats
def test_options_are_passed_to_decode(format: Format) -> None:
    store = Store()
    receive(
        ENCODE[format](REPORTS).decode(), store, format=format.value, tz=timezone.utc
    )
    assert store.seen[0].time == datetime(2011, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    ack = receive(ENCODE[format](REPORTS), store, limits=Limits(max_reports=3))
    assert (ack.status, ack.ids) == (400, ())


def test_ids_are_in_document_order_and_deduplicated() -> None:
    reports = [StatusReport(i, None, Status.SEND) for i in (5, 3, 5, 9, 3, 1)]
    ack = receive(encode_json(reports), Store())
    assert acked(ack) == (5, 3, 9, 1)


def test_the_handler_return_value_does_not_matter() -> None:
    ack = receive(encode_xml(REPORTS), lambda report: False)
    assert ack.ids == (1, 2, 3, 4)


def test_an_empty_document_acknowledges_nothing() -> None:
    ack = receive(b"<response/>", Store())
    assert (ack.status, ack.ids) == (200, ())
    assert ack.body == build_ack([], "xml").body


# --- failing handlers -----------------------------------------------------------


@formats
def test_ids_whose_handler_failed_are_not_acknowledged(
    format: Format, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(fail={2, 4})
    with caplog.at_level(logging.INFO, logger="smsstatus"):
        ack = receive(ENCODE[format](REPORTS), store)
    assert store.seen == REPORTS  # a failure does not stop the batch
    assert acked(ack) == (1, 3)
    assert ack.status == 200
    failures = smsstatus_records(caplog)
    assert [r.levelno for r in failures] == [logging.ERROR, logging.ERROR]
    assert all(r.exc_info and r.exc_info[0] is RuntimeError for r in failures)
    assert "id_sms=2" in failures[0].getMessage()
    assert "id_sms=4" in failures[1].getMessage()


@pytest.mark.parametrize("failing_copy", [1, 2])
def test_an_id_is_acknowledged_only_if_every_copy_was_handled(
    failing_copy: int,
) -> None:
    reports = [StatusReport(i, None, Status.SEND) for i in (7, 8, 7, 8)]
    calls: list[int] = []

    def handler(report: StatusReport) -> None:
        calls.append(report.id_sms)
        if report.id_sms == 7 and calls.count(7) == failing_copy:
            raise RuntimeError("one copy failed")

    ack = receive(encode_xml(reports), handler)
    assert calls == [7, 8, 7, 8]
    assert acked(ack) == (8,)


# Ids with repeats; every way some of their reports can fail is tried below.
COPIES = (1, 2, 1, 3, 2)


@pytest.mark.parametrize("failing", range(2 ** len(COPIES)))
def test_any_failures_leave_exactly_the_ids_whose_every_report_was_handled(
    failing: int, caplog: pytest.LogCaptureFixture
) -> None:
    fails = {at for at in range(len(COPIES)) if failing >> at & 1}
    reports = [StatusReport(i, None, Status.SEND) for i in COPIES]
    calls: list[int] = []

    def handler(report: StatusReport) -> None:
        at = len(calls)
        calls.append(report.id_sms)
        if at in fails:
            raise RuntimeError(f"report {at} failed")

    ack = receive(encode_json(reports), handler)
    assert calls == list(COPIES)  # every report, once, in order, failures or not
    refused = {COPIES[at] for at in fails}
    assert ack.ids == tuple(i for i in dict.fromkeys(COPIES) if i not in refused)
    # Each failure is logged with its own exception, in order, and none as raised
    # while another was handled.
    logged = [r.exc_info[1] for r in smsstatus_records(caplog) if r.exc_info]
    assert [str(exc) for exc in logged] == [
        f"report {at} failed" for at in sorted(fails)
    ]
    assert all(exc is not None and exc.__context__ is None for exc in logged)


def test_a_handler_failing_for_everything() -> None:
    ack = receive(encode_json(REPORTS), Store(fail={1, 2, 3, 4}))
    assert (ack.status, ack.ids) == (200, ())
    assert ack.body == b"[]"


def test_base_exceptions_are_not_swallowed() -> None:
    def handler(report: StatusReport) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        receive(encode_xml(REPORTS), handler)


# --- per-item errors and on_error --------------------------------------------------


@formats
def test_without_on_error_bad_items_are_logged_and_not_acknowledged(
    format: Format, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store()
    with caplog.at_level(logging.INFO, logger="smsstatus"):
        ack = receive(MIXED[format], store)
    assert [r.id_sms for r in store.seen] == [10, 12, 11]
    # 11 had one bad item; 13 was only bad.
    assert acked(ack) == (10, 12)
    warnings = smsstatus_records(caplog)
    assert [r.levelno for r in warnings] == [logging.WARNING] * 3
    messages = [r.getMessage() for r in warnings]
    assert "index 1 (id_sms=11)" in messages[0]
    assert "time" in messages[0]
    assert "index 3 (id_sms=None)" in messages[1]
    assert "index 5 (id_sms=13)" in messages[2]


@formats
def test_on_error_true_acknowledges_the_bad_item(format: Format) -> None:
    stored: list[ReportError] = []

    def on_error(error: ReportError) -> bool:
        stored.append(error)
        return True

    ack = receive(MIXED[format], Store(), on_error=on_error)
    assert [(e.index, e.id_sms) for e in stored] == [(1, 11), (3, None), (5, 13)]
    assert acked(ack) == (10, 11, 12, 13)


@formats
def test_on_error_false_leaves_it_unacknowledged(
    format: Format, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="smsstatus"):
        ack = receive(MIXED[format], Store(), on_error=lambda error: False)
    assert acked(ack) == (10, 12)
    assert not smsstatus_records(caplog)  # the application saw them: no warning


def test_on_error_chooses_per_item() -> None:
    ack = receive(MIXED[Format.XML], Store(), on_error=lambda error: error.id_sms == 13)
    assert acked(ack) == (10, 12, 13)


@pytest.mark.parametrize("result", ["stored", "no", 1, [1], object(), None, False])
def test_on_error_acknowledges_only_when_it_returns_exactly_true(result) -> None:
    ack = receive(MIXED[Format.JSON], Store(), on_error=lambda error: result)
    assert acked(ack) == (10, 12)
    ack = receive(MIXED[Format.JSON], Store(), on_error=lambda error: True)
    assert acked(ack) == (10, 11, 12, 13)


def test_on_error_raising_is_logged_and_not_acknowledged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def on_error(error: ReportError) -> bool:
        if error.id_sms == 13:
            raise OSError("disk full")
        return True

    with caplog.at_level(logging.INFO, logger="smsstatus"):
        ack = receive(MIXED[Format.XML], Store(), on_error=on_error)
    assert acked(ack) == (10, 11, 12)
    (record,) = smsstatus_records(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.exc_info[0] is OSError
    assert "index 5 (id_sms=13)" in record.getMessage()


def test_a_good_copy_does_not_rescue_a_bad_one() -> None:
    # 11 came once bad and once good: with the bad one refused, 11 stays out.
    store = Store()
    ack = receive(MIXED[Format.XML], store, on_error=lambda error: error.id_sms != 11)
    assert 11 in [r.id_sms for r in store.seen]
    assert acked(ack) == (10, 12, 13)


def test_handler_failure_and_on_error_together() -> None:
    ack = receive(MIXED[Format.JSON], Store(fail={12}), on_error=lambda error: True)
    assert acked(ack) == (10, 11, 13)


def test_handler_and_on_error_are_called_in_document_order() -> None:
    calls: list[tuple[str, int | None]] = []

    def handler(report: StatusReport) -> None:
        calls.append(("report", report.id_sms))

    def on_error(error: ReportError) -> bool:
        calls.append(("error", error.id_sms))
        return True

    receive(MIXED[Format.XML], handler, on_error=on_error)
    assert calls == [
        ("report", 10),
        ("error", 11),
        ("report", 12),
        ("error", None),
        ("report", 11),
        ("error", 13),
    ]


# --- refused documents ----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "format", "answer"),
    [
        (b"", None, Format.XML),
        (b"   ", None, Format.XML),
        (b"garbage", None, Format.XML),
        (b"\xff\xfe\x00", None, Format.XML),
        (b"<response>", None, Format.XML),
        (b"<!DOCTYPE x [<!ENTITY a 'b'>]><response/>", None, Format.XML),
        (b"<other/>", None, Format.XML),
        (b"[", None, Format.JSON),
        (b"\xef\xbb\xbf  {", None, Format.JSON),
        (b"42", "json", Format.JSON),
        (b"[1, 2", "json", Format.JSON),
        (b"<response/>", "json", Format.JSON),
        (b"[]", "xml", Format.XML),
        ("[\ud800]", None, Format.JSON),
        (memoryview(b"{oops"), None, Format.JSON),
        (bytearray(b"<oops"), None, Format.XML),
    ],
)
def test_a_refused_document_gets_400_and_an_empty_ack(
    body: Any, format: str | None, answer: Format, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store()
    with caplog.at_level(logging.INFO, logger="smsstatus"):
        ack = receive(body, store, format=format)
    assert store.seen == []
    empty = build_ack([], answer)
    assert ack == Ack(
        ids=(),
        format=answer,
        body=empty.body,
        content_type=empty.content_type,
        status=400,
    )
    (record,) = smsstatus_records(caplog)
    assert record.levelno == logging.WARNING
    assert "refused" in record.getMessage()


def test_an_oversized_document_is_refused() -> None:
    body = encode_xml(REPORTS)
    ack = receive(body, Store(), limits=Limits(max_bytes=len(body) - 1))
    assert (ack.status, ack.ids, ack.format) == (400, (), Format.XML)


def test_a_refused_log_line_does_not_echo_the_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="smsstatus"):
        receive(b"<response>" + b"x" * 100_000, Store())
    (record,) = smsstatus_records(caplog)
    assert len(record.getMessage()) < 500


def test_a_bad_format_name_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="format must be"):
        receive(b"[]", Store(), format="yaml")


# --- sync receive and async callables ----------------------------------------


def test_receive_refuses_coroutine_functions() -> None:
    async def handler(report: StatusReport) -> None:
        pass

    async def on_error(error: ReportError) -> bool:
        return True

    with pytest.raises(TypeError, match="areceive"):
        receive(encode_xml(REPORTS), handler)
    with pytest.raises(TypeError, match="areceive"):
        receive(encode_xml(REPORTS), Store(), on_error=on_error)  # type: ignore[arg-type]


def _plain(report: StatusReport) -> None:
    pass


async def _coroutine(report: StatusReport) -> None:
    pass


def _noted(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function`, with an attribute set on it as a decorator might set one."""
    function.__dict__["note"] = "set by a decorator"
    return function


@_noted
def _plain_noted(report: StatusReport) -> None:
    pass


@_noted
async def _coroutine_noted(report: StatusReport) -> None:
    pass


class _Methods:
    def plain(self, report: StatusReport) -> None:
        pass

    async def coroutine(self, report: StatusReport) -> None:
        pass


# `inspect.markcoroutinefunction` is new in Python 3.12; before, nothing marks one.
_mark = getattr(inspect, "markcoroutinefunction", lambda function: function)
CALLABLES = {
    "def": _plain,
    "async def": _coroutine,
    "lambda": lambda report: None,
    "def with an attribute": _plain_noted,
    "async def with an attribute": _coroutine_noted,
    "marked def": _mark(lambda report: None),
    "partial of an async def": functools.partial(_coroutine),
    "method": _Methods().plain,
    "async method": _Methods().coroutine,
}


@pytest.mark.parametrize("callback", CALLABLES.values(), ids=CALLABLES.keys())
def test_a_function_is_async_exactly_when_inspect_says_so(callback: object) -> None:
    # A plain function is judged by its code alone when nothing is set on it.
    assert _is_async(callback) is inspect.iscoroutinefunction(callback)


def test_receive_refuses_objects_whose_call_is_async() -> None:
    # Called, such an object only returns a coroutine: every report would fail
    # and the gateway would get an empty 200 forever.  It is a programming error.
    class AsyncOnError:
        async def __call__(self, error: ReportError) -> bool:
            return True

    with pytest.raises(TypeError, match="areceive"):
        receive(encode_xml(REPORTS), AsyncStore())
    with pytest.raises(TypeError, match="areceive"):
        receive(encode_xml(REPORTS), Store(), on_error=AsyncOnError())  # type: ignore[arg-type]
    assert acked(receive(encode_xml(REPORTS), Store())) == tuple(
        dict.fromkeys(r.id_sms for r in REPORTS)
    )


def test_receive_does_not_ack_what_an_awaitable_returning_handler_got(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Not a coroutine function, so only its result shows it is async: the report
    # was not handled, so it is not acknowledged, and the coroutine is closed
    # (an un-awaited one would warn, and warnings are errors here).
    store = AsyncStore()
    with caplog.at_level(logging.ERROR, logger="smsstatus"):
        ack = receive(encode_xml(REPORTS), lambda report: store(report))
    assert ack.ids == ()
    assert store.seen == []
    records = smsstatus_records(caplog)
    assert len(records) == len(REPORTS)
    assert all(r.exc_info and "areceive" in str(r.exc_info[1]) for r in records)


# --- areceive --------------------------------------------------------------------


@formats
def test_areceive_with_sync_callables(format: Format) -> None:
    store = Store(fail={12})
    ack = asyncio.run(areceive(MIXED[format], store, on_error=lambda error: True))
    assert [r.id_sms for r in store.seen] == [10, 12, 11]
    assert acked(ack) == (10, 11, 13)
    assert ack.format is format


@formats
def test_areceive_awaits_async_callables_in_order(format: Format) -> None:
    calls: list[tuple[str, int | None]] = []

    async def handler(report: StatusReport) -> None:
        calls.append(("start", report.id_sms))
        await asyncio.sleep(0)
        calls.append(("end", report.id_sms))
        if report.id_sms == 12:
            raise RuntimeError("nope")

    async def on_error(error: ReportError) -> bool:
        await asyncio.sleep(0)
        calls.append(("error", error.id_sms))
        return error.id_sms is not None and error.id_sms > 12

    ack = asyncio.run(areceive(MIXED[format], handler, on_error=on_error))
    assert calls == [
        ("start", 10),
        ("end", 10),
        ("error", 11),
        ("start", 12),
        ("end", 12),
        ("error", None),
        ("start", 11),
        ("end", 11),
        ("error", 13),
    ]
    assert acked(ack) == (10, 13)


def test_areceive_with_an_async_callable_object() -> None:
    store = AsyncStore(fail={3})
    ack = asyncio.run(areceive(encode_json(REPORTS), store))
    assert store.seen == REPORTS
    assert acked(ack) == (1, 2, 4)


def test_areceive_on_error_raising_or_refusing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def on_error(error: ReportError) -> bool:
        if error.id_sms == 13:
            raise OSError("disk full")
        return False

    with caplog.at_level(logging.INFO, logger="smsstatus"):
        ack = asyncio.run(areceive(MIXED[Format.XML], Store(), on_error=on_error))
    assert acked(ack) == (10, 12)
    (record,) = smsstatus_records(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None


def test_areceive_without_on_error_logs_warnings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="smsstatus"):
        ack = asyncio.run(areceive(MIXED[Format.JSON], AsyncStore()))
    assert acked(ack) == (10, 12)
    assert [r.levelno for r in smsstatus_records(caplog)] == [logging.WARNING] * 3


@pytest.mark.parametrize(("body", "answer"), [(b"[", Format.JSON), (b"", Format.XML)])
def test_areceive_refuses_bad_documents(
    body: bytes, answer: Format, caplog: pytest.LogCaptureFixture
) -> None:
    store = AsyncStore()
    with caplog.at_level(logging.INFO, logger="smsstatus"):
        ack = asyncio.run(areceive(body, store))
    assert (ack.status, ack.ids, ack.format) == (400, (), answer)
    assert ack.body == build_ack([], answer).body
    assert store.seen == []
    assert [r.levelno for r in smsstatus_records(caplog)] == [logging.WARNING]


def test_areceive_matches_receive_for_sync_callables() -> None:
    def run(function: Callable[..., Any], body: bytes) -> Ack:
        result = function(body, Store(fail={12}), on_error=lambda e: e.id_sms == 13)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        assert isinstance(result, Ack)
        return result

    for body in (*MIXED.values(), encode_xml(REPORTS), b"junk"):
        assert run(receive, body) == run(areceive, body)


class Pending:
    """An awaitable that is not a coroutine."""

    def __await__(self) -> Any:
        yield from ()
        return None


def test_receive_does_not_ack_a_report_whose_handler_returned_another_awaitable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="smsstatus"):
        ack = receive(encode_json(REPORTS[:1]), lambda report: Pending())
    assert ack.ids == ()
    (record,) = smsstatus_records(caplog)
    assert record.exc_info is not None
    assert record.exc_info[0] is TypeError


def test_areceive_awaits_any_awaitable() -> None:
    seen: list[int] = []

    def handler(report: StatusReport) -> Pending:
        seen.append(report.id_sms)
        return Pending()

    def on_error(error: ReportError) -> Any:
        return asyncio.sleep(0, result=True)

    ack = asyncio.run(areceive(MIXED[Format.XML], handler, on_error=on_error))
    assert seen == [10, 12, 11]
    assert acked(ack) == (10, 11, 12, 13)
