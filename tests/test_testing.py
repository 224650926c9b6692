"""The gateway simulator: the retry rule against endpoints with known failure patterns,
and its WSGI and HTTP transports."""

from __future__ import annotations

import collections
import itertools
import random
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from _raw_server import RawServer, dripping

import smsstatus
from smsstatus import Format, Status, StatusReport, build_ack, encode_json, encode_xml
from smsstatus.testing import (
    Attempt,
    Delivery,
    Gateway,
    Histories,
    sample_histories,
    sample_payload,
    sample_reports,
)
from smsstatus.testing._simulator import _first_line, _http_sender

ROOT = Path(__file__).resolve().parent.parent

Send = Callable[[bytes, str], tuple[int, bytes]]


def reports(count: int, start: int = 100) -> list[StatusReport]:
    return [
        StatusReport(start + n, datetime(2026, 1, 1, 12, 0, n % 60), Status.DELIVER)
        for n in range(count)
    ]


def sent_ids(body: bytes) -> list[int]:
    """The readable ids of a document's items, in document order."""
    batch = smsstatus.decode(body)
    errors = {e.index: e.id_sms for e in batch.errors}
    reports_left = iter(batch.reports)
    ids = []
    for index in range(len(batch.reports) + len(batch.errors)):
        id_sms = errors[index] if index in errors else next(reports_left).id_sms
        if id_sms is not None:
            ids.append(id_sms)
    return ids


def endpoint(refuse: Callable[[int, int], bool] = lambda id_sms, seen: False) -> Send:
    """An endpoint that acknowledges every id it is sent, except when
    `refuse(id_sms, times_seen_before)` says no."""
    seen: collections.Counter[int] = collections.Counter()

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        batch = smsstatus.decode(body)
        taken = []
        for id_sms in dict.fromkeys(sent_ids(body)):
            if not refuse(id_sms, seen[id_sms]):
                taken.append(id_sms)
            seen[id_sms] += 1
        ack = build_ack(taken, batch.format)
        return ack.status, ack.body

    return send


def times_sent(delivery: Delivery, id_sms: int) -> int:
    return sum(id_sms in attempt.sent for attempt in delivery.attempts)


# --- the retry rule ---------------------------------------------------------------


@pytest.mark.parametrize("format", ["xml", "json"])
def test_a_correct_endpoint_takes_everything_at_the_first_attempt(format: str) -> None:
    delivery = Gateway(format).deliver(endpoint(), reports(10))
    assert delivery.acknowledged == frozenset(range(100, 110))
    assert delivery.lost == frozenset()
    assert delivery.attempts == (
        Attempt(tuple(range(100, 110)), 200, tuple(range(100, 110)), number=1),
    )


def test_ids_failing_on_the_first_tries_are_acknowledged_later() -> None:
    flaky = {103, 107}
    send = endpoint(lambda id_sms, seen: id_sms in flaky and seen < 3)
    delivery = Gateway("xml").deliver(send, reports(10))
    assert delivery.lost == frozenset()
    assert delivery.acknowledged == frozenset(range(100, 110))
    assert [a.number for a in delivery.attempts] == [1, 2, 3, 4]
    assert [a.sent for a in delivery.attempts[1:]] == [(103, 107)] * 3
    assert delivery.attempts[-1].acknowledged == (103, 107)
    assert all(times_sent(delivery, i) == 1 for i in set(range(100, 110)) - flaky)


@pytest.mark.parametrize("attempts", [1, 5, 7])
def test_ids_never_acknowledged_are_lost_after_exactly_the_attempts(
    attempts: int,
) -> None:
    send = endpoint(lambda id_sms, seen: id_sms in (101, 105))
    delivery = Gateway("json", attempts=attempts).deliver(send, reports(6))
    assert delivery.lost == frozenset({101, 105})
    assert delivery.acknowledged == frozenset({100, 102, 103, 104})
    assert times_sent(delivery, 101) == times_sent(delivery, 105) == attempts
    assert [a.number for a in delivery.attempts] == list(range(1, attempts + 1))


def test_the_default_is_the_gateways_five_attempts() -> None:
    delivery = Gateway().deliver(lambda body, ct: (500, b""), reports(1))
    assert delivery.lost == frozenset({100})
    assert len(delivery.attempts) == 5


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ((500, b"Internal Server Error"), "HTTP 500"),
        ((302, b""), "HTTP 302"),
        ((200, b"OK"), "unreadable answer: malformed XML"),
        ((200, b""), "unreadable answer: body is empty"),
        ((200, b"<html>done</html>"), "unreadable answer: acknowledgement root"),
    ],
)
def test_a_failed_batch_is_sent_again_whole(
    answer: tuple[int, bytes], error: str
) -> None:
    calls = 0
    good = endpoint()

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        nonlocal calls
        calls += 1
        return answer if calls <= 2 else good(body, content_type)

    delivery = Gateway("xml").deliver(send, reports(3))
    assert delivery.lost == frozenset()
    first, second, third = delivery.attempts
    assert first.sent == second.sent == third.sent == (100, 101, 102)
    assert (first.status, first.acknowledged) == (answer[0], ())
    assert first.error is not None
    assert first.error.startswith(error)
    assert third == Attempt((100, 101, 102), 200, (100, 101, 102), number=3)


def test_a_500_with_ids_in_its_body_acknowledges_nothing() -> None:
    body = build_ack([100], "xml").body
    delivery = Gateway(attempts=2).deliver(lambda b, ct: (500, body), reports(1))
    assert delivery.lost == frozenset({100})


def test_a_transport_error_is_retried() -> None:
    calls = 0
    good = endpoint()

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionRefusedError(111, "Connection refused")
        return good(body, content_type)

    delivery = Gateway().deliver(send, reports(2))
    assert delivery.lost == frozenset()
    assert delivery.attempts[0].status is None
    assert (
        delivery.attempts[0].error == "transport error: [Errno 111] Connection refused"
    )


def test_a_bug_in_send_is_not_mistaken_for_a_transport_error() -> None:
    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        Gateway().deliver(send, reports(1))


def test_ids_the_gateway_did_not_send_in_that_batch_mean_nothing() -> None:
    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        ack = build_ack([999, *sent_ids(body), 100], "xml")
        return 200, ack.body

    delivery = Gateway(batch_size=1).deliver(send, reports(2))
    assert delivery.lost == frozenset()
    assert [a.acknowledged for a in delivery.attempts] == [(100,), (101,)]


def test_the_content_type_and_body_follow_the_format() -> None:
    seen: list[tuple[bytes, str]] = []

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        seen.append((body, content_type))
        return endpoint()(body, content_type)

    Gateway("xml").deliver(send, reports(2))
    Gateway("JSON").deliver(send, reports(2))
    assert seen == [
        (encode_xml(reports(2)), "text/xml; charset=utf-8"),
        (encode_json(reports(2)), "application/json"),
    ]


def test_reports_sharing_an_id_are_acknowledged_together() -> None:
    first = StatusReport(7, None, Status.SEND)
    later = StatusReport(7, datetime(2026, 1, 1), Status.DELIVER)
    delivery = Gateway().deliver(endpoint(), [first, later, *reports(1)])
    assert delivery.acknowledged == frozenset({7, 100})
    assert delivery.attempts[0].sent == (7, 7, 100)


def test_no_reports_no_posts() -> None:
    assert Gateway().deliver(endpoint(), []) == Delivery(frozenset(), frozenset(), ())


# --- batching and disorder ----------------------------------------------------------


def test_batches_hold_at_most_batch_size_reports() -> None:
    delivery = Gateway(batch_size=100).deliver(endpoint(), reports(250))
    assert [len(a.sent) for a in delivery.attempts] == [100, 100, 50]
    assert [i for a in delivery.attempts for i in a.sent] == list(range(100, 350))
    assert {a.number for a in delivery.attempts} == {1}


def test_retries_are_batched_too() -> None:
    send = endpoint(lambda id_sms, seen: seen == 0)
    delivery = Gateway(batch_size=4).deliver(send, reports(6))
    assert [(a.number, len(a.sent)) for a in delivery.attempts] == [
        (1, 4),
        (1, 2),
        (2, 4),
        (2, 2),
    ]
    assert delivery.lost == frozenset()


def test_shuffle_changes_the_order_not_the_outcome() -> None:
    delivery = Gateway(shuffle=True, seed=3).deliver(endpoint(), reports(50))
    (attempt,) = delivery.attempts
    assert attempt.sent != tuple(range(100, 150))
    assert sorted(attempt.sent) == list(range(100, 150))
    assert delivery.acknowledged == frozenset(range(100, 150))


def test_duplicate_sends_some_reports_twice_in_the_same_attempt() -> None:
    (attempt,) = (
        Gateway(duplicate=0.5, seed=1).deliver(endpoint(), reports(40)).attempts
    )
    counts = collections.Counter(attempt.sent)
    assert set(counts) == set(range(100, 140))
    assert set(counts.values()) == {1, 2}
    (always,) = Gateway(duplicate=1.0).deliver(endpoint(), reports(3)).attempts
    assert always.sent == (100, 101, 102, 100, 101, 102)


def test_a_duplicate_acknowledged_in_another_batch_counts() -> None:
    # Only the second batch, which holds the copies, is answered.
    answers = iter([(500, b""), (200, build_ack([100, 101], "xml").body)])

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        return next(answers)

    gateway = Gateway(duplicate=1.0, batch_size=2, attempts=1)
    delivery = gateway.deliver(send, reports(1) + reports(1, start=101))
    assert [a.sent for a in delivery.attempts] == [(100, 101), (100, 101)]
    assert delivery.lost == frozenset()


def test_the_same_seed_gives_the_same_delivery() -> None:
    def run(seed: int | None) -> Delivery:
        gateway = Gateway(shuffle=True, duplicate=0.3, batch_size=7, seed=seed)
        return gateway.deliver(endpoint(lambda i, seen: i % 3 == seen), reports(30))

    assert run(5) == run(5)
    assert run(5).attempts != run(6).attempts


def test_the_simulator_leaves_the_global_random_alone() -> None:
    random.seed(11)
    expected = random.random()
    random.seed(11)
    Gateway(shuffle=True, duplicate=0.5).deliver(endpoint(), reports(20))
    assert random.random() == expected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"attempts": 0}, "attempts must be an int >= 1"),
        ({"batch_size": 0}, "batch_size must be an int >= 1"),
        ({"attempts": 2.0}, "attempts must be an int >= 1"),
        ({"duplicate": 1.5}, "duplicate must be a chance"),
        ({"duplicate": -0.1}, "duplicate must be a chance"),
        ({"format": "csv"}, "format must be 'xml' or 'json'"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Gateway(**options)


def test_gateway_format_is_a_format() -> None:
    assert Gateway("JSON").format is Format.JSON
    with pytest.raises(TypeError):
        Gateway("xml", 5)  # type: ignore[misc]


# --- delivering a whole document --------------------------------------------------


@pytest.mark.parametrize("format", ["xml", "json"])
def test_a_payload_goes_out_unchanged_then_its_unacknowledged_items(
    format: str,
) -> None:
    payload = sample_payload(8, format, seed=2, bad=3)
    bad = [e.id_sms for e in smsstatus.decode(payload).errors]
    bodies: list[bytes] = []

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        bodies.append(body)
        ack = smsstatus.receive(body, lambda report: None)  # errors not taken
        return ack.status, ack.body

    delivery = Gateway(format, attempts=3).deliver(send, payload)
    assert bodies[0] == payload
    assert delivery.lost == frozenset(bad)
    assert len(delivery.acknowledged) == 5
    assert delivery.attempts[0].sent == tuple(sent_ids(payload))
    raws = {e.raw for e in smsstatus.decode(payload).errors}
    for body in bodies[1:]:
        batch = smsstatus.decode(body)
        assert batch.reports == ()
        assert {e.raw for e in batch.errors} == raws


@pytest.mark.parametrize("format", ["xml", "json"])
def test_stored_bad_items_of_a_payload_are_acknowledged(format: str) -> None:
    payload = sample_payload(20, format, seed=9, bad=4)

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        ack = smsstatus.receive(body, lambda r: None, on_error=lambda e: True)
        return ack.status, ack.body

    delivery = Gateway(format).deliver(send, payload)
    assert delivery.lost == frozenset()
    assert len(delivery.attempts) == 1
    assert len(delivery.acknowledged) == 20


@pytest.mark.parametrize("format", ["xml", "json"])
def test_retried_payload_items_keep_their_document_order(format: str) -> None:
    payload = sample_payload(6, format, seed=4, bad=2)
    # Refuse everything once, so the whole document goes out again re-encoded.
    delivery = Gateway(format).deliver(endpoint(lambda i, seen: seen == 0), payload)
    first, second = delivery.attempts
    assert first.sent == second.sent == tuple(sent_ids(payload))
    assert delivery.lost == frozenset()


def test_an_item_without_an_id_goes_out_once_and_is_not_tracked() -> None:
    payload = (
        b'<response><state id_sms="1" time="">send</state>'
        b'<state time="">send</state></response>'
    )
    bodies: list[bytes] = []

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        bodies.append(body)
        return 200, build_ack([], "xml").body

    delivery = Gateway(attempts=2).deliver(send, payload)
    assert bodies[0] == payload
    assert b"<state time" not in bodies[1]
    assert delivery.lost == frozenset({1})
    assert [a.sent for a in delivery.attempts] == [(1,), (1,)]


def test_a_payload_with_nothing_to_track_is_still_posted() -> None:
    bodies: list[bytes] = []

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        bodies.append(body)
        return 200, build_ack([], "json").body

    delivery = Gateway("json").deliver(send, b"[]")
    assert bodies == [b"[]"]
    assert delivery == Delivery(
        frozenset(), frozenset(), (Attempt((), 200, (), number=1),)
    )


def test_a_payload_in_the_wrong_format_is_refused() -> None:
    with pytest.raises(smsstatus.DecodeError):
        Gateway("xml").deliver(endpoint(), encode_json(reports(1)))


@pytest.mark.parametrize("format", ["xml", "json"])
def test_a_payload_longer_than_a_batch_goes_out_in_batches_in_document_order(
    format: str,
) -> None:
    payload = sample_payload(10, format, seed=3, bad=2)
    payload_ids = sent_ids(payload)
    bodies: list[bytes] = []

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        bodies.append(body)
        ack = smsstatus.receive(body, lambda r: None, on_error=lambda e: True)
        return ack.status, ack.body

    gateway = Gateway(format, batch_size=4, shuffle=True, duplicate=1.0, seed=1)
    delivery = gateway.deliver(send, payload)
    assert [sent_ids(body) for body in bodies] == [
        payload_ids[:4],
        payload_ids[4:8],
        payload_ids[8:],
    ]
    assert sum(len(smsstatus.decode(body).errors) for body in bodies) == 2
    assert delivery.acknowledged == frozenset(payload_ids)
    assert Gateway(format, batch_size=10).deliver(send, payload).attempts[0].sent == (
        tuple(payload_ids)
    )
    assert bodies[-1] == payload  # exactly one batch: the document as it is


def test_a_split_payload_sends_an_item_without_an_id_once() -> None:
    payload = (
        b'<response><state id_sms="1" time="">send</state>'
        b'<state time="">send</state><state id_sms="2" time="">nope</state></response>'
    )
    bodies: list[bytes] = []

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        bodies.append(body)
        return 200, build_ack([], "xml").body

    delivery = Gateway(attempts=2, batch_size=2).deliver(send, payload)
    assert [a.sent for a in delivery.attempts] == [(1,), (2,), (1, 2)]
    assert sum(body.count(b"<state time") for body in bodies) == 1
    assert delivery.lost == frozenset({1, 2})


def test_pause_waits_before_each_attempt_after_the_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("smsstatus.testing._simulator.time.sleep", slept.append)
    send = endpoint(lambda id_sms, seen: seen < 2)
    delivery = Gateway(pause=0.5, batch_size=1).deliver(send, reports(2))
    assert [a.number for a in delivery.attempts] == [1, 1, 2, 2, 3, 3]
    assert slept == [0.5, 0.5]
    Gateway().deliver(endpoint(lambda id_sms, seen: seen < 2), reports(2))
    assert slept == [0.5, 0.5]  # the default does not wait


@pytest.mark.parametrize("pause", [-0.1, float("inf"), float("nan")])
def test_pause_must_be_seconds(pause: float) -> None:
    with pytest.raises(ValueError, match="pause must be seconds >= 0"):
        Gateway(pause=pause)


def test_on_attempt_sees_each_attempt_as_it_is_made() -> None:
    seen: list[Attempt] = []
    delivery = Gateway(batch_size=2).deliver(
        endpoint(lambda id_sms, seen: seen == 0 and id_sms == 101),
        reports(3),
        on_attempt=seen.append,
    )
    assert tuple(seen) == delivery.attempts
    assert [a.number for a in seen] == [1, 1, 2]


def test_on_attempt_can_end_a_delivery() -> None:
    posts: list[bytes] = []

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        posts.append(body)
        return 503, b""

    def give_up(attempt: Attempt) -> None:
        raise LookupError(attempt.error)

    with pytest.raises(LookupError, match="HTTP 503"):
        Gateway(batch_size=1).deliver(send, reports(3), on_attempt=give_up)
    assert len(posts) == 1


def test_deliver_wsgi_and_http_pass_on_attempt(serve: Callable[[Any], str]) -> None:
    seen: list[Attempt] = []
    Gateway().deliver_wsgi(receiving_app([], []), reports(2), on_attempt=seen.append)
    Gateway().deliver_http(
        serve(receiving_app([], [])), reports(1), on_attempt=seen.append
    )
    assert [a.sent for a in seen] == [(100, 101), (100,)]


@pytest.mark.parametrize(
    ("answer", "gist"),
    [
        (b"", ""),
        (b"\n \n", ""),
        (b"Service Unavailable\nretry later", "Service Unavailable"),
        (b"\n  not  json:\tsorry\n", "not json: sorry"),
        (
            b"<!DOCTYPE html>\n<html><head>\n<title>RuntimeError\n   at /sms/statuses"
            b"</title></head><body>You called this URL via POST...</body></html>",
            "RuntimeError at /sms/statuses",
        ),
        (b"<!doctype html>\n<h1>Server Error (500)</h1>", "Server Error (500)"),
        (b"<TITLE>It&#x27;s &lt;broken&gt;</TITLE>", "It's <broken>"),
        (b"\xff\xfeoops", "\ufffd\ufffdoops"),
        (b"x" * 500, "x" * 197 + "..."),
    ],
)
def test_an_error_answer_is_told_in_one_line(answer: bytes, gist: str) -> None:
    assert _first_line(answer) == gist

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        return 500, answer

    (attempt,) = Gateway(attempts=1).deliver(send, reports(1)).attempts
    assert attempt.error == (f"HTTP 500: {gist}" if gist else "HTTP 500")


# --- samples ---------------------------------------------------------------------


def test_sample_reports_are_realistic_and_repeatable() -> None:
    sample = sample_reports(500, seed=7)
    assert sample == sample_reports(500, seed=7)
    assert sample != sample_reports(500, seed=8)
    ids = [r.id_sms for r in sample]
    assert ids == sorted(set(ids))
    assert all(r.time is None for r in sample if r.state is Status.SEND)
    assert all(r.sms is not None or r.viber is not None for r in sample)
    assert all(r.state in (r.sms, r.viber) for r in sample)
    assert {r.state for r in sample} == set(Status)
    times = [r.time for r in sample if r.time is not None]
    assert times == sorted(times)
    assert sample_reports(0) == []
    with pytest.raises(ValueError, match="count must not be negative"):
        sample_reports(-1)


@pytest.mark.parametrize("format", ["xml", "json"])
def test_sample_payload_has_exactly_the_bad_items_asked_for(format: str) -> None:
    payload = sample_payload(50, format, seed=1, bad=10)
    batch = smsstatus.decode(payload)
    assert batch.format is Format(format)
    assert len(batch.reports) == 40
    assert len(batch.errors) == 10
    assert all(e.id_sms is not None for e in batch.errors)
    reasons = {e.reason.split(":")[0] for e in batch.errors}
    assert reasons >= {"time", "state"}
    if format == "json":
        assert all(r.sms is None and r.viber is None for r in batch.reports)
    assert payload == sample_payload(50, format, seed=1, bad=10)


def test_sample_payload_refuses_more_bad_items_than_items() -> None:
    assert smsstatus.decode(sample_payload(0)).reports == ()
    assert len(smsstatus.decode(sample_payload(3, bad=3)).errors) == 3
    with pytest.raises(
        ValueError, match=r"bad must be from 0 to the number of items \(3\)"
    ):
        sample_payload(3, bad=4)
    with pytest.raises(ValueError, match="bad must be from 0 to the number of items"):
        sample_payload(3, bad=-1)


def test_sample_histories_are_plausible_paths_with_a_known_end() -> None:
    histories = sample_histories(2000, seed=5)
    assert isinstance(histories, Histories)
    assert histories == sample_histories(2000, seed=5)
    assert histories != sample_histories(2000, seed=6)
    by_id: dict[int, list[StatusReport]] = collections.defaultdict(list)
    for report in histories.reports:
        by_id[report.id_sms].append(report)
    assert list(histories.latest) == sorted(by_id)
    assert len(histories.latest) == 2000
    assert len(histories.reports) > 4000  # most messages have several statuses
    for id_sms, path in by_id.items():
        assert path[0].state is Status.SEND
        assert path[0].time is None
        for before, after in itertools.pairwise(path):
            assert after.supersedes(before)
            assert after.time is not None
            assert before.time is None or before.time < after.time
        assert histories.latest[id_sms] == path[-1]
    assert {r.state for r in histories.reports} == set(Status)
    assert {r.state for r in histories.latest.values()} == set(Status)
    assert all(r.sms is not None or r.viber is not None for r in histories.reports)
    assert all(r.state in (r.sms, r.viber) for r in histories.reports)
    # The gateway's order: by time, each message's send before its later statuses.
    times = [r.time for r in histories.reports if r.time is not None]
    assert times == sorted(times)
    fallbacks = [r for r in histories.latest.values() if r.sms and r.viber]
    assert fallbacks
    assert all(r.viber in (Status.NOT_DELIVER, Status.EXPIRED) for r in fallbacks)
    paths = {tuple(r.state.value for r in path) for path in by_id.values()}
    assert {
        ("send", "deliver", "read"),
        ("send", "expired"),
        ("send", "partly_deliver", "deliver"),
        ("send", "not_deliver"),
        ("send",),
    } <= paths
    assert sample_histories(0) == Histories((), {})
    with pytest.raises(ValueError, match="count must not be negative"):
        sample_histories(-1)


@pytest.mark.parametrize("format", ["xml", "json"])
def test_a_disordered_delivery_of_histories_ends_with_the_latest(format: str) -> None:
    # What a user's test does: one line asserts the whole table.
    histories = sample_histories(300, seed=2)
    table: dict[int, StatusReport] = {}

    def store(report: StatusReport) -> None:
        if report.supersedes(table.get(report.id_sms)):
            table[report.id_sms] = report

    def send(body: bytes, content_type: str) -> tuple[int, bytes]:
        ack = smsstatus.receive(body, store, tz=None)
        return ack.status, ack.body

    gateway = Gateway(format, batch_size=50, shuffle=True, duplicate=0.3, seed=2)
    delivery = gateway.deliver(send, histories.reports)
    assert not delivery.lost
    if format == "json":  # the gateway's JSON has no legs
        expected = {
            i: attrs.evolve(r, sms=None, viber=None)
            for i, r in histories.latest.items()
        }
        assert table.keys() == expected.keys()
        assert {i: r.state for i, r in table.items()} == {
            i: r.state for i, r in expected.items()
        }
    else:
        assert table == histories.latest


def test_sample_payload_of_histories() -> None:
    histories = sample_histories(20, seed=8)
    payload = sample_payload(20, seed=8, histories=True)
    assert smsstatus.decode(payload).reports == histories.reports
    bad = smsstatus.decode(sample_payload(20, seed=8, histories=True, bad=7))
    assert len(bad.errors) == 7
    assert len(bad.reports) == len(histories.reports) - 7


# --- WSGI ------------------------------------------------------------------------


def receiving_app(store: list[StatusReport], log: list[dict[str, Any]]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        log.append(environ)
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        ack = smsstatus.receive(body, store.append)
        start_response(f"{ack.status} OK", list(ack.headers.items()))
        return [ack.body]

    return app


def test_deliver_wsgi_calls_the_app_with_a_proper_post() -> None:
    store: list[StatusReport] = []
    log: list[dict[str, Any]] = []
    delivery = Gateway("json").deliver_wsgi(
        receiving_app(store, log), reports(3), path="/hooks/sms%20status?token=a%2Fb"
    )
    assert delivery.acknowledged == frozenset({100, 101, 102})
    assert store == reports(3)
    (environ,) = log
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["PATH_INFO"] == "/hooks/sms status"
    assert environ["QUERY_STRING"] == "token=a%2Fb"
    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["HTTP_HOST"] == "testserver"
    assert environ["wsgi.url_scheme"] == "http"


def test_deliver_wsgi_reads_write_calls_generators_and_closes() -> None:
    closed: list[bool] = []

    class Answer:
        def __init__(self, parts: list[bytes]) -> None:
            self.parts = parts

        def __iter__(self) -> Iterator[bytes]:
            return iter(self.parts)

        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = environ["wsgi.input"].read()
        ack = smsstatus.receive(body, lambda r: None)
        write = start_response("200 OK", [])
        half = len(ack.body) // 2
        write(ack.body[:half])
        return Answer([ack.body[half:]])

    delivery = Gateway().deliver_wsgi(app, reports(2))
    assert delivery.acknowledged == frozenset({100, 101})
    assert closed == [True]


def test_deliver_wsgi_takes_the_status_of_a_lazy_app() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("503 Service Unavailable", [])
        yield b"busy"

    delivery = Gateway(attempts=2).deliver_wsgi(app, reports(1))
    assert [a.status for a in delivery.attempts] == [503, 503]
    assert delivery.lost == frozenset({100})


@pytest.mark.parametrize(
    ("host", "name", "port"),
    [
        ("localhost", "localhost", "80"),
        ("127.0.0.1:8000", "127.0.0.1", "8000"),
        ("[::1]:8080", "::1", "8080"),
    ],
)
def test_deliver_wsgi_takes_a_host(host: str, name: str, port: str) -> None:
    log: list[dict[str, Any]] = []
    delivery = Gateway().deliver_wsgi(receiving_app([], log), reports(1), host=host)
    assert delivery.acknowledged == frozenset({100})
    assert (log[0]["HTTP_HOST"], log[0]["SERVER_NAME"]) == (host, name)
    assert log[0]["SERVER_PORT"] == port


@pytest.mark.parametrize("host", ["", "a/b", "a:b", "u@a", "a?b", ":80"])
def test_deliver_wsgi_refuses_what_is_not_a_host(host: str) -> None:
    with pytest.raises(ValueError, match="host must be a host name"):
        Gateway().deliver_wsgi(receiving_app([], []), reports(1), host=host)


# Django outside its test runner, as `runserver` has a new project: DEBUG on,
# ALLOWED_HOSTS empty, CommonMiddleware (which checks the host).  Run in a fresh
# interpreter: Django's settings are global.
DJANGO_OUTSIDE_ITS_TEST_RUNNER = """
import django
from django.conf import settings

settings.configure(
    DEBUG=True,
    ALLOWED_HOSTS=[],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    ROOT_URLCONF=__name__,
    SECRET_KEY="x",
)
django.setup()

from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

import smsstatus
from smsstatus.testing import Gateway, sample_reports


@csrf_exempt
def statuses(request):
    ack = smsstatus.receive(request.body, lambda report: None)
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)


urlpatterns = [path("sms", statuses)]
app = get_wsgi_application()
gateway = Gateway(attempts=1)
refused = gateway.deliver_wsgi(app, sample_reports(3), path="/sms")
print(len(refused.lost), refused.attempts[0].error)
taken = gateway.deliver_wsgi(app, sample_reports(3), path="/sms", host="localhost")
print(len(taken.lost), taken.attempts[0].error)
"""


def test_deliver_wsgi_host_lets_django_outside_its_test_runner_answer() -> None:
    result = subprocess.run(
        [sys.executable, "-c", DJANGO_OUTSIDE_ITS_TEST_RUNNER],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "3 HTTP 400: DisallowedHost at /sms",
        "0 None",
    ]


def test_deliver_wsgi_lets_an_app_replace_its_status_before_the_body() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [])
        try:
            raise RuntimeError("late failure")
        except RuntimeError:
            start_response("500 Internal Server Error", [], sys.exc_info())
        return [b"oops"]

    with pytest.raises(RuntimeError, match="late failure"):
        Gateway().deliver_wsgi(app, reports(1))


def test_deliver_wsgi_lets_the_apps_exceptions_through() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        Gateway().deliver_wsgi(app, reports(1))


def test_deliver_wsgi_needs_an_app_that_starts_a_response() -> None:
    with pytest.raises(RuntimeError, match="without calling start_response"):
        Gateway().deliver_wsgi(lambda environ, start: [b""], reports(1))


def test_deliver_wsgi_needs_an_absolute_path() -> None:
    with pytest.raises(ValueError, match="path must start with '/'"):
        Gateway().deliver_wsgi(receiving_app([], []), reports(1), path="hooks")


# --- HTTP ------------------------------------------------------------------------


def test_deliver_http_posts_to_a_real_server(serve: Callable[[Any], str]) -> None:
    store: list[StatusReport] = []
    log: list[dict[str, Any]] = []
    url = serve(receiving_app(store, log))
    gateway = Gateway("xml", batch_size=40, shuffle=True, duplicate=0.2, seed=1)
    delivery = gateway.deliver_http(url, sample_reports(100, seed=1))
    assert delivery.lost == frozenset()
    assert len(delivery.acknowledged) == 100
    assert {r.id_sms for r in store} == delivery.acknowledged
    assert len(log) == len(delivery.attempts) >= 3
    assert log[0]["PATH_INFO"] == "/statuses"
    assert log[0]["CONTENT_TYPE"] == "text/xml; charset=utf-8"
    assert log[0]["HTTP_USER_AGENT"].startswith("smsstatus-gateway-simulator/")


def test_deliver_http_reads_error_statuses_and_does_not_follow_redirects(
    serve: Callable[[Any], str],
) -> None:
    answers = iter(["500 Internal Server Error", "302 Found", "200 OK"])

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        status = next(answers)
        start_response(status, [("Location", "/elsewhere")])
        return [smsstatus.receive(body, lambda r: None).body]

    delivery = Gateway().deliver_http(serve(app), reports(2))
    assert [a.status for a in delivery.attempts] == [500, 302, 200]
    assert delivery.lost == frozenset()


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_deliver_http_counts_a_refused_connection_as_a_transport_error() -> None:
    url = f"http://127.0.0.1:{unused_port()}/"
    delivery = Gateway(attempts=2).deliver_http(url, reports(1), timeout=2)
    assert delivery.lost == frozenset({100})
    assert [a.status for a in delivery.attempts] == [None, None]
    assert all(
        a.error is not None and a.error.startswith("transport error:")
        for a in delivery.attempts
    )


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"garbage\r\n\r\n", "transport error: broken answer: BadStatusLine"),
        (b"", "transport error: broken answer: RemoteDisconnected"),
        (None, "transport error: timed out"),
    ],
)
def test_deliver_http_counts_a_broken_answer_as_a_transport_error(
    reply: bytes | None, error: str
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def answer() -> None:
        while True:
            connection, _ = listener.accept()
            with connection:
                if stop.is_set():
                    return
                # The whole request, so that closing sends no reset: the client is
                # to see the answer (or its absence), not "connection reset".
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65536)
                head, _, body = request.partition(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: *(\d+)", head)[1])
                while len(body) < length:
                    body += connection.recv(65536)
                if reply is None:
                    stop.wait(2)
                else:
                    connection.sendall(reply)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    try:
        delivery = Gateway(attempts=1).deliver_http(url, reports(1), timeout=0.5)
    finally:
        stop.set()
        # Wake the listener's accept() so the thread ends.
        socket.create_connection(listener.getsockname()).close()
        thread.join()
        listener.close()
    (attempt,) = delivery.attempts
    assert attempt.status is None
    assert attempt.error is not None
    assert attempt.error.startswith(error)


def test_deliver_http_keeps_the_kind_of_a_transport_error() -> None:
    url = f"http://127.0.0.1:{unused_port()}/"
    send = _http_sender(url, 2.0)
    with pytest.raises(ConnectionRefusedError) as info:
        send(b"", "text/xml")
    refused = info.value
    (attempt,) = Gateway(attempts=1).deliver(send, reports(1)).attempts
    assert attempt.error == f"transport error: {refused}"


UNUSABLE_URLS = {
    "localhost:8000/statuses": "must be an http:// or https:// address",
    "http:///statuses": "must be an http:// or https:// address",
    "http://127.0.0.1/\u00fc": "beyond ASCII in its path or query",
    "http://127.0.0.1/a b": "blank or control character",
    f"http://{'a' * 64}.example/": "host name DNS cannot hold",
    "http://a..b/": "host name DNS cannot hold",
    "http://127.0.0.1:99999/": "is not a URL",
    "http://[::1/": "is not a URL",
}


@pytest.mark.parametrize("timeout", [0, -1, None, float("inf"), float("nan")])
def test_deliver_http_refuses_a_timeout_that_is_no_number_of_seconds(
    timeout: object,
) -> None:
    with pytest.raises(ValueError, match="timeout must be a number of seconds"):
        Gateway().deliver_http("http://127.0.0.1:9/", reports(1), timeout=timeout)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", UNUSABLE_URLS)
def test_deliver_http_refuses_a_url_no_request_can_go_to(url: str) -> None:
    with pytest.raises(ValueError, match=UNUSABLE_URLS[url]) as info:
        Gateway().deliver_http(url, reports(1))
    assert type(info.value) is ValueError  # not a UnicodeError from half-way


# --- the documentation's examples ------------------------------------------------


@pytest.mark.parametrize("example", ["testing_flask.py", "testing_django.py"])
def test_the_documented_examples_pass(example: str, tmp_path: Path) -> None:
    # In a fresh interpreter, as a user runs them: Django's settings are global.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(ROOT),
            str(ROOT / "docs" / "examples" / example),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
    assert "failed" not in result.stdout


# --- deliver_http's bounds -----------------------------------------------------------


def test_deliver_http_bounds_each_post_by_the_timeout_as_a_whole() -> None:
    # An acknowledgement dripped a byte every 0.1 s: each read well within the
    # timeout, the whole answer (6 s) far past it.
    ack = build_ack(reports(1), "xml").body
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(ack), ack)
    with RawServer(dripping(answer), every=0.1) as server:
        start = time.monotonic()
        delivery = Gateway(attempts=1).deliver_http(server.url, reports(1), timeout=1)
        elapsed = time.monotonic() - start
    (attempt,) = delivery.attempts
    assert attempt.error == "transport error: timed out"
    assert 1 <= elapsed < 2


def test_deliver_http_reads_no_more_of_an_answer_than_a_document_can_be() -> None:
    size = 4 * smsstatus.Limits().max_bytes
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size
    with RawServer([head, *[b" " * (1 << 20)] * (size >> 20)]) as server:
        delivery = Gateway(attempts=1).deliver_http(server.url, reports(1), timeout=30)
    (attempt,) = delivery.attempts
    assert attempt.error is not None
    assert "over the limit of 16777216" in attempt.error
    # What the kernel's buffers took beyond the limit is all the server could send.
    assert server.sent < size // 2
