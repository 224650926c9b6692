"""The model: statuses, reports, errors, batches and limits."""

from __future__ import annotations

import copy
import pickle
from datetime import date, datetime, timezone

import attrs
import pytest

import smsstatus
from smsstatus import (
    Batch,
    Channel,
    DecodeError,
    Format,
    Limits,
    PayloadTooLarge,
    ReportError,
    SmsStatusError,
    Status,
    StatusReport,
    UnsafePayload,
    decode,
)

WHEN = datetime(2011, 1, 1, 12, 57, 46)

FINAL = {Status.NOT_DELIVER, Status.EXPIRED, Status.READ}
RANK = {
    Status.SEND: 0,
    Status.PARTLY_DELIVER: 1,
    Status.DELIVER: 2,
    Status.NOT_DELIVER: 3,
    Status.EXPIRED: 3,
    Status.READ: 3,
}


def test_status_values_are_the_wire_strings() -> None:
    assert {s.name: s.value for s in Status} == {
        "SEND": "send",
        "NOT_DELIVER": "not_deliver",
        "EXPIRED": "expired",
        "DELIVER": "deliver",
        "READ": "read",
        "PARTLY_DELIVER": "partly_deliver",
    }
    assert Status("partly_deliver") is Status.PARTLY_DELIVER


def test_channel_and_format_values() -> None:
    assert [c.value for c in Channel] == ["sms", "viber"]
    assert [f.value for f in Format] == ["xml", "json"]


@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.value)
def test_status_is_final_and_is_delivered(status: Status) -> None:
    assert status.is_final is (status in FINAL)
    assert status.is_delivered is (status in {Status.DELIVER, Status.READ})


@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.value)
def test_report_is_final_follows_state(status: Status) -> None:
    other = Status.SEND if status.is_final else Status.READ
    report = StatusReport(1, None, status, sms=other, viber=other)
    assert report.is_final is status.is_final


def test_report_fields_and_defaults() -> None:
    report = StatusReport(4007, WHEN, Status.DELIVER)
    assert (report.id_sms, report.time, report.state) == (4007, WHEN, Status.DELIVER)
    assert report.sms is None
    assert report.viber is None
    by_name = StatusReport(
        id_sms=4008,
        time=None,
        state=Status.READ,
        sms=Status.NOT_DELIVER,
        viber=Status.READ,
    )
    assert by_name.sms is Status.NOT_DELIVER
    assert by_name.viber is Status.READ


def test_report_leg() -> None:
    report = StatusReport(
        1, None, Status.READ, sms=Status.NOT_DELIVER, viber=Status.READ
    )
    assert report.leg(Channel.SMS) is Status.NOT_DELIVER
    assert report.leg("viber") is Status.READ
    assert StatusReport(1, None, Status.SEND).leg("sms") is None
    with pytest.raises(ValueError, match="fax"):
        report.leg("fax")


@pytest.mark.parametrize(
    "changes",
    [
        {"id_sms": -1},
        {"id_sms": "1"},
        {"id_sms": 1.0},
        {"id_sms": True},
        {"id_sms": None},
        {"time": "2011-01-01 12:57:46"},
        {"time": date(2011, 1, 1)},
        {"time": 0},
        {"state": "deliver"},
        {"state": None},
        {"sms": "deliver"},
        {"viber": "read"},
        {"sms": Channel.SMS},
    ],
    ids=repr,
)
def test_report_validators(changes: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "id_sms": 1,
        "time": WHEN,
        "state": Status.SEND,
        **changes,
    }
    with pytest.raises((TypeError, ValueError)):
        StatusReport(**fields)  # type: ignore[arg-type]


def test_report_accepts_aware_times_and_huge_ids() -> None:
    when = WHEN.replace(tzinfo=timezone.utc)
    assert StatusReport(10**40, when, Status.SEND).time is when


def test_report_is_frozen() -> None:
    report = StatusReport(1, WHEN, Status.SEND)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        report.state = Status.READ  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        report.extra = 1  # type: ignore[attr-defined]
    assert not hasattr(report, "__dict__")  # slotted


def test_report_equality_and_hash() -> None:
    a = StatusReport(1, WHEN, Status.DELIVER, sms=Status.DELIVER)
    b = StatusReport(1, WHEN, Status.DELIVER, sms=Status.DELIVER)
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    for other in (
        attrs.evolve(a, id_sms=2),
        attrs.evolve(a, time=None),
        attrs.evolve(a, state=Status.READ),
        attrs.evolve(a, sms=None),
        attrs.evolve(a, viber=Status.DELIVER),
    ):
        assert other != a
    same_fields: object = (1, WHEN, Status.DELIVER, Status.DELIVER, None)
    assert a != same_fields


def test_report_copies_and_pickles() -> None:
    report = StatusReport(1, WHEN, Status.DELIVER, viber=Status.READ)
    assert copy.deepcopy(report) == report
    assert pickle.loads(pickle.dumps(report)) == report


def test_report_made_by_the_decoder_equals_one_made_by_hand() -> None:
    (decoded,) = decode(
        b'<response><state id_sms="1" time="">send</state></response>'
    ).reports
    made = StatusReport(1, None, Status.SEND)
    assert decoded == made
    assert hash(decoded) == hash(made)
    assert repr(decoded) == repr(made)
    assert attrs.evolve(decoded, state=Status.READ) == StatusReport(
        1, None, Status.READ
    )


# --- supersedes ---------------------------------------------------------------


@pytest.mark.parametrize("new", list(Status), ids=lambda s: s.value)
@pytest.mark.parametrize("old", list(Status), ids=lambda s: s.value)
def test_supersedes_every_pair(old: Status, new: Status) -> None:
    previous = StatusReport(5, WHEN, old)
    report = StatusReport(5, None, new)
    assert report.supersedes(previous) is (RANK[new] > RANK[old])


def test_supersedes_spot_checks() -> None:
    def r(state: Status) -> StatusReport:
        return StatusReport(5, None, state)

    assert r(Status.DELIVER).supersedes(r(Status.SEND))
    assert r(Status.READ).supersedes(r(Status.DELIVER))
    assert not r(Status.DELIVER).supersedes(r(Status.DELIVER))  # a duplicate
    assert not r(Status.SEND).supersedes(r(Status.DELIVER))  # late arrival
    assert not r(Status.READ).supersedes(r(Status.EXPIRED))  # final stays
    assert not r(Status.PARTLY_DELIVER).supersedes(r(Status.NOT_DELIVER))


@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.value)
def test_anything_supersedes_nothing(status: Status) -> None:
    assert StatusReport(5, None, status).supersedes(None) is True


def test_supersedes_ignores_time_and_legs() -> None:
    older = StatusReport(5, datetime(2030, 1, 1), Status.SEND, sms=Status.READ)
    newer = StatusReport(5, datetime(2000, 1, 1), Status.DELIVER)
    assert newer.supersedes(older)
    assert not older.supersedes(newer)


def test_supersedes_refuses_another_message() -> None:
    with pytest.raises(ValueError, match="different messages") as info:
        StatusReport(5, None, Status.READ).supersedes(
            StatusReport(6, None, Status.SEND)
        )
    assert not isinstance(info.value, DecodeError)


# --- ReportError, Batch, Limits ------------------------------------------------


def test_report_error_fields_and_frozen() -> None:
    error = ReportError(index=3, id_sms=None, reason="id_sms: missing", raw="<state/>")
    assert error == ReportError(3, None, "id_sms: missing", "<state/>")
    assert hash(error) == hash(ReportError(3, None, "id_sms: missing", "<state/>"))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        error.index = 4  # type: ignore[misc]


def test_batch_fields_and_frozen() -> None:
    report = StatusReport(1, None, Status.SEND)
    batch = Batch(format=Format.XML, reports=(report,), errors=())
    assert batch == Batch(Format.XML, (report,), ())
    assert batch != Batch(Format.JSON, (report,), ())
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        batch.reports = ()  # type: ignore[misc]


def test_limits_defaults() -> None:
    assert Limits() == Limits(max_bytes=16 * 1024 * 1024, max_reports=100_000)


@pytest.mark.parametrize("field", ["max_bytes", "max_reports"])
@pytest.mark.parametrize("value", [0, -1, 1.5, 10.0, True, "10", None])
def test_limits_refuse_anything_but_a_positive_int(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        Limits(**{field: value})  # type: ignore[arg-type]


def test_limits_are_frozen_and_keyword_friendly() -> None:
    limits = Limits(max_reports=1, max_bytes=1)
    assert (limits.max_bytes, limits.max_reports) == (1, 1)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        limits.max_bytes = 2  # type: ignore[misc]


# --- the error family -----------------------------------------------------------


def test_error_family() -> None:
    assert issubclass(SmsStatusError, Exception)
    assert issubclass(DecodeError, SmsStatusError)
    assert issubclass(DecodeError, ValueError)
    assert issubclass(PayloadTooLarge, DecodeError)
    assert issubclass(UnsafePayload, DecodeError)
    assert not issubclass(PayloadTooLarge, UnsafePayload)


def test_public_names_have_docstrings() -> None:
    for name in smsstatus.__all__:
        if name == "__version__":
            continue
        assert getattr(smsstatus, name).__doc__, name
    assert smsstatus.__version__ == "0.2.0"
