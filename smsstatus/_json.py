"""JSON: the gateway's array of ``{"id_sms", "time", "state"}`` objects.

Strategy.  `json.loads` (the C scanner) reads the whole body, and we walk the list once,
handing each object's fields to the shared per-item rules.  The body must be UTF-8, as
RFC 8259 requires between systems, with an optional byte-order mark.  Nesting too deep
for the scanner, numbers too long to convert and every other parse failure become a
`DecodeError`.  A lone object is a batch of one; any other top-level value is refused.
An item that is not an object at all is a per-item error, like a bad field.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable
from datetime import tzinfo
from typing import Any

from . import _json_fast
from ._body import DEFAULT_LIMITS, Body, as_bytes
from ._errors import DecodeError, PayloadTooLarge
from ._item import ItemReader
from ._model import Batch, Format, Limits, ReportError, StatusReport, _wall_clock

__all__ = ["decode_json", "encode_json", "load_json", "read_json"]


def load_json(data: bytes) -> Any:
    """The JSON value of a UTF-8 body, or a `DecodeError` saying why there is none."""
    try:
        text = data.decode("utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"body is not valid UTF-8 at byte {exc.start}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecodeError(
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise DecodeError("JSON nested too deep to parse") from exc
    except ValueError as exc:  # an integer with more digits than int() converts
        raise DecodeError(f"malformed JSON: {exc}") from exc


def _as_text(item: Any) -> str:
    # ASCII escapes keep `raw` storable even when the item holds a lone surrogate.
    try:
        return json.dumps(item)
    except RecursionError as exc:
        # json.loads read the item a few stack frames higher up than this: an item
        # nested right at its limit reads but cannot be written back.  Without its
        # raw text it would be lost, so the whole document is refused instead.
        raise DecodeError("JSON nested too deep to keep a bad item's raw text") from exc


def read_json(data: bytes, tz: tzinfo | None, limits: Limits) -> Batch:
    """Decode a JSON body that `as_bytes` has already checked."""
    # With msgspec installed, an ordinary document takes the accelerator; it hands
    # anything else back to be read here.
    batch = _json_fast.read(data, tz, limits)
    if batch is not None:
        return batch
    document = load_json(data)
    if document.__class__ is dict:
        document = [document]
    elif document.__class__ is not list:
        raise DecodeError(
            f"JSON document is {type(document).__name__}, expected an array of objects"
        )
    if len(document) > limits.max_reports:
        raise PayloadTooLarge(
            f"{len(document)} items, over the limit of {limits.max_reports}"
        )
    reader = ItemReader(tz)
    fast = reader.fast
    reports: list[StatusReport] = []
    errors: list[ReportError] = []
    append = reports.append
    for index, item in enumerate(document):
        # Each object is dropped from the document once read, so the memory it held
        # is reused for the reports instead of adding to the peak.
        document[index] = None
        if item.__class__ is dict:
            report = fast(item)
            if report is not None:
                append(report)
                continue
            get = item.get
            result = reader.careful(
                index,
                get("id_sms"),
                get("time"),
                get("state"),
                get("sms"),
                get("viber"),
                lambda: _as_text(item),  # noqa: B023 - called before the next item
            )
        else:
            kind = {list: "an array", str: "a string", type(None): "null"}.get(
                item.__class__, "a number or boolean"
            )
            result = ReportError(
                index=index,
                id_sms=None,
                reason=f"item is {kind}, expected an object",
                raw=_as_text(item),
            )
        if isinstance(result, StatusReport):
            append(result)
        else:
            errors.append(result)
    return Batch(format=Format.JSON, reports=tuple(reports), errors=tuple(errors))


def decode_json(
    body: Body, *, tz: tzinfo | None = None, limits: Limits | None = None
) -> Batch:
    """Decode the gateway's JSON document (an array of objects, or one object).

    Every object becomes a `StatusReport` or, when one of its fields breaks the rules,
    a `ReportError`.  A document that cannot be read at all raises a `DecodeError`
    (`PayloadTooLarge` past `limits`).  `tz` is attached to every time.
    """
    limits = limits or DEFAULT_LIMITS
    return read_json(as_bytes(body, limits), tz, limits)


def encode_json(reports: Iterable[StatusReport]) -> bytes:
    """The gateway's JSON document for `reports`: `id_sms` as a string, as the
    gateway shows it, and `sms` / `viber` only when set."""
    items = []
    for report in reports:
        item = {
            "id_sms": str(report.id_sms),
            "time": _wall_clock(report.time),
            "state": report.state.value,
        }
        if report.sms is not None:
            item["sms"] = report.sms.value
        if report.viber is not None:
            item["viber"] = report.viber.value
        items.append(item)
    return json.dumps(items).encode("utf-8")
