"""The per-item rules, shared by the XML and the JSON decoder.

A decoder pulls the raw field values out of an item (strings from XML; any JSON value
from JSON; absent where a field is missing) and hands them to an `ItemReader`:

- `ItemReader.fast` is the hot path, taken by nearly every item.  It accepts only the
  exact, ordinary form of each field (an id of plain ASCII digits, a time already seen
  or of the exact ``YYYY-MM-DD HH:MM:SS`` shape, statuses found by one dictionary
  look-up) and builds the report without re-running the model's validators.  It never
  decides that an item is bad: on anything unusual, even an input that turns out fine
  (an id with blanks around it, a missing ``time``), it returns None.
  `ItemReader.shaped` is the same for a decoder that has already matched the fields'
  shapes itself (the XML one, on a document written as the gateway writes it), for
  all the items of a document at once, with no Python call per item.  The
  JSON readers write these tests out in their own loops, where a call per item would
  cost more than the rest of the loop, adding a JSON int >= 0 as an ordinary id.
- `ItemReader.careful` then applies the rules one field at a time and either builds
  the report or names the first bad field and its value in a `ReportError`.

So the rules live here once, for both formats, and the hot paths stay short: each of
their tests is one cheap C-level call, and its failures cost nothing but a second look.

Blanks (XML's and JSON's white space: space, tab, CR, LF, nothing else) around any
field's text are ignored, so a pretty-printed ``<state>`` reads like a compact one.
Only `careful` strips them: the fast paths see the exact form and leave the rest to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from ._model import (
    ReportError,
    Status,
    StatusReport,
    _ReportBuilder,
    _unchecked_report,
)

__all__ = [
    "STATUS_BYTES",
    "TIME_PATTERN",
    "BigInt",
    "ItemReader",
    "check_tz",
    "read_id",
]

_STATUS = {status.value: status for status in Status}
# The XML decoder looks a ``<state>``'s text up as the bytes between its tags.
STATUS_BYTES = {status.value.encode(): status for status in Status}
# A leg (`sms`, `viber`) may be absent or empty, which both mean None.
_LEG: dict[Any, Status | None] = {None: None, "": None, **_STATUS}
# As bytes, a leg a pattern did not match is empty.
_LEG_BYTES: dict[bytes, Status | None] = {b"": None, **STATUS_BYTES}
_STATUS_NAMES = ", ".join(_STATUS)
# The one shape of a time on the wire, as a pattern for decoders that match a whole
# item at once (the XML one) ...
TIME_PATTERN = rb"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"
# ... and as what its UTF-8 bytes become once every digit is made a zero: a test as
# strict as the pattern (any other character, or a multi-byte one, changes the bytes)
# and twice as fast as matching it, which counts when every time in a batch differs.
_ZERO_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_TIME_SHAPE = b"0000-00-00 00:00:00"
# A parsed time with the zone `tz`: combine(time, time.time(), tz) makes the same
# datetime as time.replace(tzinfo=tz) at a seventh of its cost (no keyword parsing).
_zoned = datetime.combine
_SHOWN_CHARS = 60
_WRONG_TIME = "time: expected 'YYYY-MM-DD HH:MM:SS' or empty, got "
_BLANKS = " \t\r\n"  # XML's and JSON's white space, and nothing else
# Marks, in the per-document time cache, a string that is not a valid time.
_BAD: Any = object()

Raw = str | Callable[[], str]
FastRead = Callable[[Mapping[str, Any]], "StatusReport | None"]
# An item's fields as the XML decoder's pattern matched them: the whole item, id_sms,
# time, sms, viber, state.
ShapedItem = tuple[bytes, bytes, bytes, bytes, bytes, bytes]
ShapedRead = Callable[[list[ShapedItem], list[StatusReport]], bool]


class BigInt(str):
    """A JSON integer with more digits than `int()` converts (Python's 4300-digit
    limit), kept as its text: an error if it is an item's id, ignored elsewhere."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)  # shown as the number it is, not as a string


class _BadField(ValueError):
    """Carries the reason an item was refused out of the careful path."""


class ItemReader:
    """Turns the raw fields of one document's items into reports.

    One reader serves one document.  It caches parsed times, since a batch often
    repeats the same few seconds, and holds the caller's `tz`; nothing is shared
    between documents.  `states` maps a raw ``state`` value to its `Status` on the
    fast path (`STATUS_BYTES` when the decoder passes bytes).
    """

    __slots__ = ("_times", "_tz", "fast", "shaped")

    fast: FastRead
    """`fast(item)`: the report of `item`, a mapping with the keys ``id_sms``,
    ``time``, ``state`` and maybe ``sms`` and ``viber``, or None when the item needs
    `careful`."""

    shaped: ShapedRead
    """`shaped(items, reports)`: appends to `reports` the reports of `items`, each the
    fields of an item (`ShapedItem`, as bytes) that the decoder has already matched
    against their wire shapes: `id_sms` ASCII digits, `time` empty or
    `TIME_PATTERN`, `sms` / `viber` empty when absent; and returns True, or False
    when one of them needs `careful` (then `reports` holds some of them)."""

    def __init__(
        self, tz: tzinfo | None, states: Mapping[Any, Status] = _STATUS
    ) -> None:
        check_tz(tz)
        self._tz = tz
        self._times: dict[Any, Any] = {"": None, None: None}
        self.fast = _fast_reader(tz, self._times, states)
        self.shaped = _shaped_reader(tz)

    def careful(
        self,
        index: int,
        id_raw: Any,
        time_raw: Any,
        state_raw: Any,
        sms_raw: Any,
        viber_raw: Any,
        raw: Raw,
    ) -> StatusReport | ReportError:
        """The item's report, or the `ReportError` naming its first bad field.

        `raw` is the item as text, or a callable that makes it: only an error needs
        it, so a decoder can skip building it for good items.
        """
        id_sms = None
        try:
            id_sms = read_id(id_raw)
            if time_raw is None:
                time = None
            elif time_raw.__class__ is not str:
                raise _BadField(_WRONG_TIME + _describe(time_raw))
            else:
                time = self._time(time_raw.strip(_BLANKS))
                if time is _BAD:
                    raise _BadField(_time_reason(time_raw))
            state = _read_status("state", state_raw)
            if state is None:
                raise _BadField("state: missing")
            sms = _read_status("sms", sms_raw)
            viber = _read_status("viber", viber_raw)
        except _BadField as exc:
            text = raw() if callable(raw) else raw
            return ReportError(index=index, id_sms=id_sms, reason=str(exc), raw=text)
        return _unchecked_report(id_sms, time, state, sms, viber)

    def _time(self, text: str) -> Any:
        times = self._times
        if text in times:
            return times[text]
        value = _BAD
        if _time_shaped(text):
            try:
                value = datetime.fromisoformat(text)
            except ValueError:
                pass  # the right shape, but February 30 or 25:61
            else:
                if self._tz is not None:
                    value = _zoned(value, value.time(), self._tz)
        times[text] = value
        return value


def check_tz(tz: object) -> None:
    """Refuse a `tz` that is neither a `datetime.tzinfo` nor None (`TypeError`).

    A decoder checks it before its first item, not when the first time is read: a
    wrong `tz` must fail on every document, not only on those that carry a time."""
    if tz is not None and not isinstance(tz, tzinfo):
        raise TypeError(f"tz must be a datetime.tzinfo or None, not {tz!r}")


def _fast_reader(
    tz: tzinfo | None, times: dict[Any, Any], states: Mapping[Any, Status]
) -> FastRead:
    # A closure: its names are cell and local look-ups, and it is called once per
    # item, so every attribute look-up saved here is saved a hundred thousand times.
    parse_time = datetime.fromisoformat
    legs = _LEG
    bad = _BAD
    builder = _ReportBuilder
    report_class = StatusReport

    def fast(item: Mapping[str, Any]) -> StatusReport | None:
        try:
            id_raw = item["id_sms"]
            if not (id_raw.__class__ is str and id_raw.isascii() and id_raw.isdigit()):
                return None
            id_sms = int(id_raw)
            time_raw = item["time"]
            time = times.get(time_raw, bad)
            if time is bad:
                if time_raw.encode().translate(_ZERO_DIGITS) != _TIME_SHAPE:
                    return None
                time = parse_time(time_raw)
                if tz is not None:
                    time = _zoned(time, time.time(), tz)
                times[time_raw] = time
            state = states[item["state"]]
            if len(item) == 3:  # exactly the three keys just read: no legs
                sms = viber = None
            else:
                sms = legs[item.get("sms")]
                viber = legs[item.get("viber")]
        except (AttributeError, KeyError, TypeError, ValueError):
            # KeyError: a key missing, or not a status; TypeError: an unhashable
            # JSON value looked up; AttributeError: a time that is not a string;
            # ValueError: an id longer than int() converts, a time that is no real
            # date-time or holds a lone surrogate.
            return None
        # `_unchecked_report`, written out: this is the hottest code of a decode.
        report: Any = builder()
        report.id_sms = id_sms
        report.time = time
        report.state = state
        report.sms = sms
        report.viber = viber
        report.__class__ = report_class
        return report  # type: ignore[no-any-return]

    return fast


def _shaped_reader(tz: tzinfo | None) -> ShapedRead:
    # The times seen, by their bytes: a separate cache, since a bytes key meeting an
    # equal-hashed str key in one dict would be compared with it.
    times: dict[bytes, datetime | None] = {b"": None}
    parse_time = datetime.fromisoformat
    states = STATUS_BYTES
    legs = _LEG_BYTES
    bad = _BAD
    builder = _ReportBuilder
    report_class = StatusReport

    def shaped(items: list[ShapedItem], reports: list[StatusReport]) -> bool:
        # One loop over a window's items: a call and a match object per item cost
        # more than a quarter of the decode.
        append = reports.append
        try:
            for _, id_sms, time_raw, sms, viber, state in items:
                time = times.get(time_raw, bad)
                if time is bad:
                    time = parse_time(time_raw.decode())
                    if tz is not None:
                        time = _zoned(time, time.time(), tz)
                    times[time_raw] = time
                report: Any = builder()
                report.id_sms = int(id_sms)
                report.time = time
                report.state = states[state]
                report.sms = legs[sms]
                report.viber = legs[viber]
                report.__class__ = report_class
                append(report)
        except (KeyError, ValueError):
            # KeyError: not a status; ValueError: an id longer than int() converts,
            # or a time of the right shape that is no real date-time.
            return False
        return True

    return shaped


def read_id(value: Any) -> int:
    """An `id_sms` from its wire value (digits, maybe blank-padded, or a JSON int
    >= 0); raises `ValueError` naming what is wrong with any other value."""
    if value is None:
        raise _BadField("id_sms: missing")
    if value.__class__ is int:
        if value < 0:
            raise _BadField(f"id_sms: must not be negative, got {_show(value)}")
        return int(value)
    if value.__class__ is BigInt:
        if value.startswith("-"):
            raise _BadField(f"id_sms: must not be negative, got {_show(value)}")
        raise _BadField(f"id_sms: too long ({len(value)} digits)")
    if value.__class__ is not str:
        raise _BadField(f"id_sms: expected decimal digits, got {_describe(value)}")
    digits = value.strip(_BLANKS)
    if not (digits.isascii() and digits.isdigit()):
        raise _BadField(f"id_sms: expected decimal digits, got {_show(value)}")
    try:
        return int(digits)
    except ValueError:  # more digits than int() will convert
        raise _BadField(f"id_sms: too long ({len(digits)} digits)") from None


def _time_shaped(text: str) -> bool:
    return text.encode("utf-8", "surrogatepass").translate(_ZERO_DIGITS) == _TIME_SHAPE


def _time_reason(text: str) -> str:
    """Why `text` is not a time: of the wrong shape, or of the right shape but
    naming no date-time (the cache keeps one mark for both, so it is told here)."""
    if _time_shaped(text.strip(_BLANKS)):
        return f"time: {_show(text)} is not a date-time that exists"
    return _WRONG_TIME + _show(text)


def _read_status(field: str, value: Any) -> Status | None:
    if value is None:
        return None
    if value.__class__ is str:
        name = value.strip(_BLANKS)
        if not name:
            return None
        if name in _STATUS:
            return _STATUS[name]
    raise _BadField(f"{field}: expected one of {_STATUS_NAMES}; got {_describe(value)}")


def _describe(value: Any) -> str:
    if value.__class__ is str:
        return _show(value)
    kind = {
        bool: "a boolean",
        int: "a number",
        BigInt: "a number",
        float: "a number",
        list: "an array",
    }
    return f"{kind.get(value.__class__, 'an object')} {_show(value)}"


def _show(value: Any) -> str:
    """`value` for a reason string, cut short: reasons are logged and displayed, and
    must not repeat an unbounded input."""
    text = repr(value)
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 6] + "…" + text[-5:]
    return text
