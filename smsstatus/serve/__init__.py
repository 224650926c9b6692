"""The standalone receiver behind ``smsstatus serve`` (extra ``smsstatus[server]``).

For applications not written in Python: a production receiver in one command that
writes the ledger (`smsstatus.sql.StatusTable`) into a SQLite file or a PostgreSQL
database, where the application reads it.  See the manual's "Standalone receiver"
page.

- `Receiver` (``_app.py``): the ASGI application each worker runs;
- ``_run.py``: uvicorn, its workers, logging, metrics and signals;
- `recover_pending` (``_recovery.py``): one recovery pass under the table's lock,
  shared by ``serve --recover-every`` (``_loop.py``) and ``smsstatus recover``.

This package imports uvicorn and prometheus_client only when the server starts.
"""

from ._app import Receiver
from ._recovery import Pass, recover_pending
from ._settings import Settings

__all__ = ["Pass", "Receiver", "Settings", "recover_pending"]
