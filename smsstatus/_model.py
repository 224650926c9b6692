"""The typed model: statuses, reports, per-item errors, batches and limits."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

__all__ = [
    "Batch",
    "Channel",
    "Format",
    "Limits",
    "ReportError",
    "Status",
    "StatusReport",
]


class Status(enum.Enum):
    """A delivery status, as the gateway spells it on the wire."""

    SEND = "send"
    NOT_DELIVER = "not_deliver"
    EXPIRED = "expired"
    DELIVER = "deliver"
    READ = "read"
    PARTLY_DELIVER = "partly_deliver"

    @property
    def is_final(self) -> bool:
        """True for the statuses the gateway calls final: they never change again."""
        return self in _FINAL

    @property
    def is_delivered(self) -> bool:
        """True when the message reached the subscriber (`DELIVER` or `READ`)."""
        return self is Status.DELIVER or self is Status.READ


_FINAL = frozenset({Status.NOT_DELIVER, Status.EXPIRED, Status.READ})

# How far along a message is.  All final states share the top rank: once one has
# been stored, nothing replaces it.
_RANK = {
    Status.SEND: 0,
    Status.PARTLY_DELIVER: 1,
    Status.DELIVER: 2,
    Status.NOT_DELIVER: 3,
    Status.EXPIRED: 3,
    Status.READ: 3,
}


class Channel(enum.Enum):
    """A delivery leg of a message."""

    SMS = "sms"
    VIBER = "viber"


class Format(enum.Enum):
    """A wire format of the gateway: XML or JSON."""

    XML = "xml"
    JSON = "json"


def _check_id(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int or value < 0:
        raise ValueError(f"id_sms must be an int >= 0, got {value!r}")


_optional_status = attrs.validators.optional(attrs.validators.instance_of(Status))


class _ReportSlots:
    # Where a `StatusReport` keeps its fields: attrs reuses these slots, and
    # `_ReportBuilder` shares them (see `_unchecked_report`).
    __slots__ = ("__weakref__", "id_sms", "sms", "state", "time", "viber")


@attrs.frozen
class StatusReport(_ReportSlots):
    """One delivery status of one message, as the gateway reported it.

    `time` is when the status changed (None while no status has come back yet);
    `state` is the message's latest status and `sms` / `viber` the status of each leg
    the gateway named.
    """

    id_sms: int = attrs.field(validator=_check_id)
    time: datetime | None = attrs.field(
        validator=attrs.validators.optional(attrs.validators.instance_of(datetime))
    )
    state: Status = attrs.field(validator=attrs.validators.instance_of(Status))
    sms: Status | None = attrs.field(default=None, validator=_optional_status)
    viber: Status | None = attrs.field(default=None, validator=_optional_status)

    @property
    def is_final(self) -> bool:
        """True when `state` is final: this message's status will not change."""
        return self.state in _FINAL

    def leg(self, channel: Channel | str) -> Status | None:
        """The status of one delivery leg (`Channel.SMS` or `Channel.VIBER`), or None
        when the gateway did not report that leg."""
        return self.sms if Channel(channel) is Channel.SMS else self.viber

    def supersedes(self, previous: StatusReport | None) -> bool:
        """Should this report replace `previous`, the one stored for the same message?

        True when nothing is stored yet or this report is strictly further along
        (send < partly_deliver < deliver < any final state).  A duplicate or a status
        arriving late never replaces a newer one, and a final one is never replaced.
        Raises `ValueError` when the two reports are about different messages.
        """
        if previous is None:
            return True
        if previous.id_sms != self.id_sms:
            raise ValueError(
                f"cannot compare reports of different messages: "
                f"id_sms {self.id_sms} and {previous.id_sms}"
            )
        return _RANK[self.state] > _RANK[previous.state]


class _ReportBuilder(_ReportSlots):
    # A `StatusReport` under construction: the same layout, but not frozen.  Made
    # by calling it, ``_ReportBuilder()``: twice as fast as ``object.__new__`` called
    # from Python, which parses its arguments as a tuple.
    __slots__ = ()


def _unchecked_report(
    id_sms: int,
    time: datetime | None,
    state: Status,
    sms: Status | None,
    viber: Status | None,
) -> StatusReport:
    """Build a `StatusReport` from values the decoder has already validated.

    The attrs ``__init__`` of a frozen class runs the validators and sets each field
    through ``object.__setattr__``; that is most of the cost of decoding an item.
    Here a new `_ReportBuilder` gets the fields by plain slot stores and then
    becomes a `StatusReport` by ``__class__`` assignment, which Python allows between
    classes that share one slot layout.  The decoders' hot paths repeat these lines
    rather than call this function.
    """
    report: Any = _ReportBuilder()
    report.id_sms = id_sms
    report.time = time
    report.state = state
    report.sms = sms
    report.viber = viber
    report.__class__ = StatusReport
    return report  # type: ignore[no-any-return]


@attrs.frozen
class ReportError:
    """One item of a batch that could not become a `StatusReport`.

    `raw` is the item itself as text (the ``<state …>…</state>`` element, or the JSON
    value), so it can be stored and looked at, or decoded again, later.
    """

    index: int
    id_sms: int | None
    reason: str
    raw: str


class _BatchSlots:
    # Where a `Batch` keeps its fields, shared with `_BatchBuilder` as for reports.
    __slots__ = ("__weakref__", "errors", "format", "reports")


@attrs.frozen
class Batch(_BatchSlots):
    """A decoded document: every item is in exactly one of `reports` and `errors`."""

    format: Format
    reports: tuple[StatusReport, ...]
    errors: tuple[ReportError, ...]


class _BatchBuilder(_BatchSlots):
    __slots__ = ()


def _decoded_batch(
    format: Format, reports: tuple[StatusReport, ...], errors: tuple[ReportError, ...]
) -> Batch:
    """A `Batch` built as `_unchecked_report` builds a report: under half the attrs
    ``__init__``'s cost, which a one-item document notices."""
    batch: Any = _BatchBuilder()
    batch.format = format
    batch.reports = reports
    batch.errors = errors
    batch.__class__ = Batch
    return batch  # type: ignore[no-any-return]


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int or value < 1:
        raise ValueError(f"{attribute.name} must be a positive int, got {value!r}")


@attrs.frozen
class Limits:
    """How much a decoder accepts before it refuses a document as `PayloadTooLarge`."""

    max_bytes: int = attrs.field(default=16 * 1024 * 1024, validator=_positive)
    max_reports: int = attrs.field(default=100_000, validator=_positive)


def _wall_clock(time: datetime | None) -> str:
    """`time` as the gateway writes it: its wall-clock fields, or "" for None.

    Written field by field: `strftime("%Y")` drops the leading zeros of years before
    1000 on some platforms, which would not read back.
    """
    if time is None:
        return ""
    return (
        f"{time.year:04d}-{time.month:02d}-{time.day:02d} "
        f"{time.hour:02d}:{time.minute:02d}:{time.second:02d}"
    )
