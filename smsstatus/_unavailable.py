"""What every receiver does when the database fails: answer 503 with a
``Retry-After``, log one line, and bound its own database waits.

Strategy.  A receiver that cannot store a delivery must say "try again" in a way
the gateway, a proxy and a monitor all understand: 503, never a 200 that takes
nothing (the gateway re-sends, but the access log shows success) nor a 500 page (and
a framework's error log names the URL, which holds the token).  The log line is one
line of the exception's type and message, white space folded, cut to a bounded
length: never the URL, the body or a traceback.  The waits: PostgreSQL's
``lock_timeout`` and ``statement_timeout`` are set with ``SET LOCAL`` (through
``set_config(..., true)``), so they hold for the receiver's own transaction only,
never for the rest of the application's connection.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "DEFAULT_TIMEOUT",
    "RETRY_AFTER",
    "bound_waits",
    "log_unavailable",
    "timeout_settings",
]

logger = logging.getLogger("smsstatus")

#: Seconds the gateway is asked to wait before it re-sends (``Retry-After``).
RETRY_AFTER = 5
#: Seconds a receiver's statement may wait for a lock or run, by default: well below
#: gunicorn's 30 s worker timeout, so a worker answers 503 instead of being killed.
DEFAULT_TIMEOUT = 10.0
_MAX_MESSAGE = 300


def log_unavailable(
    exc: BaseException, *, what: str = "delivery not stored, answered 503"
) -> None:
    """The one line a receiver logs (logger ``"smsstatus"``, ERROR) when it answers
    503: `what`, then the exception's type and message, white space folded, at most
    300 characters."""
    message = " ".join(str(exc).split())
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    logger.error(
        "%s: %s: %s",
        what,
        type(exc).__name__,
        message,
    )


def timeout_settings(seconds: float) -> tuple[str, tuple[str, str]]:
    """The statement that bounds this transaction's lock and statement waits to
    `seconds`, and its parameters (PostgreSQL)."""
    value = f"{max(1, round(seconds * 1000))}ms"
    return (
        "SELECT set_config('lock_timeout', %s, true),"
        " set_config('statement_timeout', %s, true)",
        (value, value),
    )


@contextmanager
def bound_waits(connection: Any, seconds: float | None) -> Iterator[None]:
    """On a psycopg connection, a transaction (or, inside the caller's, a savepoint)
    whose lock and statement waits are bounded to `seconds`; `StatusTable` joins
    it.  On SQLite, or with `seconds` None, nothing: SQLite's bound is the
    connection's busy timeout."""
    # psycopg's connection by its module, as StatusTable tells them apart: the
    # driver is not imported here.
    psycopg = type(connection).__module__.split(".")[0] == "psycopg"
    if seconds is None or not psycopg:
        yield
        return
    with connection.transaction():
        connection.execute(*timeout_settings(seconds))
        yield
