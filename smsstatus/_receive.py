"""`receive` and `receive_batch` (and their async forms): decode, hand the reports to
the application, acknowledge.

The rule that keeps statuses from being lost: an id is acknowledged only when every
item of the batch that carries it was taken, each report by the handler (it returned
without raising) or the store (it named the id, or returned None), and each per-item
error by `on_error` (it returned exactly True: a truthy mistake such as ``"no"`` must
not acknowledge).  Whatever is not acknowledged the gateway sends again, so a failure
costs a retry, never a status.

`receive` calls the handler once per report; `receive_batch` calls the store once per
document, with the reports collapsed to one per id (the furthest along), so a store
can write the whole document in one transaction and one statement (`smsstatus.sql`).
A callback that is async cannot be called by the synchronous forms; they refuse it
with `TypeError` up front, since otherwise every report would fail silently.

Each form hands its answered document to the observation hook (`_observe`) when a
sink is registered: one test of the sink list at the start, and one of the `Watch`
(None when nothing watches) at the end, is all it costs when none is.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Awaitable, Callable, Iterable, Iterator, Set
from datetime import tzinfo
from types import FunctionType
from typing import TYPE_CHECKING, Literal, NoReturn, TypeVar

from ._ack import Ack, ack_of, build_ack, empty_ack
from ._body import Body, parse_format, sniff_format
from ._collapse import collapse
from ._decode import decode
from ._errors import DecodeError
from ._model import Batch, Format, Limits, ReportError, StatusReport
from ._observe import SINKS, Watch, watch

__all__ = ["areceive", "areceive_batch", "receive", "receive_batch"]

if TYPE_CHECKING:
    import logging


def _logger() -> logging.Logger:
    # Imported when there is something to log: `logging` is a tenth of the time
    # `import smsstatus` takes, and a batch that goes well logs nothing.
    import logging

    return logging.getLogger("smsstatus")


# How much of a refused body is looked at to choose the format of the answer.
_SNIFF_CHARS = 4096


def _refused(
    body: Body,
    format: Format | str | None,
    exc: DecodeError,
    watching: Watch | None = None,
) -> Ack:
    """The answer to a body `decode` refused with `exc`: an empty `Ack`, status 400,
    in the format asked for, else the one the body looks like (XML when it looks
    like neither); handed to `watching` when there is one."""
    _logger().warning("refused a status document: %s", exc)
    told = _sniffed(body) if format is None else parse_format(format)
    if watching is not None:
        watching.done(body=body, format=told, code=400)
    return empty_ack(told or Format.XML, status=400)


def _sniffed(body: Body) -> Format | None:
    head = body[:_SNIFF_CHARS]
    data = head.encode("utf-8", "replace") if isinstance(head, str) else bytes(head)
    return sniff_format(data)


def _done(watching: Watch, body: Body, batch: Batch, ack: Ack) -> None:
    watching.done(
        body=body, format=batch.format, code=ack.status, batch=batch, taken=ack.ids
    )


_Item = TypeVar("_Item")


def _in_document_order(batch: Batch) -> Iterator[StatusReport | ReportError]:
    reports = iter(batch.reports)
    index = 0
    for error in batch.errors:
        for _ in range(error.index - index):
            yield next(reports)
        yield error
        index = error.index + 1
    yield from reports


def _first_seen(reports: tuple[StatusReport, ...]) -> tuple[list[int], set[int]]:
    """The reports' ids, each once, in order of first appearance; and as a set."""
    # A comprehension, not map(attrgetter): CPython 3.11+ reads a slot inline,
    # twice as fast as a call per report.  Ids rarely repeat within a document:
    # the set says so, and only then is the order rebuilt without repeats.
    ids = [report.id_sms for report in reports]
    distinct = set(ids)
    if len(distinct) != len(ids):
        ids = list(dict.fromkeys(ids))
    return ids, distinct


class _Tally:
    """Which ids were taken: an id stays acknowledged only while every item with it
    succeeds."""

    def __init__(self) -> None:
        self._taken: dict[int, bool] = {}

    def record(self, id_sms: int | None, taken: bool) -> None:
        if id_sms is not None:
            self._taken[id_sms] = self._taken.get(id_sms, True) and taken

    def ack(self, format: Format) -> Ack:
        return build_ack((i for i, taken in self._taken.items() if taken), format)


def _handler_failed(report: StatusReport) -> bool:
    _logger().exception(
        "handler failed for id_sms=%d; it is not acknowledged and will come again",
        report.id_sms,
    )
    return False


def _unhandled_error(error: ReportError) -> bool:
    _logger().warning(
        "the item at index %d (id_sms=%s) is not a valid status and is not "
        "acknowledged: %s",
        error.index,
        error.id_sms,
        error.reason,
    )
    return False


def _on_error_failed(error: ReportError) -> bool:
    _logger().exception(
        "on_error failed for the item at index %d (id_sms=%s)",
        error.index,
        error.id_sms,
    )
    return False


def _handle_error(
    on_error: Callable[[ReportError], bool] | None, error: ReportError
) -> bool:
    if on_error is None:
        return _unhandled_error(error)
    try:
        return _call(on_error, error) is True
    except Exception:
        return _on_error_failed(error)


async def _ahandle_error(
    on_error: Callable[[ReportError], Awaitable[bool] | bool] | None,
    error: ReportError,
) -> bool:
    """`_handle_error` for the async forms: awaits what `on_error` returns."""
    if on_error is None:
        return _unhandled_error(error)
    try:
        stored = on_error(error)
        if inspect.isawaitable(stored):
            stored = await stored
        return stored is True
    except Exception:
        return _on_error_failed(error)


def _is_async(callback: object) -> bool:
    if type(callback) is FunctionType and not callback.__dict__:
        # A plain function (a def, a lambda), the usual handler: with no attribute
        # to mark it (`inspect.markcoroutinefunction`), its code says what `inspect`
        # would, without the walk through the ways a callable can wrap another.
        return bool(callback.__code__.co_flags & inspect.CO_COROUTINE)
    # A coroutine function, or an object whose class's __call__ is one: the object
    # itself does not look like a coroutine function to inspect.
    if inspect.iscoroutinefunction(callback):
        return True
    if type(callback) is FunctionType:
        return False
    call = getattr(type(callback), "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(call)


def _refuse_async(name: str, callback: object, on_error: object) -> None:
    if _is_async(callback) or (on_error is not None and _is_async(on_error)):
        raise TypeError(f"{name}() calls its callbacks synchronously: use a{name}()")


def _call(callback: Callable[[_Item], object], item: _Item) -> object:
    result = callback(item)
    if result is not None:
        _not_awaitable(callback, result)
    return result


def _not_awaitable(callback: object, result: object) -> Literal[True]:
    """True when what a synchronous `callback` returned is not awaitable; else the
    `TypeError` that says to use the async form."""
    if inspect.isawaitable(result):
        _refuse_awaitable(callback, result)
    return True


def _refuse_awaitable(callback: object, result: object) -> NoReturn:
    if inspect.iscoroutine(result):
        result.close()  # never awaited, and never to be: no warning about it
    raise TypeError(
        f"{callback!r} returned an awaitable: use areceive() or areceive_batch()"
    )


def _receive_in_document_order(
    batch: Batch,
    handler: Callable[[StatusReport], object],
    on_error: Callable[[ReportError], bool] | None,
) -> Ack:
    """`receive` on a batch with per-item errors: reports and errors in the order
    the document has them."""
    tally = _Tally()
    for item in _in_document_order(batch):
        if isinstance(item, StatusReport):
            taken = _handled(handler, item)
        else:
            taken = _handle_error(on_error, item)
        tally.record(item.id_sms, taken)
    return tally.ack(batch.format)


def _handled(handler: Callable[[StatusReport], object], report: StatusReport) -> bool:
    """Whether `handler` took `report`: it returned, and not an awaitable."""
    try:
        _call(handler, report)
    except Exception:
        return _handler_failed(report)
    return True


def _after_failure(
    batch: Batch,
    failed: int,
    remaining: Iterator[StatusReport],
    handler: Callable[[StatusReport], object],
) -> Ack:
    """`receive`'s answer once the handler failed for the report at `failed` (logged
    already): the reports before it were taken, those after it are `remaining`."""
    tally = _Tally()
    for report in batch.reports[:failed]:
        tally.record(report.id_sms, True)
    tally.record(batch.reports[failed].id_sms, False)
    for report in remaining:
        tally.record(report.id_sms, _handled(handler, report))
    return tally.ack(batch.format)


def receive(
    body: Body,
    handler: Callable[[StatusReport], object],
    *,
    format: Format | str | None = None,
    tz: tzinfo | None = None,
    limits: Limits | None = None,
    on_error: Callable[[ReportError], bool] | None = None,
) -> Ack:
    """Decode `body`, call `handler` once per report in order, and return the `Ack`
    that a web view sends back to the gateway.

    An id is acknowledged only if every report with it was handled without raising; a
    handler's exception is logged (logger ``"smsstatus"``) and the batch goes on.
    Per-item errors go to `on_error`, whose id is acknowledged when it returns
    exactly True; without `on_error` they are logged and not acknowledged.  A body
    that cannot be decoded gives an empty `Ack` with status 400.  Bad input never
    raises; an async `handler` or `on_error` raises `TypeError` (use `areceive`).
    """
    _refuse_async("receive", handler, on_error)
    watching = watch() if SINKS else None
    try:
        batch = decode(body, format=format, tz=tz, limits=limits)
    except DecodeError as exc:
        return _refused(body, format, exc, watching)
    if batch.errors:
        ack = _receive_in_document_order(batch, handler, on_error)
    else:
        # Nearly every batch: with no per-item error there is no document order to
        # restore, and an id is refused only when the handler failed for one of its
        # reports.  One comprehension calls the handler and lists the ids of the
        # reports it took: 4 ns a report less than a loop and then a list of ids.
        remaining = iter(batch.reports)
        ids: list[int] | None
        try:
            ids = [
                report.id_sms
                for report in remaining
                for result in [handler(report)]
                if result is None or _not_awaitable(handler, result)
            ]
        except Exception:
            # The failure ended the comprehension, and its list with it: the reports
            # before the failed one all succeeded, and the iterator says which.
            failed = len(batch.reports) - operator.length_hint(remaining) - 1
            _handler_failed(batch.reports[failed])
            ids = None
        if ids is None:
            # Out of the `except`, so that a later failure is not logged as one
            # raised while handling this one.
            ack = _after_failure(batch, failed, remaining, handler)
        elif len(set(ids)) == len(ids):
            # Ids rarely repeat within a document: a set says so, and only then is
            # the order rebuilt without repeats.
            ack = ack_of(tuple(ids), batch.format)
        else:
            ack = ack_of(tuple(dict.fromkeys(ids)), batch.format)
    if watching is not None:
        _done(watching, body, batch, ack)
    return ack


async def areceive(
    body: Body,
    handler: Callable[[StatusReport], Awaitable[object] | object],
    *,
    format: Format | str | None = None,
    tz: tzinfo | None = None,
    limits: Limits | None = None,
    on_error: Callable[[ReportError], Awaitable[bool] | bool] | None = None,
) -> Ack:
    """`receive` for async views: awaits `handler` and `on_error` when they return
    awaitables, one report at a time, in order.  Same acknowledgement rules."""
    watching = watch() if SINKS else None
    try:
        batch = decode(body, format=format, tz=tz, limits=limits)
    except DecodeError as exc:
        return _refused(body, format, exc, watching)
    tally = _Tally()
    for item in _in_document_order(batch):
        if isinstance(item, StatusReport):
            try:
                result = handler(item)
                if inspect.isawaitable(result):
                    await result
                taken = True
            except Exception:
                taken = _handler_failed(item)
        else:
            taken = await _ahandle_error(on_error, item)
        tally.record(item.id_sms, taken)
    ack = tally.ack(batch.format)
    if watching is not None:
        _done(watching, body, batch, ack)
    return ack


# --- one store call per document ------------------------------------------------------


def _taken(result: object, offered: Set[int]) -> Set[int]:
    """The ids `offered` to a store that its `result` says it took."""
    if result is None:
        return offered
    if not isinstance(result, Iterable) or isinstance(
        result, (str, bytes, bytearray, memoryview)
    ):
        raise TypeError(f"the store returned {result!r}, not ids or None")
    ids = set()
    for id_sms in result:
        if not isinstance(id_sms, int) or isinstance(id_sms, bool):
            raise TypeError(f"the store returned {id_sms!r} among its ids")
        ids.add(id_sms)
    return offered & ids


def _store_offered(
    store: Callable[[tuple[StatusReport, ...]], object],
    reports: tuple[StatusReport, ...],
    offered: Set[int],
) -> Set[int]:
    """The ids of `reports` (`offered`) that a synchronous `store` took: none when it
    raises or returns something that is not ids or None."""
    try:
        return _taken(_call(store, reports), offered)
    except Exception:
        return _store_failed(reports)


def _store_failed(reports: tuple[StatusReport, ...]) -> frozenset[int]:
    _logger().exception(
        "store failed for %d report(s); none is acknowledged, they will come again",
        len(reports),
    )
    return frozenset()


def _batch_ack(
    batch: Batch,
    first_seen: list[int],
    taken: Set[int],
    handled_errors: Iterable[bool],
) -> Ack:
    if not batch.errors:
        # Without per-item errors an id is acknowledged when the store took it.
        if len(taken) == len(first_seen):
            return ack_of(tuple(first_seen), batch.format)
        return ack_of(tuple(i for i in first_seen if i in taken), batch.format)
    tally = _Tally()
    errors = iter(handled_errors)
    for item in _in_document_order(batch):
        if isinstance(item, StatusReport):
            tally.record(item.id_sms, item.id_sms in taken)
        else:
            tally.record(item.id_sms, next(errors))
    return tally.ack(batch.format)


def _offer(batch: Batch) -> tuple[list[int], set[int], tuple[StatusReport, ...]]:
    """The batch's ids in order of first appearance and as a set (what the store is
    offered), and the reports a store gets: collapsed to one per id, which is the
    reports themselves when no id repeats."""
    first_seen, offered = _first_seen(batch.reports)
    if len(first_seen) == len(batch.reports):
        return first_seen, offered, batch.reports
    return first_seen, offered, tuple(collapse(batch.reports).values())


def receive_batch(
    body: Body,
    store: Callable[[tuple[StatusReport, ...]], Iterable[int] | None],
    *,
    format: Format | str | None = None,
    tz: tzinfo | None = None,
    limits: Limits | None = None,
    on_error: Callable[[ReportError], bool] | None = None,
) -> Ack:
    """Decode `body`, call `store` once with its reports collapsed to one per
    `id_sms`, and return the `Ack` for the gateway.

    `store` gets, for each id, the report no other report of that id in the document
    supersedes (the first in document order among equals), in the order of each id's
    first appearance; it is not called when the document holds no report.  It returns
    the ids it took (others are ignored), or None for all of them.  If it raises, or
    returns anything else, none is taken (logged with traceback, logger
    ``"smsstatus"``).  Per-item errors go to `on_error` as in `receive`.  An id is
    acknowledged only when every item carrying it was taken.  A body that cannot be
    decoded gives an empty `Ack` with status 400; bad input never raises.  An async
    `store` or `on_error` raises `TypeError` (use `areceive_batch`).

    With `smsstatus.sql`:
    ``receive_batch(body, lambda reports: table.save(connection, reports))``.
    """
    _refuse_async("receive_batch", store, on_error)
    watching = watch() if SINKS else None
    try:
        batch = decode(body, format=format, tz=tz, limits=limits)
    except DecodeError as exc:
        return _refused(body, format, exc, watching)
    first_seen, offered, reports = _offer(batch)
    taken = _store_offered(store, reports, offered) if reports else set()
    handled = [_handle_error(on_error, error) for error in batch.errors]
    ack = _batch_ack(batch, first_seen, taken, handled)
    if watching is not None:
        _done(watching, body, batch, ack)
    return ack


async def areceive_batch(
    body: Body,
    store: Callable[
        [tuple[StatusReport, ...]],
        Awaitable[Iterable[int] | None] | Iterable[int] | None,
    ],
    *,
    format: Format | str | None = None,
    tz: tzinfo | None = None,
    limits: Limits | None = None,
    on_error: Callable[[ReportError], Awaitable[bool] | bool] | None = None,
) -> Ack:
    """`receive_batch` for async views: awaits `store` and `on_error` when they
    return awaitables.  Same collapsing and acknowledgement rules."""
    watching = watch() if SINKS else None
    try:
        batch = decode(body, format=format, tz=tz, limits=limits)
    except DecodeError as exc:
        return _refused(body, format, exc, watching)
    first_seen, offered, reports = _offer(batch)
    taken: Set[int] = frozenset()
    if reports:
        try:
            result = store(reports)
            if inspect.isawaitable(result):
                result = await result
            taken = _taken(result, offered)
        except Exception:
            taken = _store_failed(reports)
    handled = [await _ahandle_error(on_error, error) for error in batch.errors]
    ack = _batch_ack(batch, first_seen, taken, handled)
    if watching is not None:
        _done(watching, body, batch, ack)
    return ack
