"""A FastAPI app that receives the gateway's delivery statuses into SQLite.

The router ``smsstatus.fastapi.router`` does the work: ``POST /statuses/{token}``
reads the body piece by piece (413 past 16 MiB), stores the batch in the table of
`smsstatus.sql.StatusTable` in a worker thread, and answers with the ids it stored.

Configuration, from the environment (see README.md):

- ``SMSSTATUS_TOKEN``: the secret part of the URL you give the gateway (required,
  at least 32 characters);
- ``SMSSTATUS_DATABASE``: the SQLite file (default ``statuses.sqlite3``);
- ``SMSSTATUS_TIMEZONE``: the zone of the gateway's times (default ``UTC``).
"""

from __future__ import annotations

import logging
import os
from contextlib import closing

from fastapi import FastAPI

import smsstatus.fastapi
from smsstatus.sql import StatusTable, connect_sqlite, per_thread

# uvicorn's logs show the request's path (the access log in each line, the error
# log in a traceback that quotes it, the ASGI messages at --log-level trace): show
# the token as ***.
for name in ("uvicorn.access", "uvicorn.error", "uvicorn.asgi"):
    logging.getLogger(name).addFilter(smsstatus.RedactToken())


def create_app(
    *,
    token: str | None = None,
    database: str | None = None,
    timezone: str | None = None,
) -> FastAPI:
    """The application factory (``uvicorn --factory fastapi_statuses:create_app``).

    Arguments left out are read from the environment.
    """
    token = token or os.environ.get("SMSSTATUS_TOKEN", "")
    database = database or os.environ.get("SMSSTATUS_DATABASE", "statuses.sqlite3")
    timezone = timezone or os.environ.get("SMSSTATUS_TIMEZONE", "UTC")
    # --- setup: start
    with closing(connect_sqlite(database)) as connection:
        StatusTable().create(connection)
    app = FastAPI()
    app.include_router(
        smsstatus.fastapi.router(
            token=token,
            # One connection kept per worker thread, reopened after a failure.
            connect=per_thread(lambda: connect_sqlite(database)),
            timezone=timezone,
            db_threads=1,  # SQLite writes one at a time: one thread, a warm connection
        )
    )
    # --- setup: end
    return app
