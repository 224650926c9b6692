"""What the fault tests share (test_faults.py for Flask, test_django.py for Django):
numbered deliveries through a WSGI app, one attempt each, and what was
acknowledged."""

from __future__ import annotations

from typing import Any
from wsgiref.util import setup_testing_defaults

from smsstatus import Status, StatusReport
from smsstatus.testing import Gateway


class Deliveries:
    """Delivers numbered batches of new ids through the app, one attempt each, and
    keeps what was acknowledged."""

    def __init__(self, app: Any, path: str, health: str) -> None:
        self.app, self.path, self.health_path = app, path, health
        self.acknowledged: set[int] = set()
        self.next_id = 1

    def batch(self, size: int = 10) -> list[StatusReport]:
        ids = range(self.next_id, self.next_id + size)
        self.next_id += size
        return [StatusReport(i, time=None, state=Status.DELIVER) for i in ids]

    def deliver(self, reports: list[StatusReport]) -> int | None:
        """One attempt: its HTTP status."""
        delivery = Gateway(attempts=1).deliver_wsgi(self.app, reports, path=self.path)
        self.acknowledged |= delivery.acknowledged
        (attempt,) = delivery.attempts
        return attempt.status

    def health(self) -> int:
        """GET the health endpoint: its HTTP status."""
        answer: list[str] = []
        environ = {"PATH_INFO": self.health_path, "HTTP_HOST": "testserver"}
        setup_testing_defaults(environ)
        body = self.app(environ, lambda status, headers, *_: answer.append(status))
        b"".join(body)
        getattr(body, "close", lambda: None)()
        return int(answer[0].split()[0])


def back_within_two(deliveries: Deliveries) -> None:
    """A new batch is acknowledged in full on its first or second attempt."""
    reports = deliveries.batch()
    statuses = [deliveries.deliver(reports)]
    if statuses[0] != 200:
        statuses.append(deliveries.deliver(reports))
    assert statuses[-1] == 200, statuses
    assert {r.id_sms for r in reports} <= deliveries.acknowledged
