"""The log line of the receive path: `enable` adds one sink to the observation hook,
which logs one INFO record per status document on the logger ``smsstatus.webhook``.

Strategy.  The message is one line of ``key=value`` pairs, for people and for
``grep``; the same fields, as a dict, are the record's attribute ``smsstatus``, for
structured handlers (JSON formatters read the record's attributes).  The body is
named by the first 12 hex digits of its SHA-256, never shown, and the token never
reaches this module.  The record is built only when the logger would emit it at
INFO, so a logging configuration that silences the logger also makes the line cost
next to nothing.
"""

from __future__ import annotations

import logging

from ._observe import Document, add_sink, remove_sink

__all__ = ["LOGGER", "disable", "enable"]

#: The logger of the line: ``smsstatus.webhook``.
LOGGER = logging.getLogger("smsstatus.webhook")


# The message, its fields in the order `_log` lists them: the record formats it
# only when a handler emits it.
_LINE = " ".join(
    f"{key}=%s"
    for key in (
        "format", "size", "reports", "taken", "rejected", "code", "duration_ms",
        "sha256",
    )
)  # fmt: skip


def _log(document: Document) -> None:
    if not LOGGER.isEnabledFor(logging.INFO):
        return
    fields = {
        "format": document.format_name,
        "size": document.size,
        "reports": document.reports,
        "taken": len(document.taken),
        "rejected": document.rejected,
        "code": document.code,
        "duration_ms": round(document.seconds * 1000, 3),
        "sha256": document.sha256[:12],
    }
    LOGGER.info(_LINE, *fields.values(), extra={"smsstatus": fields})


def enable() -> None:
    """Log one INFO line per status document answered from now on (logger
    ``smsstatus.webhook``; configure its handlers and level as for any logger).
    Calling it again does nothing."""
    add_sink(_log)


def disable() -> None:
    """Stop logging the line."""
    remove_sink(_log)
