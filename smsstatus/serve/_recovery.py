"""Recovery of what the push channel dropped: one pass, run by ``smsstatus recover``
(cron) and by ``smsstatus serve --recover-every`` alike.

Strategy.  A pass walks `StatusTable.pending` a page at a time (``limit``), so a
million pending messages cost bounded memory, asks the gateway about each page
(`smsstatus.pull.recover`) and stores the answers with ``source="pull"``, a page
stored before the next is asked for.  An answered message drops out of `pending`
(its row changed); one the gateway could not answer stays at the head, so each read
asks for as many more rows as the pass has already seen and skips them, and the pass
ends when a read brings no id it has not seen.

Only one pass runs at a time per table, whoever starts it (the server's workers, a
cron job, another host): on PostgreSQL a session advisory lock keyed by the table's
name, on SQLite an exclusive ``flock`` on a file beside the database (SQLite is on
one host anyway, and the operating system drops the lock of a process that died, so
there is no lease to expire).  A pass that finds the lock taken does nothing and
says so.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta, tzinfo
from typing import Any

import attrs

from smsstatus.pull import DEFAULT_BASE_URL, Credentials, recover
from smsstatus.sql import StatusTable
from smsstatus.sql._url import connect

__all__ = ["Pass", "recover_pending"]

logger = logging.getLogger("smsstatus.recover")


@attrs.frozen
class Pass:
    """What one recovery pass did: the ids it `asked` the gateway about, those whose
    statuses were `stored`, and those the gateway had no status for (`unanswered`)."""

    asked: int = 0
    stored: int = 0
    unanswered: int = 0


def recover_pending(
    url: str,
    credentials: Credentials,
    *,
    older_than: timedelta,
    table: StatusTable | None = None,
    page: int = 500,
    base_url: str = DEFAULT_BASE_URL,
    tz: tzinfo | None = None,
) -> Pass | None:
    """Ask the gateway about every message of the database at `url` that
    `StatusTable.pending` lists as `older_than`, `page` ids at a time, and store
    the answers.  None when another pass holds the lock.  The exceptions of
    `smsstatus.pull.fetch_states` propagate, after the pages already answered were
    stored; the driver's propagate as raised."""
    table = table or StatusTable()
    connection = connect(url)
    try:
        with _exclusive(connection, table) as held:
            if not held:
                logger.info("recovery: another pass is running, nothing done")
                return None
            return _walk(
                connection,
                table,
                credentials,
                older_than=older_than,
                page=page,
                base_url=base_url,
                tz=tz,
            )
    finally:
        connection.close()


def _walk(
    connection: Any,
    table: StatusTable,
    credentials: Credentials,
    *,
    older_than: timedelta,
    page: int,
    base_url: str,
    tz: tzinfo | None,
) -> Pass:
    seen: set[int] = set()
    done = Pass()
    while True:
        listed = table.pending(connection, older_than, limit=len(seen) + page)
        ids = [id_sms for id_sms in listed if id_sms not in seen][:page]
        if not ids:
            return done
        seen.update(ids)
        recovery = recover(
            ids,
            credentials,
            lambda reports: table.save(connection, reports, source="pull"),
            base_url=base_url,
            tz=tz,
        )
        done = Pass(
            asked=done.asked + len(recovery.asked),
            stored=done.stored + len(recovery.taken),
            unanswered=done.unanswered + len(recovery.unanswered),
        )
        logger.info(
            "recovery: asked %d, stored %d, unanswered %d (this pass so far)",
            done.asked,
            done.stored,
            done.unanswered,
        )


@contextmanager
def _exclusive(connection: Any, table: StatusTable) -> Iterator[bool]:
    """Whether this pass holds the table's recovery lock, for the ``with`` block."""
    if type(connection).__module__.startswith("sqlite3"):
        with _file_lock(connection, table) as held:
            yield held
        return
    digest = hashlib.sha256(f"smsstatus.recover {table.name}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    # A session lock (the connection is in autocommit mode): the ledger's own
    # transactions come and go under it.
    (held,) = connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
    yield bool(held)
    # Closing the connection (the caller does) releases the lock.


@contextmanager
def _file_lock(connection: Any, table: StatusTable) -> Iterator[bool]:
    import fcntl

    (_, _, path) = connection.execute("PRAGMA database_list").fetchone()
    with open(f"{path}-{table.name}.recover-lock", "a") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True  # closing the file releases the lock
