"""The gateway in a box: deliver statuses to your endpoint the way the gateway does.

The WebCom gateway has no sandbox that sends webhooks on demand, so this module plays
its part in your tests::

    from smsstatus.testing import Gateway, sample_reports

    def test_endpoint_acknowledges_every_status():
        gateway = Gateway("xml", shuffle=True, duplicate=0.1, seed=1)
        delivery = gateway.deliver_wsgi(app, sample_reports(250, seed=1))
        assert not delivery.lost

The simulator itself is in the private module `_simulator` (strategy there); this
module adds the samples (`sample_reports`, `sample_histories`, `sample_payload`), which
draw from a
private `random.Random(seed)` too; a history's reports each supersede the one before,
so whatever order and duplicates a delivery adds, a store that keeps the superseding
report ends with `Histories.latest`.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import attrs

from smsstatus._body import parse_format
from smsstatus._json import encode_json
from smsstatus._model import Format, Status, StatusReport

from ._fake_gateway import FakeGateway
from ._simulator import Attempt, Delivery, Gateway, Send, encode_document

__all__ = [
    "Attempt",
    "Delivery",
    "FakeGateway",
    "Gateway",
    "Histories",
    "Send",
    "sample_histories",
    "sample_payload",
    "sample_reports",
]


# --- realistic samples -------------------------------------------------------------

# How often each kind of message shows up, by final look of its statuses.
_SMS_STATES = (Status.DELIVER, Status.SEND, Status.NOT_DELIVER, Status.EXPIRED)
_SMS_WEIGHTS = (60, 15, 10, 8)
_VIBER_STATES = (Status.READ, Status.DELIVER, Status.SEND, Status.EXPIRED)
_VIBER_WEIGHTS = (45, 35, 12, 8)
_START = datetime(2026, 1, 1, 8, 0, 0)


def sample_reports(count: int, *, seed: int | None = None) -> list[StatusReport]:
    """`count` realistic reports, as a busy account receives them.

    Ids run upwards from a random message number with small gaps, times advance a
    few seconds at a time through one day, ``send`` has no time, and each report
    names the legs its message took: SMS, Viber, or Viber falling back to SMS.  The
    same `seed` gives the same reports.
    """
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    rng = random.Random(seed)
    id_sms = rng.randrange(1_000_000, 9_000_000)
    time = _START + timedelta(days=rng.randrange(365))
    reports = []
    for _ in range(count):
        id_sms += rng.choice((1, 1, 1, 2, 3))
        time += timedelta(seconds=rng.randrange(0, 9))
        route = rng.random()
        sms = viber = None
        if route < 0.55:
            state = sms = rng.choices(_SMS_STATES, _SMS_WEIGHTS)[0]
        elif route < 0.9:
            state = viber = rng.choices(_VIBER_STATES, _VIBER_WEIGHTS)[0]
        else:  # Viber did not reach the phone: the gateway fell back to SMS
            viber = rng.choice((Status.NOT_DELIVER, Status.EXPIRED))
            state = sms = rng.choices(_SMS_STATES, _SMS_WEIGHTS)[0]
            if state is Status.DELIVER and rng.random() < 0.3:
                state = sms = Status.PARTLY_DELIVER
        reports.append(
            StatusReport(
                id_sms,
                None if state is Status.SEND else time,
                state,
                sms=sms,
                viber=viber,
            )
        )
    return reports


_S, _P, _D = Status.SEND, Status.PARTLY_DELIVER, Status.DELIVER
_N, _E, _R = Status.NOT_DELIVER, Status.EXPIRED, Status.READ
# The paths a message's statuses take, with how often each shows up: each step is
# (state, sms, viber), and each is strictly further along than the one before it
# (`StatusReport.supersedes`), so the last step is what a store ends with.
_PATHS: tuple[
    tuple[int, tuple[tuple[Status, Status | None, Status | None], ...]], ...
] = (
    # SMS only.
    (28, ((_S, _S, None), (_D, _D, None))),
    (5, ((_S, _S, None), (_N, _N, None))),
    (4, ((_S, _S, None), (_E, _E, None))),
    (4, ((_S, _S, None), (_P, _P, None), (_D, _D, None))),
    (2, ((_S, _S, None), (_P, _P, None))),
    (4, ((_S, _S, None),)),
    # Viber only.
    (20, ((_S, None, _S), (_D, None, _D), (_R, None, _R))),
    (12, ((_S, None, _S), (_D, None, _D))),
    (3, ((_S, None, _S), (_R, None, _R))),
    (4, ((_S, None, _S), (_E, None, _E))),
    (2, ((_S, None, _S),)),
    # Viber did not reach the phone: the gateway fell back to SMS.
    (6, ((_S, None, _S), (_D, _D, _E))),
    (3, ((_S, None, _S), (_P, _P, _N), (_D, _D, _N))),
    (2, ((_S, None, _S), (_N, _N, _E))),
    (1, ((_S, None, _S), (_E, _E, _N))),
)
# Seconds from one status to the next, by the state reached.
_DELAYS = {
    _P: (5, 120),
    _D: (2, 90),
    _N: (5, 600),
    _R: (10, 3600),
    _E: (3600, 86400),
}


@attrs.frozen
class Histories:
    """Messages' statuses over their lifetime, from `sample_histories`.

    `reports` holds every status of every message, in the order the gateway
    reports them (by time, ``send`` first).  `latest` maps each `id_sms` to its
    message's last report, the one that supersedes all the others: what a store
    that keeps the superseding report holds once `reports` are all delivered, in
    whatever order and with whatever duplicates.
    """

    reports: tuple[StatusReport, ...]
    latest: dict[int, StatusReport]


def sample_histories(count: int, *, seed: int | None = None) -> Histories:
    """The statuses of `count` messages along plausible paths, several per message:
    send, then deliver, then read; send, then expired; send, then partly_deliver,
    then deliver; Viber failing over to SMS; some still at send.

    Ids climb from a random message number with small gaps, messages go out a few
    seconds apart, ``send`` has no time, and each later status comes a plausible
    while after the one before.  The same `seed` gives the same histories.
    """
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    rng = random.Random(seed)
    id_sms = rng.randrange(1_000_000, 9_000_000)
    start = _START + timedelta(days=rng.randrange(365))
    weights = [weight for weight, _ in _PATHS]
    timeline: list[tuple[datetime, int, StatusReport]] = []
    latest: dict[int, StatusReport] = {}
    for _ in range(count):
        id_sms += rng.choice((1, 1, 1, 2, 3))
        start += timedelta(seconds=rng.randrange(0, 9))
        at = start
        path = rng.choices(_PATHS, weights)[0][1]
        for step, (state, sms, viber) in enumerate(path):
            if step:
                at += timedelta(seconds=rng.randint(*_DELAYS[state]))
            report = StatusReport(
                id_sms, None if state is _S else at, state, sms=sms, viber=viber
            )
            timeline.append((at, len(timeline), report))
        latest[id_sms] = report
    timeline.sort(key=lambda entry: entry[:2])
    return Histories(tuple(entry[2] for entry in timeline), latest)


# Deliberately bad values, one field each; the id stays readable so that the item can
# be acknowledged once the application stores it.
_BAD_FIELDS = (
    ("time", "2026-02-30 10:00:00"),
    ("time", "26.11.2026 09:14:02"),
    ("state", "delivered"),
    ("state", ""),
    ("sms", "unknown"),
)


def sample_payload(
    count: int,
    format: Format | str = "xml",
    *,
    seed: int | None = None,
    bad: int = 0,
    histories: bool = False,
) -> bytes:
    """A realistic gateway document of `count` items, `bad` of them deliberately
    bad (an impossible date, a time in another shape, an unknown or missing status,
    an unknown leg status), at random places.

    The reports are `sample_reports(count, seed=seed)`, or with `histories` the
    ``reports`` of `sample_histories(count, seed=seed)` (then `count` is the number
    of messages, and the document holds several items for most of them); as in the
    gateway's own JSON documents, JSON items carry no ``sms`` / ``viber`` fields.
    """
    chosen = parse_format(format)
    if histories:
        reports = list(sample_histories(count, seed=seed).reports)
    else:
        reports = sample_reports(count, seed=seed)
    if not 0 <= bad <= len(reports):
        raise ValueError(
            f"bad must be from 0 to the number of items ({len(reports)}), got {bad}"
        )
    rng = random.Random(seed)
    kinds: tuple[tuple[str, str], ...] = _BAD_FIELDS
    if chosen is Format.JSON:
        reports = [attrs.evolve(r, sms=None, viber=None) for r in reports]
        kinds = tuple(kind for kind in _BAD_FIELDS if kind[0] != "sms")
    pieces: list[StatusReport | str] = list(reports)
    for at in rng.sample(range(len(reports)), bad):
        pieces[at] = _bad_item(reports[at], rng.choice(kinds), chosen)
    return encode_document(chosen, pieces)


def _bad_item(report: StatusReport, kind: tuple[str, str], format: Format) -> str:
    fields: dict[str, str] = json.loads(encode_json([report]))[0]
    field, value = kind
    fields[field] = value
    if format is Format.JSON:
        return json.dumps(fields)
    state = fields.pop("state")
    attributes = "".join(f' {name}="{text}"' for name, text in fields.items())
    return f"<state{attributes}>{state}</state>"
