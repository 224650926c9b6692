"""The statuses, kept in SQLite or PostgreSQL: `StatusTable` and `connect_sqlite`.

::

    table = StatusTable()
    table.create(connection)
    ack = smsstatus.receive_batch(body, lambda reports: table.save(connection, reports))
"""

from ._stats import Bucket
from ._table import Change, StatusTable, Update, connect_sqlite

__all__ = ["Bucket", "Change", "StatusTable", "Update", "connect_sqlite"]
