"""A Flask app that receives the gateway's delivery statuses into SQLite.

One endpoint, ``POST /statuses/<token>``: the gateway posts a batch of statuses, each
is stored with the standard library's sqlite3 (keeping per message only the report
that supersedes the stored one), and the answer acknowledges the ids that were stored.

Configuration, from the environment (see README.md):

- ``SMSSTATUS_TOKEN``: the secret part of the URL you give the gateway (required);
- ``SMSSTATUS_DATABASE``: the SQLite file (default ``statuses.sqlite3``);
- ``SMSSTATUS_TIMEZONE``: the zone of the gateway's times (default ``UTC``).
"""

from __future__ import annotations

import hmac
import os
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, abort, current_app, g, request

import smsstatus
from smsstatus import Status, StatusReport

SCHEMA = """
CREATE TABLE IF NOT EXISTS delivery (
    id_sms INTEGER PRIMARY KEY,
    state TEXT NOT NULL,
    time TEXT,  -- ISO 8601 with the gateway's UTC offset; NULL while none came
    sms TEXT,
    viber TEXT
)
"""


def connect(path: str) -> sqlite3.Connection:
    # isolation_level=None: transactions are begun explicitly, below.
    return sqlite3.connect(path, isolation_level=None)


def stored_report(db: sqlite3.Connection, id_sms: int) -> StatusReport | None:
    row = db.execute(
        "SELECT id_sms, time, state, sms, viber FROM delivery WHERE id_sms = ?",
        (id_sms,),
    ).fetchone()
    if row is None:
        return None
    id_sms, time, state, sms, viber = row
    return StatusReport(
        id_sms,
        time=None if time is None else datetime.fromisoformat(time),
        state=Status(state),
        sms=None if sms is None else Status(sms),
        viber=None if viber is None else Status(viber),
    )


def record(db: sqlite3.Connection, report: StatusReport) -> None:
    """Store `report` unless the stored report of its message is as far along.

    Duplicates and late arrivals are dropped here, and a final state is never
    replaced.  BEGIN IMMEDIATE takes SQLite's write lock before the read, so two
    requests cannot both read the old row and then both write.
    """
    with db:  # commits, or rolls back when an exception escapes
        db.execute("BEGIN IMMEDIATE")
        if report.supersedes(stored_report(db, report.id_sms)):
            db.execute(
                "INSERT OR REPLACE INTO delivery (id_sms, time, state, sms, viber)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    report.id_sms,
                    None if report.time is None else report.time.isoformat(" "),
                    report.state.value,
                    None if report.sms is None else report.sms.value,
                    None if report.viber is None else report.viber.value,
                ),
            )


def get_db() -> sqlite3.Connection:
    """The request's connection, closed when the request ends."""
    if "db" not in g:
        g.db = connect(current_app.config["SMSSTATUS_DATABASE"])
    return g.db


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """The application factory (``flask --app flask_statuses run`` calls it)."""
    app = Flask(__name__)
    app.config.from_mapping(
        SMSSTATUS_TOKEN=os.environ.get("SMSSTATUS_TOKEN", ""),
        SMSSTATUS_DATABASE=os.environ.get("SMSSTATUS_DATABASE", "statuses.sqlite3"),
        SMSSTATUS_TIMEZONE=os.environ.get("SMSSTATUS_TIMEZONE", "UTC"),
        # Refuse oversized bodies (413) before reading them; the same bound as
        # smsstatus's own default limit.
        MAX_CONTENT_LENGTH=smsstatus.Limits().max_bytes,
    )
    app.config.update(test_config or {})
    token = app.config["SMSSTATUS_TOKEN"].encode()
    if not token:
        raise RuntimeError("set SMSSTATUS_TOKEN to a long random string")
    gateway_tz = ZoneInfo(app.config["SMSSTATUS_TIMEZONE"])
    with closing(connect(app.config["SMSSTATUS_DATABASE"])) as db:
        db.execute(SCHEMA)

    @app.teardown_appcontext
    def close_db(exc: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()

    # --- view: start
    @app.post("/statuses/<token_in_url>")
    def statuses(token_in_url: str) -> tuple[bytes, int, dict[str, str]]:
        # compare_digest takes as long for a near miss as for a far one.
        if not hmac.compare_digest(token_in_url.encode(), token):
            abort(404)
        db = get_db()
        ack = smsstatus.receive(
            request.get_data(), lambda report: record(db, report), tz=gateway_tz
        )
        return ack.body, ack.status, {"Content-Type": ack.content_type}

    # --- view: end

    return app
