"""``--recover-every``: recovery passes in a background thread of the server.

Strategy.  One daemon thread in the server's main process (beside the workers, not
in each of them: the lock in `recover_pending` keeps it to one pass at a time with
cron jobs and other servers anyway).  It runs a pass at once, then one every
`every` seconds; while the gateway is unavailable it waits twice as long after each
failure (up to an hour, or `every` when that is longer), so an outage is not met
with a storm of requests.  Each pass's outcome goes to the log and the metrics.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from smsstatus.pull import GatewayUnavailable

from ._recovery import Pass

__all__ = ["RecoveryLoop"]

logger = logging.getLogger("smsstatus.recover")

_MAX_BACKOFF = 3600.0


class RecoveryLoop:
    """Runs `job` (a recovery pass) every `every` seconds in a thread, between
    `start` and `stop`; `counters` are `recovery_counters`'s."""

    def __init__(
        self, job: Callable[[], Pass | None], *, every: float, counters: dict[str, Any]
    ) -> None:
        self._job = job
        self._every = every
        self._counters = counters
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="smsstatus-recovery", daemon=True
        )

    def start(self) -> None:
        """Start the thread; the first pass runs at once."""
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Ask the thread to stop and wait up to `timeout` seconds for the pass it is
        in to end (a pass stopped half-way loses nothing: what was not stored is
        still pending)."""
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        delay = 0.0
        while not self._stopping.wait(delay):
            delay = self._every
            try:
                done = self._job()
            except GatewayUnavailable as exc:
                failures += 1
                delay = min(self._every * 2**failures, max(self._every, _MAX_BACKOFF))
                logger.warning(
                    "recovery: the gateway is unavailable (%s); next pass in %.0f s",
                    exc,
                    delay,
                )
                self._count("unavailable")
                continue
            except Exception as exc:  # the loop must outlive any one failure
                logger.error("recovery failed: %s: %s", type(exc).__name__, exc)
                self._count("failed")
                continue
            failures = 0
            if done is None:
                self._count("busy")
                continue
            self._count("done")
            self._counters["asked"].inc(done.asked)
            self._counters["stored"].inc(done.stored)

    def _count(self, outcome: str) -> None:
        self._counters["passes"].labels(outcome=outcome).inc()
