"""The optional JSON accelerator: msgspec reads the gateway's ordinary documents.

Strategy.  With msgspec installed (``pip install 'smsstatus[fast]'``), `read` decodes
the body straight into small typed structs in one strict pass (no generic dicts and
lists in between), then checks each field's exact shape in Python, as the pure
reader's hot path does, and builds the reports.  It only ever *agrees* with the pure
reader (`smsstatus._json`): it takes a document when every item is in the gateway's
ordinary form, and on any doubt at all (a msgspec error of any kind, an unknown key,
a value of another type or shape, a time that is no real date-time, a number id past
63 bits, a byte-order mark, too many items or values) it returns None and the pure
reader decodes the whole document again.  So per-item errors, their `raw` text, the
limits and every guarantee about hostile input are the pure reader's, decided in one
place, and a differential test holds the two paths to the same `Batch` for every
input.

The values too: a key written twice in an item counts twice for the pure reader's
bounds (`_json_bounds`), though msgspec keeps its last value and says nothing.  In a
document msgspec has read to these structs no string holds a brace or a comma (ids,
times and statuses cannot), so its braces and commas, cut out of the body in one C
pass, are the pure reader's own look at its shape.  A body too short to hold an item
past the bounds needs no look: the documents of one webhook call, mostly.

It also writes the ids of an acknowledgement (`id_list_writer`), the part of an
`Ack` that costs: msgspec's digits are twice as fast as Python's.

msgspec is imported on the first JSON document or acknowledgement, not with the
package: it costs more import time than all of smsstatus.  Without it `read` and
`id_list_writer` return None at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Annotated, Any

from ._item import _LEG, _TIME_SHAPE, _ZERO_DIGITS
from ._json_bounds import MAX_ITEM_VALUES, TOO_MANY_MEMBERS, max_values
from ._model import (
    Batch,
    Format,
    Limits,
    Status,
    StatusReport,
    _BatchBuilder,
    _ReportBuilder,
)

__all__ = ["id_list_writer", "read"]

# An id read as a JSON number must fit in 63 bits (msgspec bounds are int64); one
# larger is rare enough to leave to the pure reader and its rules for long numbers.
_MAX_ID = 2**63 - 1
_JSON = Format.JSON
# Everything but braces and commas, cut out of a body to count its values.
_NOT_MARKS = bytes(sorted(set(range(256)) - set(b"{},")))
# The shortest item past the bounds: one more member than it may hold, each at least
# as long as '"sms":""', commas between them and its braces around.
_SHORTEST_PAST_BOUNDS = (MAX_ITEM_VALUES + 1) * len(b'"sms":""') + MAX_ITEM_VALUES + 2


@functools.cache
def decoder() -> Callable[[bytes], Any] | None:
    """msgspec's decoder of the gateway's ordinary form, or None without msgspec.

    Built once, on the first JSON document: importing msgspec and building the
    decoder take milliseconds, which a decode must not pay every time."""
    try:
        import msgspec
    except ImportError:
        return None
    # No defaults for `time` and `state`: an item without them is left to the pure
    # reader.  Unknown keys are refused, since msgspec skips their values unread.
    item: Any = msgspec.defstruct(
        "Item",
        [
            ("id_sms", Annotated[int, msgspec.Meta(ge=0, le=_MAX_ID)] | str),
            ("time", str | None),
            ("state", Status),
            ("sms", str | None, None),
            ("viber", str | None, None),
        ],
        forbid_unknown_fields=True,
        # Never part of a cycle: the garbage collector need not track them.
        gc=False,
    )
    return msgspec.json.Decoder(list[item] | item).decode


@functools.cache
def id_list_writer() -> Callable[[tuple[int, ...]], bytes] | None:
    """msgspec's writer of ids as a JSON array without blanks (``[1,2,3]``), twice as
    fast as Python's digits; None without msgspec."""
    try:
        import msgspec
    except ImportError:
        return None
    return msgspec.json.encode


def read(data: bytes, tz: tzinfo | None, limits: Limits) -> Batch | None:
    """The batch of a body in the gateway's ordinary form, or None to leave it to the
    pure reader (always None without msgspec)."""
    decode = decoder()
    if decode is None or (tz is not None and not isinstance(tz, tzinfo)):
        return None
    # Written for CPython 3.11+, whose specialising interpreter reads globals and
    # slots as fast as locals: no local aliases, and no cache of parsed times (the
    # look-up costs half of what it saves, and a batch's times mostly differ), which
    # is also what a one-item document's fixed cost wants.
    reports: list[StatusReport] = []
    try:
        items = decode(data)
        array = items.__class__ is list
        if not array:
            items = [items]
        count = len(items)
        if count > limits.max_reports:
            return None
        if len(data) >= _SHORTEST_PAST_BOUNDS:
            # Values: the commas, each object and the array (see the module's
            # comment).  A shorter body has fewer than any limit permits.
            marks = data.translate(None, _NOT_MARKS)
            values = len(marks) - count + array
            if TOO_MANY_MEMBERS in marks or values > max_values(limits.max_reports):
                return None
        # The pure reader's hot path (the loop of `_json._read_items`), on fields
        # whose types msgspec has checked; any exception hands the document back.
        for item in items:
            id_sms = item.id_sms
            if id_sms.__class__ is str:
                if not (id_sms.isascii() and id_sms.isdigit()):
                    return None
                id_sms = int(id_sms)
            time = item.time
            if not time:  # "" or None
                time = None
            else:
                if time.encode().translate(_ZERO_DIGITS) != _TIME_SHAPE:
                    return None
                time = datetime.fromisoformat(time)
                if tz is not None:
                    time = time.replace(tzinfo=tz)
            report: Any = _ReportBuilder()
            report.id_sms = id_sms
            report.time = time
            report.state = item.state
            report.sms = _LEG[item.sms]
            report.viber = _LEG[item.viber]
            report.__class__ = StatusReport
            reports.append(report)
    except Exception:
        # Whatever went wrong, the pure reader decides what the body is.
        return None
    # `_model._decoded_batch` inlined, as the reports are: a one-item document
    # notices every call.
    batch: Any = _BatchBuilder()
    batch.format = _JSON
    batch.reports = tuple(reports)
    batch.errors = ()
    batch.__class__ = Batch
    return batch  # type: ignore[no-any-return]
