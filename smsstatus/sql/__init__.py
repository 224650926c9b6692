"""The statuses, kept in SQLite or PostgreSQL: `StatusTable` (the latest status of
each message, and the ledger: every status it went through, every delivery, every
rejected item) and `connect_sqlite`.

::

    table = StatusTable()
    table.create(connection)
    ack = table.receive(connection, body, remote=peer)
"""

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
]
