"""Prometheus metrics of the receive path (extra ``prometheus``): `enable` adds one
sink to the observation hook, which feeds five metrics in `prometheus_client`'s
default registry.

Strategy.  The metrics are made on the first `enable` (so that importing this module
registers nothing, and enabling twice registers nothing twice) and are plain
`prometheus_client` counters and histograms, so its multiprocess mode (gunicorn)
works as for any other metric.  The sink runs in the request: it groups a
document's reports before it touches a metric (one increment per state and outcome,
one per histogram bucket touched), keeps the labelled children it has made, and
makes a document's increments together under one lock of its own, so that
concurrent requests lose no count and its cost does not grow with the locks taken
per report.
"""

from __future__ import annotations

import collections
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from itertools import repeat
from math import inf
from operator import sub
from typing import Any

from ._observe import Document, add_sink, remove_sink

try:
    from prometheus_client import Counter, Histogram, values
except ImportError as exc:  # pragma: no cover - the test extra brings it
    raise ImportError(
        "smsstatus.metrics needs prometheus_client: pip install 'smsstatus[prometheus]'"
    ) from exc

__all__ = ["disable", "enable"]

# Upper bounds.  A receive takes a millisecond or so, a large document a second.
_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
# Up to the default `Limits.max_reports`.
_REPORTS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 100_000)
# A status usually comes back within seconds to minutes; an expiry after a day or
# more; a status recovered by polling may be weeks late.
_MINUTE, _HOUR, _DAY = 60, 3600, 86_400
_LAG = (1, 5, 15, 30, _MINUTE, 2 * _MINUTE, 5 * _MINUTE, 10 * _MINUTE, 30 * _MINUTE,
        _HOUR, 3 * _HOUR, 6 * _HOUR, _DAY, 2 * _DAY, 7 * _DAY)  # fmt: skip
_NO_TIME = timedelta(0)
_seconds = timedelta.total_seconds
# A value of a metric and what to add to it.
_Adds = list[tuple[Any, float]]
# The value `prometheus_client` keeps in one process: a float that its methods change
# under a lock of the value's own.
_PLAIN = getattr(values, "MutexValue", None)


class _Metrics:
    """The five metrics, and the sink that feeds them a `Document`."""

    def __init__(self) -> None:
        self.documents = _Counts(
            Counter(
                "smsstatus_documents",
                "Status documents answered, by format and HTTP status code.",
                ["format", "code"],
            )
        )
        self.reports = _Counts(
            Counter(
                "smsstatus_reports",
                "Items of the status documents by state and outcome: taken "
                '(acknowledged), rejected (not a valid status; state "") or '
                "not_taken.",
                ["format", "state", "outcome"],
            )
        )
        self.seconds = _Buckets(
            Histogram(
                "smsstatus_receive_seconds",
                "Time to answer one status document.",
                buckets=_SECONDS,
            )
        )
        self.sizes = _Buckets(
            Histogram(
                "smsstatus_document_reports",
                "Valid reports per decoded status document.",
                buckets=_REPORTS,
            )
        )
        self.lag = _Lags(
            Histogram(
                "smsstatus_status_lag_seconds",
                "Arrival of a report minus its own time, for aware times.",
                buckets=_LAG,
            )
        )

    def __call__(self, document: Document) -> None:
        adds: _Adds = []
        self._count(adds, document)
        _apply(adds)

    def _count(self, adds: _Adds, document: Document) -> None:
        format = document.format_name
        self.documents.add(adds, (format, str(document.code)), 1)
        self.seconds.observe(adds, document.seconds)
        batch = document.batch
        if batch is None:
            return
        reports = batch.reports
        self.sizes.observe(adds, len(reports))
        errors = batch.errors
        if errors:
            self.reports.add(adds, (format, "", "rejected"), len(errors))
        if not reports:
            return
        taken = document.taken
        # `_value_`, the member's plain attribute, rather than the `value` property;
        # and strings, not members, as the keys: a member hashes in Python.
        if not errors and len(taken) == len(reports):
            # Every report taken (the usual document): the ack holds only reports'
            # ids, and as many as there are reports.
            states: dict[str, int] = {}
            _tally(states, [r.state._value_ for r in reports])
            for state, amount in states.items():
                self.reports.add(adds, (format, state, "taken"), amount)
        else:
            took = set(taken)
            outcomes: dict[tuple[str, bool], int] = {}
            _tally(outcomes, [(r.state._value_, r.id_sms in took) for r in reports])
            for (state, was_taken), amount in outcomes.items():
                outcome = "taken" if was_taken else "not_taken"
                self.reports.add(adds, (format, state, outcome), amount)
        # A decoded document's times are all naive or all in the caller's zone:
        # the first says whether there is a lag to observe.
        first = next((t for report in reports if (t := report.time) is not None), None)
        if first is not None and first.tzinfo is not None:
            times = [time for report in reports if (time := report.time) is not None]
            self.lag.observe_times(adds, document.arrived, times)


_LOCK_ADDS = threading.Lock()


def _apply(adds: _Adds) -> None:
    """Make `adds`, under one lock for all the sink's values."""
    with _LOCK_ADDS:
        for value, amount in adds:
            if type(value) is _PLAIN:
                # Only this sink changes these values, always under this lock: the
                # value's own lock, for one increment each, would cost twice as much.
                value._value += amount
            else:  # a value in multiprocess mode, or a child of another layout
                value.inc(amount)


def _tally_in_python(counts: dict[Any, int], items: Iterable[Any]) -> None:
    for item in items:
        counts[item] = counts.get(item, 0) + 1


# `collections.Counter`'s own counting loop (in C), without its constructor's checks,
# which cost as much again for a document's states.
_tally: Callable[[dict[Any, int], Iterable[Any]], None] = getattr(
    collections, "_count_elements", _tally_in_python
)


def _lags(arrived: float, times: Sequence[datetime]) -> list[float]:
    """`arrived` minus each aware time of `times`, in seconds, one by one."""
    # A decoded document's times are all naive or all in the caller's zone: the
    # first says which.
    first = times[0] if times else None
    zone = None if first is None else first.tzinfo
    if zone is None or zone.utcoffset(first) is None:
        return []
    # Within one zone, a difference is that of the wall clocks, and the two
    # offsets correct it; the zone's own `utcoffset` is called directly, at a
    # fifth of the cost of `datetime.utcoffset` (and `timestamp()` costs three
    # times this whole line).
    offset_of = zone.utcoffset
    now = datetime.fromtimestamp(arrived, zone)
    base = _seconds(offset_of(now) or _NO_TIME)
    return [
        _seconds(now - time + (offset_of(time) or _NO_TIME)) - base
        if time.tzinfo is zone
        else arrived - time.timestamp()
        for time in times
        if time.tzinfo is not None
    ]


class _Counts:
    """A labelled counter's children, each kept as the value to add to."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self._values: dict[tuple[str, ...], Any] = {}

    def add(self, adds: _Adds, labels: tuple[str, ...], amount: int) -> None:
        value = self._values.get(labels)
        if value is None:
            # `labels()` checks and locks on every call, and `Counter.inc` checks on
            # every call what a positive count to a child made here cannot break.
            child = self.counter.labels(*labels)
            value = getattr(child, "_value", None)
            if not hasattr(value, "inc"):
                value = child
            self._values[labels] = value
        adds.append((value, amount))


class _Buckets:
    """A histogram, observed as `Histogram.observe` does, with its buckets found by
    bisection and, for many values, one increment per bucket touched."""

    def __init__(self, histogram: Histogram) -> None:
        self.histogram = histogram
        self._bounds: list[float] | None = getattr(histogram, "_upper_bounds", None)
        self._buckets: list[Any] = getattr(histogram, "_buckets", [])
        self._sum: Any = getattr(histogram, "_sum", None)
        if self._sum is None or len(self._buckets) != len(self._bounds or ()):
            self._bounds = None  # laid out otherwise than 0.17 to 0.26: `observe`

    def observe(self, adds: _Adds, value: float) -> None:
        if self._bounds is None:
            self.histogram.observe(value)
            return
        # `observe` counts a value in the first bucket whose bound is >= it.
        adds.append((self._buckets[bisect_left(self._bounds, value)], 1))
        adds.append((self._sum, value))

    def observe_all(self, adds: _Adds, values: list[float]) -> None:
        """`observe(max(value, 0))` for each of `values`: a report stamped after
        its arrival (the clocks apart) counts as no lag."""
        if self._bounds is None:
            for value in values:
                self.histogram.observe(max(value, 0.0))
            return
        values.sort()
        start = 0
        for bucket, bound in zip(self._buckets, self._bounds, strict=True):
            end = bisect_right(values, bound, start)
            if end > start:
                adds.append((bucket, end - start))
                start = end
        adds.append((self._sum, sum(values[bisect_left(values, 0.0) :])))


class _Lags(_Buckets):
    """The status-lag histogram, observed from the reports' times."""

    def __init__(self, histogram: Histogram) -> None:
        super().__init__(histogram)
        # The finite bounds as durations, in order.
        self._spans = [
            timedelta(seconds=bound) for bound in self._bounds or () if bound != inf
        ]

    def observe_times(self, adds: _Adds, arrived: float, times: list[datetime]) -> None:
        """Observe `arrived` minus each aware time of `times` (the times of a
        document's reports; `times` is reordered), 0 for a time after it."""
        zone = times[0].tzinfo
        if zone is None or zone.utcoffset(times[0]) is None:
            return  # naive times: no lag
        now = datetime.fromtimestamp(arrived, zone)
        if (
            self._bounds is None
            or [time for time in times if time.tzinfo is not zone]
            or set(map(zone.utcoffset, times)) != {zone.utcoffset(now)}
        ):
            # Another zone among them, or a change of offset (summer time) in
            # between: each lag on its own.
            self.observe_all(adds, _lags(arrived, times))
            return
        # One zone and one offset from the oldest time to the arrival: the wall
        # clocks differ as the real times do, and a time is within a bound of the
        # arrival when it is at or after `now - bound`.  So the buckets are counted
        # by bisecting the sorted times, and the sum adds exact `timedelta`s, each
        # in C, rather than a float per time in Python.
        times.sort()
        spans = self._spans
        left = len(times)  # times[:left]: not in a bucket yet, the oldest
        # From the bucket of the newest time's lag: the ones below it are empty.
        for index in range(bisect_left(spans, now - times[-1]), len(spans)):
            within = bisect_left(times, now - spans[index], 0, left)
            if within < left:
                adds.append((self._buckets[index], left - within))
                left = within
                if not left:
                    break
        if left:
            adds.append((self._buckets[-1], left))  # older than every bound: +Inf
        past = bisect_right(times, now)  # a time after the arrival adds 0
        total = sum(map(sub, repeat(now, past), times), _NO_TIME)
        adds.append((self._sum, _seconds(total)))


_METRICS: _Metrics | None = None
_LOCK = threading.Lock()


def enable() -> None:
    """Count every status document answered from now on, in `prometheus_client`'s
    default registry: ``smsstatus_documents_total{format,code}``,
    ``smsstatus_reports_total{format,state,outcome}``,
    ``smsstatus_receive_seconds``, ``smsstatus_document_reports`` and
    ``smsstatus_status_lag_seconds``.  Calling it again does nothing."""
    global _METRICS
    with _LOCK:  # registered once, whoever calls first
        if _METRICS is None:
            _METRICS = _Metrics()
    add_sink(_METRICS)


def disable() -> None:
    """Stop counting (the metrics stay registered, with their values)."""
    if _METRICS is not None:
        remove_sink(_METRICS)
