"""A FastAPI app that receives the gateway's delivery statuses into SQLite.

One endpoint, ``POST /statuses/{token}``: `smsstatus.areceive` hands each status of
the batch to an async handler, which stores it with SQLAlchemy (keeping per message
only the report that supersedes the stored one) in a worker thread, so the event loop
never waits on the database.

Configuration, from the environment (see README.md):

- ``SMSSTATUS_TOKEN``: the secret part of the URL you give the gateway (required);
- ``SMSSTATUS_DATABASE``: the SQLite file (default ``statuses.sqlite3``);
- ``SMSSTATUS_TIMEZONE``: the zone of the gateway's times (default ``UTC``).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, HTTPException, Request, Response
from sqlalchemy import BigInteger, Engine, String, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from starlette.concurrency import run_in_threadpool

import smsstatus
from smsstatus import Status, StatusReport


class Base(DeclarativeBase):
    pass


class Delivery(Base):
    """The latest status of one message."""

    __tablename__ = "delivery"

    id_sms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # ISO 8601 with the gateway's UTC offset (SQLite has no zone-aware type).
    time: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    sms: Mapped[str | None] = mapped_column(String(16))
    viber: Mapped[str | None] = mapped_column(String(16))

    def report(self) -> StatusReport:
        """The stored status as a `StatusReport`, to compare with a new one."""
        return StatusReport(
            self.id_sms,
            time=None if self.time is None else datetime.fromisoformat(self.time),
            state=Status(self.state),
            sms=None if self.sms is None else Status(self.sms),
            viber=None if self.viber is None else Status(self.viber),
        )


def sqlite_engine(path: str) -> Engine:
    """An engine whose transactions take SQLite's write lock when they begin.

    The sqlite3 driver would otherwise begin a transaction only at the first write,
    after our read: two requests could both read the old row and both write.
    """
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def no_implicit_begin(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    Base.metadata.create_all(engine)
    return engine


def record(engine: Engine, report: StatusReport) -> None:
    """Store `report` unless the stored report of its message is as far along.

    Duplicates and late arrivals are dropped here, and a final state is never
    replaced.
    """
    with Session(engine) as session, session.begin():
        stored = session.get(Delivery, report.id_sms)
        if report.supersedes(stored and stored.report()):
            session.merge(
                Delivery(
                    id_sms=report.id_sms,
                    time=None if report.time is None else report.time.isoformat(" "),
                    state=report.state.value,
                    sms=None if report.sms is None else report.sms.value,
                    viber=None if report.viber is None else report.viber.value,
                )
            )


def create_app(
    *,
    token: str | None = None,
    database: str | None = None,
    timezone: str | None = None,
) -> FastAPI:
    """The application factory (``uvicorn --factory fastapi_statuses:create_app``).

    Arguments left out are read from the environment.
    """
    secret = (token or os.environ.get("SMSSTATUS_TOKEN", "")).encode()
    if not secret:
        raise RuntimeError("set SMSSTATUS_TOKEN to a long random string")
    engine = sqlite_engine(
        database or os.environ.get("SMSSTATUS_DATABASE", "statuses.sqlite3")
    )
    gateway_tz = ZoneInfo(timezone or os.environ.get("SMSSTATUS_TIMEZONE", "UTC"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()  # close the pooled connections when the server stops

    app = FastAPI(lifespan=lifespan)

    # --- view: start
    async def store(report: StatusReport) -> None:
        await run_in_threadpool(record, engine, report)

    @app.post("/statuses/{token_in_url}")
    async def statuses(token_in_url: str, request: Request) -> Response:
        # compare_digest takes as long for a near miss as for a far one.
        if not hmac.compare_digest(token_in_url.encode(), secret):
            raise HTTPException(status_code=404)
        ack = await smsstatus.areceive(await request.body(), store, tz=gateway_tz)
        return Response(
            ack.body, status_code=ack.status, headers={"Content-Type": ack.content_type}
        )

    # --- view: end

    return app
