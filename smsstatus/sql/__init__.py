"""The statuses, kept in SQLite or PostgreSQL: `StatusTable` (the latest status of
each message, and the ledger: every status it went through, every delivery, every
rejected item), `connect_sqlite`, and `per_thread`, a connection kept open per
thread for the receivers.

::

    table = StatusTable()
    table.create(connection)
    ack = table.receive(connection, body, remote=peer)
"""

from ._connections import per_thread
from ._records import Change, Event, Pruned, Rejected, Sent, Update, Webhook
from ._sqlite import connect_sqlite
from ._stats import Bucket
from ._table import StatusTable

__all__ = [
    "Bucket",
    "Change",
    "Event",
    "Pruned",
    "Rejected",
    "Sent",
    "StatusTable",
    "Update",
    "Webhook",
    "connect_sqlite",
    "per_thread",
]
