"""`per_thread`: a connection kept open per thread, for the receivers' ``connect``.

Strategy.  Opening a database connection costs as much as storing a delivery
(SQLite also checkpoints its WAL when the last connection closes), so each thread
keeps the one it opened and lends it again to every block that follows.  Drivers'
connections belong to one thread (sqlite3 refuses any other), so they are kept in a
`threading.local` and never shared: a thread's connection is closed when the thread
ends (its locals go with it), which bounds the open connections by the live threads
of the server (a worker's threads, or FastAPI's pool of 40 at most).  A block that
raises may have left the connection broken (a database restarted, a file made
read-only, a transaction aborted), so the connection is closed and forgotten and the
next block opens a new one: a failure is answered once, never kept.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any, TypeVar

__all__ = ["per_thread"]

C = TypeVar("C")


def per_thread(connect: Callable[[], C]) -> Callable[[], AbstractContextManager[C]]:
    """Turn `connect`, a function that opens a DB-API connection, into the
    ``connect`` the receivers take, keeping one connection open per thread::

        connect = per_thread(lambda: connect_sqlite("statuses.sqlite3"))
        app.register_blueprint(smsstatus.flask.blueprint(connect))

    Each call of the result gives a context manager lending the calling thread's
    connection, opened by `connect` on the thread's first call and kept for the
    next.  When the block it was lent to raises, the connection is closed and
    forgotten, so the thread's next call opens a new one (after a database restart,
    a file made read-only); the exception propagates.  A thread's connection is
    closed when the thread ends.  The blocks must end their transactions (the
    receivers' and `StatusTable`'s writes commit or roll back before they return).
    """
    local = threading.local()

    def this_threads() -> _Kept:
        kept: _Kept | None = getattr(local, "kept", None)
        if kept is None:
            kept = local.kept = _Kept(connect())
        return kept

    @contextmanager
    def lend() -> Iterator[C]:
        kept = this_threads()
        try:
            yield kept.connection
        except BaseException:
            if getattr(local, "kept", None) is kept:  # not already closed by a nested
                del local.kept
            kept.close()
            raise

    return lend


class _Kept:
    """A thread's connection, closed by `close`, or else when the thread's locals let
    go of it (the thread ended, or the app holding `per_thread` was collected).
    That second close is a weakref finaliser, not ``__del__``: when the keeper and
    the connection are collected together, weakref callbacks run before the
    garbage's own finalisers, so the driver never finds the connection open (Python
    3.13 warns about an unclosed sqlite3 connection).  It runs on the thread that
    lets go: a sqlite3 connection refuses a close from any thread but its own, so
    an app collected on another thread leaves its threads' SQLite connections to
    the driver, which closes them when they are collected (with that warning)."""

    __slots__ = ("__weakref__", "close", "connection")

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.close = weakref.finalize(self, _close_quietly, connection)


def _close_quietly(connection: Any) -> None:
    # Closing a broken connection may fail too; the block's error is the one that
    # matters.
    with suppress(Exception):
        connection.close()
