"""The per-item rules, shared by the XML and the JSON decoder.

Both decoders pull the five raw field values out of an item (strings from XML; any
JSON value from JSON; None where a field is absent) and hand them to
`ItemReader.read`.  It has a fast path for well-formed items, which is nearly all of
them: each test there is one cheap C-level call, and the report is built without
re-running the model's validators.  Anything unusual, even an input that turns out
fine (an id with spaces around it), goes to `_careful`, which applies the rules one
field at a time and names the first bad field and its value.  The rules live here
once, for both formats, and the hot loop stays short.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from ._model import ReportError, Status, StatusReport, _unchecked_report

__all__ = ["ItemReader", "read_id"]

_STATUS = {status.value: status for status in Status}
_STATUS_NAMES = ", ".join(_STATUS)
_TIME_SHAPE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", re.ASCII).fullmatch
_SHOWN_CHARS = 60
# Marks, in the per-document time cache, a string that is not a valid time.
_BAD: Any = object()

Raw = str | Callable[[], str]


class _BadField(ValueError):
    """Carries the reason an item was refused out of the careful path."""


class ItemReader:
    """Turns the raw fields of one document's items into reports.

    One reader serves one document.  It caches parsed times, since a batch repeats
    the same few seconds over and over, and holds the caller's `tz`; nothing is shared
    between documents.
    """

    __slots__ = ("_times", "_tz")

    def __init__(self, tz: tzinfo | None) -> None:
        self._tz = tz
        self._times: dict[str, Any] = {"": None}

    def read(
        self,
        index: int,
        id_raw: Any,
        time_raw: Any,
        state_raw: Any,
        sms_raw: Any,
        viber_raw: Any,
        raw: Raw,
    ) -> StatusReport | ReportError:
        """The item's report, or the `ReportError` saying why it is not one.

        `raw` is the item as text, or a callable that makes it: only an error needs
        it, so a decoder can skip building it for good items.
        """
        try:
            if id_raw.__class__ is str and id_raw.isascii() and id_raw.isdigit():
                id_sms = int(id_raw)
            elif id_raw.__class__ is int and id_raw >= 0:
                id_sms = id_raw
            else:
                raise _BadField
            if time_raw is None:
                time = None
            elif time_raw.__class__ is str:
                time = self._times.get(time_raw, _BAD)
                if time is _BAD:
                    time = self._parse_time(time_raw)
                    if time is _BAD:
                        raise _BadField
            else:
                raise _BadField
            state = _STATUS[state_raw] if state_raw.__class__ is str else None
            sms = None if sms_raw is None or sms_raw == "" else _STATUS[sms_raw]
            viber = None if viber_raw is None or viber_raw == "" else _STATUS[viber_raw]
        except (_BadField, KeyError, TypeError, ValueError):
            # ValueError: an id longer than int() converts; TypeError: an unhashable
            # JSON value looked up as a status.
            return self._careful(
                index, id_raw, time_raw, state_raw, sms_raw, viber_raw, raw
            )
        if state is None:
            return self._careful(
                index, id_raw, time_raw, state_raw, sms_raw, viber_raw, raw
            )
        return _unchecked_report(id_sms, time, state, sms, viber)

    def _time(self, text: str) -> Any:
        return self._times[text] if text in self._times else self._parse_time(text)

    def _parse_time(self, text: str) -> Any:
        value = _BAD
        if _TIME_SHAPE(text):
            try:
                value = datetime.fromisoformat(text)
            except ValueError:
                pass  # the right shape, but not a real date-time (February 30)
            else:
                if self._tz is not None:
                    value = value.replace(tzinfo=self._tz)
        self._times[text] = value
        return value

    def _careful(
        self,
        index: int,
        id_raw: Any,
        time_raw: Any,
        state_raw: Any,
        sms_raw: Any,
        viber_raw: Any,
        raw: Raw,
    ) -> StatusReport | ReportError:
        id_sms = None
        try:
            id_sms = read_id(id_raw)
            if time_raw is None:
                time = None
            elif (
                time_raw.__class__ is not str or (time := self._time(time_raw)) is _BAD
            ):
                raise _BadField(
                    "time: expected 'YYYY-MM-DD HH:MM:SS' or empty, "
                    f"got {_show(time_raw)}"
                )
            state = _read_status("state", state_raw)
            if state is None:
                raise _BadField("state: missing")
            sms = _read_status("sms", sms_raw)
            viber = _read_status("viber", viber_raw)
        except _BadField as exc:
            text = raw() if callable(raw) else raw
            return ReportError(index=index, id_sms=id_sms, reason=str(exc), raw=text)
        return _unchecked_report(id_sms, time, state, sms, viber)


def read_id(value: Any) -> int:
    """An `id_sms` from its wire value (digits, maybe blank-padded, or a JSON int
    >= 0); raises `ValueError` naming what is wrong with any other value."""
    if value is None:
        raise _BadField("id_sms: missing")
    if value.__class__ is int:
        if value < 0:
            raise _BadField(f"id_sms: must not be negative, got {_show(value)}")
        return int(value)
    if value.__class__ is not str:
        raise _BadField(f"id_sms: expected decimal digits, got {_describe(value)}")
    digits = value.strip()
    if not (digits.isascii() and digits.isdigit()):
        raise _BadField(f"id_sms: expected decimal digits, got {_show(value)}")
    try:
        return int(digits)
    except ValueError:  # more digits than int() will convert
        raise _BadField(f"id_sms: too long ({len(digits)} digits)") from None


def _read_status(field: str, value: Any) -> Status | None:
    if value is None or value == "":
        return None
    if value.__class__ is str and value in _STATUS:
        return _STATUS[value]
    raise _BadField(f"{field}: expected one of {_STATUS_NAMES}; got {_describe(value)}")


def _describe(value: Any) -> str:
    if value.__class__ is str:
        return _show(value)
    kind = {bool: "a boolean", int: "a number", float: "a number", list: "an array"}
    return f"{kind.get(value.__class__, 'an object')} {_show(value)}"


def _show(value: Any) -> str:
    """`value` for a reason string, cut short: reasons are logged and displayed, and
    must not repeat an unbounded input."""
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than repr() will write
        return "a very long number"
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 6] + "…" + text[-5:]
    return text
