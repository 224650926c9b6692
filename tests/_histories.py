"""Delivery histories: several statuses per message, as the gateway reports them over
time, for the concurrency tests and the storage benchmarks (``bench/``).
"""

from __future__ import annotations

import random

from smsstatus import Status, StatusReport
from smsstatus.testing import sample_reports

__all__ = ["histories", "shuffled_with_duplicates"]


def histories(
    count: int, *, seed: int
) -> tuple[list[StatusReport], list[StatusReport]]:
    """`count` messages' histories: every report sent about them (in order of time),
    and the latest report of each message, the one the table must end with.

    Each message was sent first (``send``, no time); a message read was delivered
    before; so a history holds one to three statuses, each further along than the
    one before.
    """
    latest = sample_reports(count, seed=seed)
    history = []
    for report in latest:
        if report.state is not Status.SEND:
            history.append(StatusReport(report.id_sms, None, Status.SEND))
        if report.state is Status.READ:
            history.append(
                StatusReport(
                    report.id_sms, report.time, Status.DELIVER, viber=Status.DELIVER
                )
            )
        history.append(report)
    return history, latest


def shuffled_with_duplicates(
    reports: list[StatusReport], *, seed: int, duplicate: float = 0.3
) -> list[StatusReport]:
    """`reports` in a random order, a `duplicate` share of them twice."""
    rng = random.Random(seed)
    mixed = reports + [report for report in reports if rng.random() < duplicate]
    rng.shuffle(mixed)
    return mixed
