"""A Flask app that receives the gateway's delivery statuses into SQLite.

The blueprint ``smsstatus.flask.blueprint`` does the work: ``POST /statuses/<token>``
stores each batch in the table of `smsstatus.sql.StatusTable` (one row per message,
never moved backwards) and answers with the ids it stored.

Configuration, from the environment (see README.md):

- ``SMSSTATUS_TOKEN``: the secret part of the URL you give the gateway (required,
  at least 32 characters);
- ``SMSSTATUS_DATABASE``: the SQLite file (default ``statuses.sqlite3``);
- ``SMSSTATUS_TIMEZONE``: the zone of the gateway's times (default ``UTC``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from contextlib import closing
from typing import Any

from flask import Flask

import smsstatus.flask
from smsstatus.sql import StatusTable, connect_sqlite, per_thread

# The development server logs each request's path: show the token as ***.
logging.getLogger("werkzeug").addFilter(smsstatus.RedactToken())


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """The application factory (``flask --app flask_statuses run`` calls it)."""
    app = Flask(__name__)
    # Flask logs an exception a request ends in with the request's path: show the
    # token as *** there too.
    app.logger.addFilter(smsstatus.RedactToken())
    app.config.from_mapping(
        SMSSTATUS_TOKEN=os.environ.get("SMSSTATUS_TOKEN", ""),
        SMSSTATUS_DATABASE=os.environ.get("SMSSTATUS_DATABASE", "statuses.sqlite3"),
        SMSSTATUS_TIMEZONE=os.environ.get("SMSSTATUS_TIMEZONE", "UTC"),
    )
    app.config.update(test_config or {})
    # --- setup: start
    database = app.config["SMSSTATUS_DATABASE"]
    with closing(connect_sqlite(database)) as connection:
        StatusTable().create(connection)
    # One connection kept per worker thread, reopened after a failure.
    connect = per_thread(lambda: connect_sqlite(database))
    app.register_blueprint(smsstatus.flask.blueprint(connect))
    # --- setup: end
    return app
