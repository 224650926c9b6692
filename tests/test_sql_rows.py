"""smsstatus.sql's rows (`rows_of`): each time's columns, written out for speed in
the loop, against the straightforward conversion (`astimezone(timezone.utc)`), on
both dialects, without a database.

The times are drawn near the transitions of zones with DST (Moscow's own history,
Berlin, New York: gaps and folds, both folds), at the ends of datetime's range, in
fixed offsets and naive, with and without microseconds, several zones in one call.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from smsstatus import Status, StatusReport
from smsstatus.sql._dialect import Dialect
from smsstatus.sql._postgres import PostgreSQL
from smsstatus.sql._rows import rows_of
from smsstatus.sql._sqlite import SQLite

MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# Wall clocks where each zone's offset changed: a gap (the clock jumped forward) or
# a fold (it went back), and Moscow's last two changes of offset for good.
TRANSITIONS = {
    MOSCOW: [
        datetime(1919, 7, 1, 0, 0),
        datetime(1991, 3, 31, 2, 0),
        datetime(2010, 3, 28, 2, 0),
        datetime(2010, 10, 31, 3, 0),
        datetime(2011, 3, 27, 2, 0),
        datetime(2014, 10, 26, 2, 0),
    ],
    BERLIN: [datetime(2026, 3, 29, 2, 0), datetime(2026, 10, 25, 3, 0)],
    NEW_YORK: [datetime(2026, 3, 8, 2, 0), datetime(2026, 11, 1, 2, 0)],
}
FIXED = [
    timezone.utc,
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=-12)),
    timezone(timedelta(hours=5, minutes=30)),
]
DIALECTS = [SQLite(), PostgreSQL()]

near_transitions = st.sampled_from(list(TRANSITIONS)).flatmap(
    lambda zone: st.tuples(
        st.just(zone),
        st.sampled_from(TRANSITIONS[zone]),
        st.integers(-3 * 3600, 3 * 3600),
    ).map(lambda drawn: drawn[1].replace(tzinfo=drawn[0]) + _seconds(drawn[2]))
)
edges = st.sampled_from(
    [datetime(1, 1, 1), datetime(1, 1, 1, 12), datetime(9999, 12, 31, 23, 59, 59)]
).flatmap(
    lambda wall: st.sampled_from([*TRANSITIONS, *FIXED]).map(
        lambda zone: wall.replace(tzinfo=zone)
    )
)
anywhere = st.datetimes(
    min_value=datetime(1, 1, 1),
    max_value=datetime(9999, 12, 31, 23, 59, 59),
    timezones=st.none() | st.sampled_from([*TRANSITIONS, *FIXED]),
    allow_imaginary=True,
)


def _seconds(count: int) -> timedelta:
    return timedelta(seconds=count)


@st.composite
def times(draw: st.DrawFn) -> datetime:
    time: datetime = draw(st.one_of(near_transitions, edges, anywhere))
    return time.replace(
        fold=draw(st.sampled_from([0, 1])),
        microsecond=draw(st.sampled_from([0, 0, 1, 999_999])),
    )


def expected_columns(dialect: Dialect, time: datetime) -> tuple[Any, int | None] | None:
    """The `time` and `time_offset` columns of `time`, the straightforward way; None
    when its UTC instant is out of datetime's range."""
    time = time.replace(microsecond=0)
    delta = time.utcoffset()
    if delta is None:
        return dialect.bind_time(time), None
    try:
        utc = time.astimezone(timezone.utc)
    except OverflowError:
        return None
    return dialect.bind_time(utc.replace(tzinfo=None)), delta // timedelta(seconds=1)


@pytest.mark.parametrize("dialect", DIALECTS, ids=["sqlite", "postgresql"])
@given(st.lists(times(), min_size=1, max_size=12))
@example([datetime(2014, 10, 26, 1, 30, tzinfo=MOSCOW, fold=1)])
@example([datetime(2010, 3, 28, 2, 30, tzinfo=MOSCOW)])  # in the gap
@example([datetime(9999, 12, 31, 23, 59, 59, tzinfo=NEW_YORK)])  # past 9999 in UTC
@example([datetime(1, 1, 1, tzinfo=MOSCOW), datetime(1, 1, 1)])  # before year 1
def test_each_time_s_columns_are_its_utc_instant_and_offset(
    dialect: Dialect, drawn: list[datetime]
) -> None:
    reports = [StatusReport(n, time, Status.DELIVER) for n, time in enumerate(drawn)]
    taken, rows = rows_of(dialect, reports)
    expected = {
        n: columns
        for n, time in enumerate(drawn)
        if (columns := expected_columns(dialect, time)) is not None
    }
    assert taken == expected.keys()
    assert rows == [
        (n, *columns, "deliver", None, None) for n, columns in expected.items()
    ]


@pytest.mark.parametrize("dialect", DIALECTS, ids=["sqlite", "postgresql"])
def test_a_document_across_a_transition_keeps_each_time_s_offset(
    dialect: Dialect,
) -> None:
    # Berlin's clock went back at 03:00 on 2026-10-25: 02:30 twice, +02:00 then
    # +01:00; the same offsets (and the same time object) come again in turn.
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    second = first.replace(fold=1)
    later = datetime(2026, 10, 25, 4, 0, tzinfo=BERLIN)
    drawn = [first, second, later, first, second]
    reports = [StatusReport(n, time, Status.READ) for n, time in enumerate(drawn)]
    _, rows = rows_of(dialect, reports)
    bound = dialect.bind_time
    assert [row[1:3] for row in rows] == [
        (bound(datetime(2026, 10, 25, 0, 30)), 7200),
        (bound(datetime(2026, 10, 25, 1, 30)), 3600),
        (bound(datetime(2026, 10, 25, 3, 0)), 3600),
        (bound(datetime(2026, 10, 25, 0, 30)), 7200),
        (bound(datetime(2026, 10, 25, 1, 30)), 3600),
    ]


class _Offset(tzinfo):
    """A zone whose utcoffset returns whatever it is given."""

    def __init__(self, offset: object) -> None:
        self.offset = offset

    def utcoffset(self, dt: datetime | None) -> Any:
        return self.offset


@pytest.mark.parametrize(
    ("offset", "error"),
    [
        (timedelta(hours=24), "strictly between"),
        (timedelta(hours=-25), "strictly between"),
        (3600, "must return None or timedelta, not 'int'"),
        ([3600], "must return None or timedelta, not 'list'"),
    ],
)
def test_a_zone_s_wrong_offset_raises_as_datetime_raises_it(
    offset: object, error: str
) -> None:
    time = datetime(2026, 1, 1, tzinfo=_Offset(offset))
    with pytest.raises((ValueError, TypeError), match=error) as expected:
        time.utcoffset()
    for dialect in DIALECTS:
        with pytest.raises(expected.type, match=error):
            rows_of(dialect, [StatusReport(1, time, Status.READ)])
