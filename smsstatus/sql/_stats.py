"""`StatusTable.stats`: how the messages first seen in each slice of time are doing.

Strategy
--------
One ``SELECT ... GROUP BY`` does all the counting in the database: it reads the rows
whose ``seen_at`` falls in the range (a range scan of the index on ``seen_at``, so the
size of the rest of the table does not matter) and returns one count per (slice,
latest state, time-to-final class).  That is at most slices x 6 states x 10 classes
small rows, which Python folds into `Bucket`s, adding the slices nobody was seen in.

One statement reads one snapshot of the table (PostgreSQL and SQLite both give a
statement a consistent view), so the figures equal a recount of the rows as they
were at that instant, however many writers are at work.

The slice of a row is computed by the database from the Unix time of ``seen_at``,
aligned to 00:00 UTC, which the Unix epoch is.  On PostgreSQL, ``date_part`` (a
double) rather than ``extract`` (a numeric, twice as slow here): a double holds a
Unix time to a fraction of a microsecond, and a time on a slice's edge or a duration
of whole seconds exactly, so the classing is exact.  SQLite keeps times as text: its
slices come from whole seconds (the edges are whole seconds), its durations are
measured to the millisecond (the precision of its clock).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import attrs

from smsstatus._model import _FINAL, Status

from ._dialect import FINAL_STATES, dialect_of
from ._sqlite import SQLite

__all__ = ["Bucket", "pending_count", "stats"]

# The time-to-final classes: each counts the durations below its bound (seconds) and
# at or above the previous one; "more" the rest.
_BOUNDS = (
    ("10s", 10),
    ("30s", 30),
    ("1m", 60),
    ("5m", 300),
    ("15m", 900),
    ("1h", 3600),
    ("6h", 6 * 3600),
    ("24h", 24 * 3600),
)
TO_FINAL = (*(key for key, _ in _BOUNDS), "more")
_DAY = 24 * 3600
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DELIVERED = (Status.DELIVER, Status.READ)


def _frozen_states(value: Mapping[Status, int]) -> Mapping[Status, int]:
    return MappingProxyType({status: value.get(status, 0) for status in Status})


def _frozen_to_final(value: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType({key: value.get(key, 0) for key in TO_FINAL})


@attrs.frozen
class Bucket:
    """One slice of `StatusTable.stats`: the messages first seen in it, and how they
    are doing now.

    `start` is the slice's beginning (aware, UTC, aligned to the slice size from
    00:00 UTC); `states` maps every `Status` to how many of those messages are in it
    now (it sums to `messages`); `to_final` maps each class of time from first seen
    to first final status (``"10s"``, ``"30s"``, ``"1m"``, ``"5m"``, ``"15m"``,
    ``"1h"``, ``"6h"``, ``"24h"``, ``"more"``, in that order; each counts durations
    below its bound and at or above the previous one) to how many of the final ones
    took that long.
    """

    start: datetime
    messages: int
    states: Mapping[Status, int] = attrs.field(converter=_frozen_states)
    to_final: Mapping[str, int] = attrs.field(converter=_frozen_to_final)

    @property
    def final(self) -> int:
        """How many messages are in a final state."""
        return sum(self.states[status] for status in _FINAL)

    @property
    def delivered(self) -> int:
        """How many messages are delivered (``deliver`` or ``read``)."""
        return sum(self.states[status] for status in _DELIVERED)

    @property
    def delivery_rate(self) -> float | None:
        """`delivered` / `messages`, or None when there are no messages."""
        return self.delivered / self.messages if self.messages else None


def _check(bucket: timedelta, since: datetime, until: datetime | None) -> int:
    """The slice size in seconds, after checking the arguments."""
    seconds = bucket.total_seconds()
    if seconds < 60 or bucket % timedelta(seconds=1) or _DAY % int(seconds):
        raise ValueError(
            "bucket must divide a day into whole slices of at least a minute "
            f"(such as 1m, 5m, 1h, 1d), not {bucket}"
        )
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.utcoffset() is None:
            raise ValueError(f"{name} must be an aware datetime, not {value!r}")
    return int(seconds)


def _slice_of(moment: datetime, size: int) -> int:
    """The number of the slice holding `moment`, counted from the epoch."""
    return int((moment - _EPOCH) // timedelta(seconds=size))


def _query(
    table: str, *, slice_of: str, duration: str, below: str, mark: str, tag: bool
) -> str:
    """The counting statement.  The inner query computes each row's slice and time
    to final once (``LIMIT -1`` keeps SQLite from merging it into the outer one,
    which would compute the duration again for each bound); the outer one classes
    the durations (`below` tests ``took`` against ``{seconds}``) and counts."""
    cases = " ".join(
        f"WHEN {below.format(seconds=bound)} THEN {index}"
        for index, (_, bound) in enumerate(_BOUNDS)
    )
    return (
        f"SELECT slice, state, CASE WHEN took IS NULL THEN NULL {cases}"
        f" ELSE {len(_BOUNDS)} END, count(*) FROM (SELECT {slice_of} AS slice, state,"
        f" CASE WHEN state IN ({FINAL_STATES}) THEN {duration} END AS took"
        f" FROM {table} WHERE seen_at >= {mark} AND seen_at < {mark}"
        + (f" AND tag = {mark}" if tag else "")
        + (" LIMIT -1" if mark == "?" else "")
        + ") AS r GROUP BY 1, 2, 3"
    )


# Per driver, with and without a tag.  The parameters: the first slice's start in
# Unix seconds, the slice size, the range's two ends, the tag.
_SQLITE_QUERY = {
    tag: _query(
        "{table}",
        slice_of="(CAST(strftime('%s', seen_at) AS INTEGER) - ?) / ?",
        duration="round((julianday(final_at) - julianday(seen_at)) * 86400000)",
        below="took < {seconds}000",
        mark="?",
        tag=tag,
    )
    for tag in (False, True)
}
_POSTGRESQL_QUERY = {
    tag: _query(
        "{table}",
        slice_of="floor((date_part('epoch', seen_at) - %s) / %s)::bigint",
        duration="date_part('epoch', final_at - seen_at)",
        below="took < {seconds}",
        mark="%s",
        tag=tag,
    )
    for tag in (False, True)
}


def stats(
    connection: Any,
    table: str,
    *,
    since: datetime,
    until: datetime | None = None,
    bucket: timedelta = timedelta(hours=1),
    tag: str | None = None,
) -> list[Bucket]:
    """`StatusTable.stats` for the table named `table` (see there)."""
    size = _check(bucket, since, until)
    dialect = dialect_of(connection)  # TypeError for a connection of another driver
    sqlite = isinstance(dialect, SQLite)
    with dialect.transaction(connection, write=False) as cursor:
        if until is None:
            until = dialect.now(cursor)
        first, last = _slice_of(since, size), _slice_of(until, size)
        if last < first:
            return []
        start = _EPOCH + timedelta(seconds=first * size)
        end = _EPOCH + timedelta(seconds=(last + 1) * size)
        query = (_SQLITE_QUERY if sqlite else _POSTGRESQL_QUERY)[tag is not None]
        parameters = (
            first * size,
            size,
            dialect.bind_clock(start),
            dialect.bind_clock(end),
            *(() if tag is None else (tag,)),
        )
        cursor.execute(query.format(table=table), parameters)
        rows = cursor.fetchall()
    counts: list[tuple[dict[Status, int], dict[str, int]]] = [
        ({}, {}) for _ in range(last - first + 1)
    ]
    for index, state, class_, count in rows:
        states, to_final = counts[index]
        status = Status(state)
        states[status] = states.get(status, 0) + count
        if class_ is not None:
            key = TO_FINAL[class_]
            to_final[key] = to_final.get(key, 0) + count
    return [
        Bucket(
            start + timedelta(seconds=index * size),
            sum(states.values()),
            states,
            to_final,
        )
        for index, (states, to_final) in enumerate(counts)
    ]


def pending_count(connection: Any, table: str, *, older_than: timedelta) -> int:
    """How many ids `StatusTable.pending` would list (not final, no change for
    `older_than`), counted by the database."""
    dialect = dialect_of(connection)
    with dialect.transaction(connection, write=False) as cursor:
        cutoff = dialect.bind_clock(dialect.now(cursor) - older_than)
        found = dialect.execute(
            cursor,
            f"SELECT count(*) FROM {table} WHERE state NOT IN ({FINAL_STATES})"
            " AND changed_at <= %s",
            [cutoff],
        )
        (count,) = found.fetchone()
    return int(count)
