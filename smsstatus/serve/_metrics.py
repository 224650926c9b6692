"""The server's metrics: every worker's, and the recovery loop's, in one exposition.

Strategy.  prometheus_client's multiprocess mode: the command points
``PROMETHEUS_MULTIPROC_DIR`` at a new directory before any process imports
prometheus_client, each process writes its values to its own files there, and
``GET /metrics`` (in whichever worker answers it) adds them up, so the counts are
the server's, not one worker's.  The receive path's metrics are
``smsstatus.metrics``'s (its log line ``smsstatus.weblog``'s), turned on in each
worker; the recovery loop's are defined here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["enable", "recovery_counters"]


def enable() -> Callable[[], tuple[str, bytes]]:
    """Turn the receive path's metrics and log line on in this process; return the
    exposition of all the server's processes together (content type, body)."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
    from prometheus_client import generate_latest as _generate
    from prometheus_client.multiprocess import MultiProcessCollector

    from smsstatus import metrics, weblog

    metrics.enable()
    weblog.enable()

    def exposition() -> tuple[str, bytes]:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return CONTENT_TYPE_LATEST, _generate(registry)

    return exposition


def recovery_counters() -> dict[str, Any]:
    """The recovery loop's counters: ``passes`` (label ``outcome``: ``done``,
    ``busy``, ``unavailable``, ``failed``), ``asked`` and ``stored``."""
    from prometheus_client import Counter

    return {
        "passes": Counter(
            "smsstatus_recovery_passes_total",
            "Recovery passes, by outcome.",
            ["outcome"],
        ),
        "asked": Counter(
            "smsstatus_recovery_asked_total",
            "Pending messages recovery asked the gateway about.",
        ),
        "stored": Counter(
            "smsstatus_recovery_stored_total",
            "Messages whose status recovery stored.",
        ),
    }
