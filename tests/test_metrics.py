"""smsstatus.metrics with the real prometheus_client, in its default registry: the
counts are read as deltas, since other tests of the session may count too."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

import smsstatus
from smsstatus import StatusReport, metrics
from smsstatus._observe import SINKS, watch
from smsstatus.testing import sample_payload

ROOT = Path(__file__).parents[1]


@pytest.fixture(autouse=True)
def _sinks() -> Iterator[None]:
    saved = list(SINKS)
    yield
    SINKS[:] = saved


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def snapshot() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every smsstatus sample of the default registry, by name and labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for metric in REGISTRY.collect()
        if metric.name.startswith("smsstatus_")
        for sample in metric.samples
        if not sample.name.endswith("_created")
    }


def delta(
    before: dict[tuple[str, tuple[tuple[str, str], ...]], float],
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    after = snapshot()
    return {
        key: after[key] - before.get(key, 0.0)
        for key in after
        if after[key] != before.get(key, 0.0)
    }


def test_enable_is_idempotent_and_disable_stops_counting() -> None:
    metrics.enable()
    metrics.enable()
    assert len(SINKS) == 1
    before = value("smsstatus_documents_total", format="unknown", code="400")
    smsstatus.receive(b"hello", print)
    metrics.disable()
    metrics.disable()
    smsstatus.receive(b"hello", print)
    after = value("smsstatus_documents_total", format="unknown", code="400")
    assert after - before == 1
    assert SINKS == []


def _store_none(reports: tuple[StatusReport, ...]) -> Iterable[int]:
    return []


def _keep(error: smsstatus.ReportError) -> bool:
    return True


# (body, store, on_error): a full JSON document taken whole; an XML one with a bad
# item kept and acknowledged; one its store takes nothing of; a refused body.
GOOD_JSON = sample_payload(60, format="json", seed=1)
WITH_BAD = sample_payload(30, format="xml", seed=2, bad=1)
NOT_TAKEN = sample_payload(20, format="json", seed=3)
REFUSED = b"not a document"
DELIVERIES: list[tuple[bytes, Any, Any]] = [
    (GOOD_JSON, None, None),
    (WITH_BAD, None, _keep),
    (NOT_TAKEN, _store_none, None),
    (REFUSED, None, None),
]


def expected_deltas(
    times: int,
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """What `DELIVERIES` done `times` times adds, counted from the decoded documents
    (not through the metrics)."""
    counts: Tally[tuple[str, tuple[tuple[str, str], ...]]] = Tally()

    def add(name: str, amount: float, **labels: str) -> None:
        counts[name, tuple(sorted(labels.items()))] += amount * times

    reports_seen = 0
    for body, store, _ in DELIVERIES:
        add("smsstatus_receive_seconds_count", 1)
        try:
            batch = smsstatus.decode(body)
        except smsstatus.DecodeError:
            add("smsstatus_documents_total", 1, format="unknown", code="400")
            continue
        fmt = batch.format.value
        add("smsstatus_documents_total", 1, format=fmt, code="200")
        add("smsstatus_document_reports_count", 1)
        reports_seen += len(batch.reports)
        outcome = "not_taken" if store is _store_none else "taken"
        for report in batch.reports:
            add("smsstatus_reports_total", 1, format=fmt, state=report.state.value,
                outcome=outcome)  # fmt: skip
        if batch.errors:
            add("smsstatus_reports_total", len(batch.errors), format=fmt, state="",
                outcome="rejected")  # fmt: skip
    add("smsstatus_document_reports_sum", reports_seen)
    return dict(counts)


def test_counts_are_exact_from_8_concurrent_threads() -> None:
    metrics.enable()
    rounds = 25
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def deliver() -> None:
        try:
            start.wait()
            for _ in range(rounds):
                for body, store, on_error in DELIVERIES:
                    smsstatus.receive_batch(
                        body, store or (lambda reports: None), on_error=on_error
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    before = snapshot()
    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    changed = delta(before)
    expected = expected_deltas(8 * rounds)
    assert {key: changed.get(key) for key in expected} == expected
    # No report counted under any other labels.
    counted = {k: v for k, v in changed.items() if k[0] == "smsstatus_reports_total"}
    assert counted == {k: v for k, v in expected.items() if k in counted}
    assert sum(counted.values()) == sum(
        v for k, v in expected.items() if k[0] == "smsstatus_reports_total"
    )
    # The buckets of each histogram add up to its count.
    for name in ("smsstatus_receive_seconds", "smsstatus_document_reports"):
        inf = changed[f"{name}_bucket", (("le", "+Inf"),)]
        assert inf == expected[f"{name}_count", ()]


def test_a_report_counted_not_taken_when_its_id_was_not_acknowledged() -> None:
    metrics.enable()
    body = (
        b'[{"id_sms": "1", "time": "", "state": "send"},'
        b' {"id_sms": "2", "time": "", "state": "send"},'
        b' {"id_sms": "2", "time": "", "state": "read"}]'
    )
    before = snapshot()
    smsstatus.receive(body, lambda report: (report.id_sms == 2) and 1 / 0)
    assert delta(before) == {
        ("smsstatus_documents_total", (("code", "200"), ("format", "json"))): 1,
        (
            "smsstatus_reports_total",
            (("format", "json"), ("outcome", "taken"), ("state", "send")),
        ): 1,
        (
            "smsstatus_reports_total",
            (("format", "json"), ("outcome", "not_taken"), ("state", "send")),
        ): 1,
        (
            "smsstatus_reports_total",
            (("format", "json"), ("outcome", "not_taken"), ("state", "read")),
        ): 1,
        **_histogram_deltas("smsstatus_document_reports", 3, (5, 10, 20, 50)),
        **{
            key: amount
            for key, amount in delta(before).items()
            if key[0].startswith("smsstatus_receive_seconds")
        },
    }


def _histogram_deltas(
    name: str, observed: float, bounds: tuple[float, ...]
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples one observation of `observed` changes, given the bounds at and
    above it up to 50 (the test's values stay below)."""
    result: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {
        (f"{name}_count", ()): 1,
        (f"{name}_sum", ()): observed,
    }
    for bound in (*bounds, 100, 200, 500, 1000, 2000, 5000, 10000, 100000):
        result[f"{name}_bucket", (("le", f"{float(bound)}"),)] = 1
    result[f"{name}_bucket", (("le", "+Inf"),)] = 1
    return result


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def test_status_lag_counts_reports_with_an_aware_time_only() -> None:
    metrics.enable()
    moscow = timezone(timedelta(hours=3))
    now = datetime.now(moscow)
    body = (
        f'[{{"id_sms": "1", "time": "{_stamp(now - timedelta(hours=2))}", '
        f'"state": "deliver"}}, '
        f'{{"id_sms": "2", "time": "{_stamp(now - timedelta(seconds=40))}", '
        f'"state": "deliver"}}, '
        f'{{"id_sms": "3", "time": "", "state": "send"}}, '
        f'{{"id_sms": "4", "time": "{_stamp(now + timedelta(minutes=5))}", '
        f'"state": "deliver"}}]'
    )
    lag = "smsstatus_status_lag_seconds"
    count = value(f"{lag}_count")
    total = value(f"{lag}_sum")
    under = {le: value(f"{lag}_bucket", le=le) for le in ("1.0", "60.0", "3600.0")}
    smsstatus.receive_batch(body, lambda reports: None)  # naive: no lag
    assert value(f"{lag}_count") == count
    smsstatus.receive_batch(body, lambda reports: None, tz=moscow)
    # Three reports with a time; the one stamped 5 minutes ahead counts as 0.
    assert value(f"{lag}_count") - count == 3
    assert 7240 - 3 <= value(f"{lag}_sum") - total <= 7240 + 3
    assert value(f"{lag}_bucket", le="1.0") - under["1.0"] == 1
    assert value(f"{lag}_bucket", le="60.0") - under["60.0"] == 2
    assert value(f"{lag}_bucket", le="3600.0") - under["3600.0"] == 2
    assert value(f"{lag}_bucket", le="10800.0") - under["1.0"] >= 3


def test_status_lag_in_a_zone_with_summer_time_is_exact() -> None:
    # Times on both sides of a change of offset (Berlin, 2026-03-29 02:00 CET ->
    # 03:00 CEST), and in a zone of their own: each lag as `timestamp()` says.
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    times = [
        datetime(2026, 3, 29, 1, 59, 30, tzinfo=berlin),
        datetime(2026, 3, 29, 3, 0, 30, tzinfo=berlin),
        datetime(2026, 3, 29, 0, 10, tzinfo=timezone.utc),
    ]
    arrived = datetime(2026, 3, 29, 3, 30, tzinfo=berlin).timestamp()
    lags = metrics._lags(arrived, times)
    assert lags == pytest.approx([arrived - t.timestamp() for t in times], abs=1e-6)
    assert lags[:2] == pytest.approx([1830, 1770], abs=1e-6)


class _Floating(tzinfo):
    """A zone that knows no offset: its times are naive to Python."""

    def utcoffset(self, moment: datetime | None) -> None:
        return None

    def dst(self, moment: datetime | None) -> None:
        return None


def test_no_lag_for_times_without_an_offset() -> None:
    at = datetime(2026, 3, 29, 1, 0, tzinfo=_Floating())
    assert metrics._lags(at.replace(tzinfo=timezone.utc).timestamp(), [at]) == []
    assert metrics._lags(0.0, []) == []
    lags = _LagHistograms()
    adds: list[tuple[Any, float]] = []
    lags.bulk.observe_times(adds, 0.0, [at])
    lags.bulk.observe_times(adds, 0.0, [at.replace(tzinfo=None)])
    assert adds == []
    assert lags.samples()["bulk"] == lags.samples()["single"]


class _LagHistograms:
    """The lag histogram filled by `_Lags.observe_times` (``bulk``) and the same
    filled one value at a time by `Histogram.observe` (``single``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.bulk = metrics._Lags(
            Histogram("bulk", "b", buckets=metrics._LAG, registry=self.registry)
        )
        self.single = Histogram(
            "single", "s", buckets=metrics._LAG, registry=self.registry
        )

    def observe_both(self, arrived: float, times: list[datetime]) -> None:
        for time in times:
            if time.utcoffset() is not None:
                self.single.observe(max(arrived - time.timestamp(), 0.0))
        adds: list[tuple[Any, float]] = []
        self.bulk.observe_times(adds, arrived, list(times))
        metrics._apply(adds)

    def samples(self) -> dict[str, list[tuple[str, dict[str, str], float]]]:
        return {
            metric.name: [
                (sample.name.removeprefix(metric.name), sample.labels, sample.value)
                for sample in metric.samples
                if not sample.name.endswith("_created")
            ]
            for metric in self.registry.collect()
        }

    def assert_equal(self) -> None:
        # The sums may differ in the last bits: one adds `timedelta`s, the other
        # floats.
        samples = self.samples()
        *bulk, (_, _, bulk_sum) = samples["bulk"]
        *single, (_, _, single_sum) = samples["single"]
        assert bulk == single
        assert bulk_sum == pytest.approx(single_sum, rel=1e-12, abs=1e-6)


_ZONES = {
    "fixed": timezone(timedelta(hours=3)),
    "Moscow": ZoneInfo("Europe/Moscow"),
    "Berlin": ZoneInfo("Europe/Berlin"),
    "New York": ZoneInfo("America/New_York"),
}


@pytest.mark.parametrize("zone", list(_ZONES.values()), ids=list(_ZONES))
def test_status_lag_at_each_bound_and_either_side_of_it(zone: tzinfo) -> None:
    # Lags exactly at each bound go in its bucket, a microsecond more in the next;
    # a time after the arrival counts as 0.  The arrival is a whole microsecond, as
    # `datetime.fromtimestamp` rounds it.
    now = datetime(2026, 7, 1, 12, 0, tzinfo=zone)
    arrived = now.timestamp()
    micro = timedelta(microseconds=1)
    times = [now + timedelta(minutes=5), now, now + micro]
    for bound in metrics._LAG:
        at = now - timedelta(seconds=bound)
        times += [at, at - micro, at + micro]
    lags = _LagHistograms()
    lags.observe_both(arrived, times)
    lags.assert_equal()
    for time in times:  # each the newest of its document
        lags.observe_both(arrived, [time])
    lags.assert_equal()
    bucket = {
        labels["le"]: count
        for suffix, labels, count in lags.samples()["bulk"]
        if suffix == "_bucket"
    }
    # Twice: the two future times, now, and 1 s and 1 s - 1 µs ago.
    assert bucket["1.0"] == 2 * 5
    assert bucket["+Inf"] == 2 * len(times)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(list(_ZONES.values())),
    # Arrivals around the summer-time changes of 2026 and away from them.
    arrival=st.sampled_from(
        [
            datetime(2026, 3, 8, 7, 30, tzinfo=timezone.utc),
            datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc),
            datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc),
            datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc),
            datetime(2026, 10, 25, 1, 30, tzinfo=timezone.utc),
            datetime(2026, 11, 1, 6, 30, tzinfo=timezone.utc),
        ]
    ),
    lags=st.lists(
        st.one_of(
            st.sampled_from([*metrics._LAG, 0, -60]).map(float),
            st.floats(-3600, 30 * 86_400, allow_nan=False),
        ),
        min_size=1,
        max_size=30,
    ),
    jitter=st.sampled_from([0, 1, -1]),
    untimed_zone=st.booleans(),
)
def test_status_lag_in_bulk_equals_each_lag_as_timestamp_says(
    zone: tzinfo,
    arrival: datetime,
    lags: list[float],
    jitter: int,
    untimed_zone: bool,
) -> None:
    arrived = arrival.timestamp()
    times = [
        # Through the wall clock, as the decoder makes them: a time in a gap or
        # an overlap of the zone is whatever its wall clock says.
        (arrival - timedelta(seconds=lag, microseconds=jitter))
        .astimezone(zone)
        .replace(fold=0)
        for lag in lags
    ]
    if untimed_zone:
        times.append(arrival.replace(tzinfo=timezone.utc))  # another zone
    histograms = _LagHistograms()
    histograms.observe_both(arrived, times)
    histograms.assert_equal()


def test_states_tallied_in_python_as_in_c() -> None:
    items = ["deliver", "read", "deliver", ("send", True), "deliver"]
    in_c: dict[object, int] = {"read": 1}
    in_python: dict[object, int] = {"read": 1}
    metrics._tally(in_c, items)
    metrics._tally_in_python(in_python, items)
    assert in_c == in_python == {"read": 2, "deliver": 3, ("send", True): 1}


def test_histograms_filled_in_bulk_equal_observed_one_by_one() -> None:
    values = [-3.0, 0.0, 0.2, 1.0, 1.0, 4.99, 5.0, 59.0, 7200.0, 10**7]
    registry = CollectorRegistry()
    bulk = Histogram("bulk", "b", buckets=metrics._LAG, registry=registry)
    single = Histogram("single", "s", buckets=metrics._LAG, registry=registry)
    adds: list[tuple[Any, float]] = []
    metrics._Buckets(bulk).observe_all(adds, list(values))
    for one in values:
        single.observe(max(one, 0.0))
    both = metrics._Buckets(bulk)
    both.observe(adds, 3.0)
    metrics._apply(adds)
    single.observe(3.0)
    samples = {
        metric.name: [
            (sample.name.removeprefix(metric.name), sample.labels, sample.value)
            for sample in metric.samples
            if not sample.name.endswith("_created")
        ]
        for metric in registry.collect()
    }
    assert samples["bulk"] == samples["single"]
    assert samples["bulk"][-1] == ("_sum", {}, pytest.approx(7271.19 + 10**7 + 3.0))


class _Public:
    """A histogram or counter showing only the public methods."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def observe(self, amount: float) -> None:
        self.calls.append(("observe", amount))

    def labels(self, *values: str) -> _Public:
        return self

    def inc(self, amount: float) -> None:
        self.calls.append(("inc", amount))


def test_another_prometheus_client_layout_falls_back_to_public_methods() -> None:
    histogram = _Public()
    buckets = metrics._Buckets(histogram)  # type: ignore[arg-type]
    adds: list[tuple[Any, float]] = []
    buckets.observe(adds, 2.5)
    buckets.observe_all(adds, [-1.0, 4.0])
    counter = _Public()
    metrics._Counts(counter).add(adds, ("a",), 3)  # type: ignore[arg-type]
    assert adds == [(counter, 3)]
    metrics._apply(adds)
    assert histogram.calls == [("observe", 2.5), ("observe", 0.0), ("observe", 4.0)]
    assert counter.calls == [("inc", 3)]


def test_a_document_of_bad_items_only_counts_them_rejected() -> None:
    metrics.enable()
    before = snapshot()
    smsstatus.receive_batch(
        b'[{"id_sms": "1", "time": "", "state": "lost"}]', lambda reports: None
    )
    changed = delta(before)
    assert changed["smsstatus_documents_total", (("code", "200"), ("format", "json"))]
    reports = {k: v for k, v in changed.items() if k[0] == "smsstatus_reports_total"}
    assert reports == {
        (
            "smsstatus_reports_total",
            (("format", "json"), ("outcome", "rejected"), ("state", "")),
        ): 1
    }
    assert changed["smsstatus_document_reports_bucket", (("le", "1.0"),)] == 1
    assert changed["smsstatus_document_reports_count", ()] == 1
    assert ("smsstatus_document_reports_sum", ()) not in changed  # 0 reports
    assert ("smsstatus_status_lag_seconds_count", ()) not in changed


def test_a_document_never_decoded_is_counted_without_reports() -> None:
    metrics.enable()
    before = snapshot()
    watching = watch()
    assert watching is not None
    watching.done(body=None, size=10**8, format=None, code=413)
    changed = delta(before)
    assert (
        changed["smsstatus_documents_total", (("code", "413"), ("format", "unknown"))]
        == 1
    )
    assert not any(key[0].startswith("smsstatus_document_reports") for key in changed)
    assert not any(key[0].startswith("smsstatus_reports") for key in changed)


def test_multiprocess_mode_collects_every_worker(tmp_path: Path) -> None:
    # The layout gunicorn users run: each worker writes its values to files in
    # PROMETHEUS_MULTIPROC_DIR, and one collector adds them up.
    code = textwrap.dedent(
        """
        import smsstatus
        from smsstatus import metrics
        from smsstatus.testing import sample_payload
        metrics.enable()
        body = sample_payload(10, format="xml", seed=4)
        for _ in range(3):
            smsstatus.receive_batch(body, lambda reports: None)
        """
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT)
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(tmp_path))
    assert (
        registry.get_sample_value(
            "smsstatus_documents_total", {"format": "xml", "code": "200"}
        )
        == 6
    )
    assert registry.get_sample_value("smsstatus_document_reports_sum") == 60
    assert registry.get_sample_value("smsstatus_receive_seconds_count") == 6
    taken = sum(
        s.value
        for m in registry.collect()
        if m.name == "smsstatus_reports"
        for s in m.samples
        if s.labels.get("outcome") == "taken"
    )
    assert taken == 60


def test_the_metric_names_are_the_contracts() -> None:
    metrics.enable()
    names = {m.name for m in REGISTRY.collect() if m.name.startswith("smsstatus_")}
    assert names == {
        "smsstatus_documents",
        "smsstatus_reports",
        "smsstatus_receive_seconds",
        "smsstatus_document_reports",
        "smsstatus_status_lag_seconds",
    }
    assert isinstance(metrics._METRICS, metrics._Metrics)
    assert isinstance(metrics._METRICS.documents.counter, Counter)
