"""The ledger on Django's own connections: `register_sent`, the one way the app's
code hands a Django connection to `StatusTable`, and ``status_changed`` after the
commit.

Strategy.  `StatusTable` takes the DB-API connection under Django's wrapper
(``sqlite3`` or ``psycopg`` 3).  Taking it bare would bypass what Django does for a
cursor: ``CONN_HEALTH_CHECKS`` runs only when a cursor is opened, so `table_connection`
opens (and closes) one Django cursor first, which reconnects a persistent connection
that died with its server.  Inside a transaction of the caller's it opens a
savepoint (which also makes Django really begin that transaction, lazily begun on
PostgreSQL), so `StatusTable` joins it; on PostgreSQL with a bound on the waits, a
transaction of its own, begun on the driver's connection (Django's is in autocommit
mode there), whose ``lock_timeout`` and ``statement_timeout`` are set with ``SET
LOCAL``; otherwise (SQLite) `StatusTable` begins and commits its own (``BEGIN
IMMEDIATE``).  Driver errors come out as Django's, and mark the connection as having
failed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from django.db import connections, router, transaction

from smsstatus._unavailable import bound_waits, timeout_settings
from smsstatus.sql import Change, Sent, StatusTable

from .models import Delivery
from .signals import status_changed

__all__ = ["TABLE", "announce", "discard_failed", "register_sent", "table_connection"]

logger = logging.getLogger("smsstatus")

#: The ledger the app's models describe.
TABLE = StatusTable(Delivery._meta.db_table)


@contextmanager
def table_connection(alias: str, *, timeout: float | None = None) -> Iterator[Any]:
    """The DB-API connection of Django's database `alias`, ready for one
    `StatusTable` call (see the module's strategy).  `timeout` bounds the waits of
    the statements run inside, on PostgreSQL."""
    connection = connections[alias]
    connection.cursor().close()  # connects, or reconnects after a failed health check
    bound = timeout if connection.vendor == "postgresql" else None
    if connection.in_atomic_block:
        with transaction.atomic(using=alias), connection.wrap_database_errors:
            if bound is not None:
                with connection.cursor() as cursor:
                    cursor.execute(*timeout_settings(bound))
            yield connection.connection
    else:
        # Django's atomic block and cursor would cost more than the statement the
        # bound needs: the driver's connection begins the transaction itself.
        with connection.wrap_database_errors, bound_waits(connection.connection, bound):
            yield connection.connection


def discard_failed(alias: str) -> None:
    """After a failure: close the connection, so that the next request opens a new
    one.  Django closes a failed persistent connection only when ``is_usable()``
    says no, which on SQLite it never does (a connection opened while the file was
    read-only stays so).  Inside a transaction of the caller's it is left to them."""
    connection = connections[alias]
    if not connection.in_atomic_block:
        connection.close()


def register_sent(
    sent: Iterable[Sent | int], *, using: str | None = None
) -> frozenset[int]:
    """Record messages the application has sent (`StatusTable.register` on the
    database `Delivery` is written to, or `using`): each gets a row in state
    ``send`` until its first status comes, so that recovery knows about it even if
    the gateway never pushes a word.  Returns the ids recorded.  Inside a
    transaction of yours, it joins it."""
    alias = using or router.db_for_write(Delivery)
    with table_connection(alias) as raw:
        return TABLE.register(raw, sent)


def announce(alias: str, changes: Iterable[Change]) -> None:
    """Send ``status_changed`` for each change once the data is committed: at once
    when it was committed already (autocommit), after the caller's commit when it
    was written inside their transaction."""
    for change in changes:
        transaction.on_commit(partial(_send, change), using=alias)


def _send(change: Change) -> None:
    for receiver, result in status_changed.send_robust(
        sender=Delivery, report=change.report, previous=change.previous
    ):
        if isinstance(result, Exception):
            logger.error(
                "status_changed receiver %r failed for id_sms=%d",
                receiver,
                change.report.id_sms,
                exc_info=result,
            )
