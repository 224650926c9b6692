"""`receive` and `areceive`: decode, hand each report to the application, acknowledge.

The rule that keeps statuses from being lost: an id is acknowledged only when every
item of the batch that carries it was taken, each report by the handler (it returned
without raising) and each per-item error by `on_error` (it returned True).  Whatever is
not acknowledged the gateway sends again, so a failure costs a retry, never a status.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import tzinfo
from typing import TypeVar

from ._ack import Ack, build_ack, empty_ack
from ._body import Body, parse_format, sniff_format
from ._decode import decode
from ._errors import DecodeError
from ._model import Batch, Format, Limits, ReportError, StatusReport

__all__ = ["areceive", "receive"]

logger = logging.getLogger("smsstatus")

# How much of a refused body is looked at to choose the format of the answer.
_SNIFF_CHARS = 4096


def _decode_or_refuse(
    body: Body, format: Format | str | None, tz: tzinfo | None, limits: Limits | None
) -> Batch | Ack:
    chosen = None if format is None else parse_format(format)
    try:
        return decode(body, format=chosen, tz=tz, limits=limits)
    except DecodeError as exc:
        logger.warning("refused a status document: %s", exc)
        return empty_ack(chosen or _answer_format(body), status=400)


def _answer_format(body: Body) -> Format:
    head = body[:_SNIFF_CHARS]
    data = head.encode("utf-8", "replace") if isinstance(head, str) else bytes(head)
    return sniff_format(data) or Format.XML


_Item = TypeVar("_Item", StatusReport, ReportError)


def _in_document_order(batch: Batch) -> Iterator[StatusReport | ReportError]:
    reports = iter(batch.reports)
    index = 0
    for error in batch.errors:
        for _ in range(error.index - index):
            yield next(reports)
        yield error
        index = error.index + 1
    yield from reports


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
    logger.exception(
        "handler failed for id_sms=%d; it is not acknowledged and will come again",
        report.id_sms,
    )
    return False


def _unhandled_error(error: ReportError) -> bool:
    logger.warning(
        "item %d (id_sms=%s) is not a valid status and is not acknowledged: %s",
        error.index,
        error.id_sms,
        error.reason,
    )
    return False


def _on_error_failed(error: ReportError) -> bool:
    logger.exception(
        "on_error failed for item %d (id_sms=%s)", error.index, error.id_sms
    )
    return False


def _call(callback: Callable[[_Item], object], item: _Item) -> object:
    result = callback(item)
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()  # never awaited, and never to be: no warning about it
        raise TypeError(f"{callback!r} returned an awaitable: use areceive()")
    return result


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
    Per-item errors go to `on_error`, whose id is acknowledged when it returns True;
    without `on_error` they are logged and not acknowledged.  A body that cannot be
    decoded gives an empty `Ack` with status 400.  Bad input never raises.
    """
    if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(on_error):
        raise TypeError("receive() calls its callbacks synchronously: use areceive()")
    outcome = _decode_or_refuse(body, format, tz, limits)
    if isinstance(outcome, Ack):
        return outcome
    tally = _Tally()
    for item in _in_document_order(outcome):
        if isinstance(item, StatusReport):
            try:
                _call(handler, item)
                taken = True
            except Exception:
                taken = _handler_failed(item)
        elif on_error is None:
            taken = _unhandled_error(item)
        else:
            try:
                taken = bool(_call(on_error, item))
            except Exception:
                taken = _on_error_failed(item)
        tally.record(item.id_sms, taken)
    return tally.ack(outcome.format)


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
    outcome = _decode_or_refuse(body, format, tz, limits)
    if isinstance(outcome, Ack):
        return outcome
    tally = _Tally()
    for item in _in_document_order(outcome):
        if isinstance(item, StatusReport):
            try:
                result = handler(item)
                if inspect.isawaitable(result):
                    await result
                taken = True
            except Exception:
                taken = _handler_failed(item)
        elif on_error is None:
            taken = _unhandled_error(item)
        else:
            try:
                stored = on_error(item)
                if inspect.isawaitable(stored):
                    stored = await stored
                taken = bool(stored)
            except Exception:
                taken = _on_error_failed(item)
        tally.record(item.id_sms, taken)
    return tally.ack(outcome.format)
