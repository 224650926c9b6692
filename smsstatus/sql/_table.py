"""`StatusTable`: the latest status of each message, and the ledger around it.

::

    table = StatusTable()
    table.create(connection)
    ack = table.receive(connection, body, remote=peer)

Strategy
--------
One row per `id_sms` (the layout is fixed: Django's models in ``smsstatus.django``
mirror it column for column, so both can share the tables).  The rule that decides
whether a report replaces the stored one, `StatusReport.supersedes`, is evaluated by
the database itself, in the very statement that writes::

    INSERT INTO t (...) <the rows>
    ON CONFLICT (id_sms) DO UPDATE SET ... = excluded....
    WHERE <rank of excluded.state> > <rank of t.state>

where a rank is a ``CASE state WHEN 'send' THEN 0 ...`` built from the model's own
ranks.  There is no read in Python between deciding and writing, so any number of
processes and connections can save at once without coordinating: whatever the order
in which their statements run, the row ends with a report no saved report of its id
supersedes, because "keep the higher rank" is commutative and idempotent.  The
history is the same kind of write: an insert that a unique index over the report's
fields turns into nothing for a report already there (``ON CONFLICT DO NOTHING``),
in the same transaction as the upsert, so it holds each distinct report once,
whatever the retries, duplicates and writers.  How each database runs these is in
``_sqlite.py`` and ``_postgres.py``; a batch costs a statement per chunk of rows,
never one per report.

`update` is `save` that also tells what changed (for Django's signal): it must read
the rows it is about to replace, and nobody may change them between the read and the
write.  On SQLite it runs under ``BEGIN IMMEDIATE``, which takes the database's one
write lock before the read.  On PostgreSQL it must lock rows, and to stay
deadlock-free beside concurrent `save` calls it must lock all of them in one
statement, in id order, as `save` does: so its first statement is the same insert
with ``ON CONFLICT DO UPDATE ... WHERE false``, which inserts the new rows (returning
their ids) and locks the existing ones without changing them; the read and the
conditional upsert that follow wait for nobody.

Transactions: a write commits before it returns unless the caller already had a
transaction open on the connection, which it then joins (the caller commits).  Reads
leave no transaction open.  On SQLite, concurrent writers also need WAL and a busy
timeout, which `connect_sqlite` sets.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from smsstatus._ack import Ack
from smsstatus._body import Body
from smsstatus._model import Format, Limits, StatusReport

from . import _ledger, _receive, _stats
from ._dialect import MAX_ID, Log, Names, dialect_of
from ._records import Change, Event, Pruned, Rejected, Sent, Update, Webhook
from ._rows import logger, report_of, rows_of
from ._stats import Bucket
from ._store import store

__all__ = ["StatusTable"]

_SOURCES = ("push", "pull")


class StatusTable:
    """The tables that keep the latest status of each message and its ledger: every
    distinct report (with `history`, the default), every delivery, every rejected
    item.

    `name` is the latest table's name; the ledger's are `name` + ``_event``,
    ``_webhook`` and ``_rejected``.  Each must be a plain SQL identifier
    (``[A-Za-z_][A-Za-z0-9_]*``, at most 63 characters), else `ValueError`.  Every
    method takes a DB-API connection of the standard library's `sqlite3` or of
    `psycopg` 3, else `TypeError`; `connect_sqlite` opens a SQLite one ready for
    concurrent writers.
    """

    def __init__(
        self, name: str = "smsstatus_delivery", *, history: bool = True
    ) -> None:
        self._names = Names(name, bool(history))

    @property
    def name(self) -> str:
        """The latest table's name."""
        return self._names.latest

    @property
    def history_kept(self) -> bool:
        """Whether the history of each message is kept (``history=True``)."""
        return self._names.history

    def __repr__(self) -> str:
        if self._names.history:
            return f"StatusTable({self.name!r})"
        return f"StatusTable({self.name!r}, history=False)"

    def create(self, connection: Any) -> None:
        """Create the tables and indexes that do not exist yet, upgrade a 0.2 table
        in place (keeping its rows), and commit.  Idempotent, and safe to run from
        several processes at once."""
        dialect = dialect_of(connection)
        with dialect.transaction(connection, write=True) as cursor:
            dialect.create(cursor, self._names)

    def register(self, connection: Any, sent: Iterable[Sent | int]) -> frozenset[int]:
        """Record messages the application has sent (a bare int is `Sent(id)`), and
        return the ids it could hold (0 to 2**63 - 1; others are logged).

        A new id gets a row in state ``send`` with no time; an existing row keeps its
        state and gets `Sent.sent_at` / `Sent.tag` only where they are still empty
        (the first registration wins).  Adds no history event, but counts as a change
        of the row for `pending`.  Transactions as in `save`.
        """
        dialect = dialect_of(connection)
        kept: dict[int, tuple[int, Any, str | None]] = {}
        for item in sent:
            entry = item if isinstance(item, Sent) else Sent(item)
            id_sms = entry.id_sms
            if type(id_sms) is not int or not 0 <= id_sms <= MAX_ID:
                logger.warning("id_sms=%r cannot be registered; left out", id_sms)
                continue
            at = entry.sent_at
            if at is not None and at.tzinfo is not None:
                at = at.astimezone(timezone.utc).replace(tzinfo=None)
            first = kept.get(id_sms)
            if first is None:
                kept[id_sms] = (id_sms, at, entry.tag)
            else:  # the first registration wins, field by field
                kept[id_sms] = (
                    id_sms,
                    at if first[1] is None else first[1],
                    entry.tag if first[2] is None else first[2],
                )
        if kept:
            with dialect.transaction(connection, write=True) as cursor:
                dialect.register(cursor, self._names, list(kept.values()))
        return frozenset(kept)

    def save(
        self,
        connection: Any,
        reports: Iterable[StatusReport],
        *,
        source: str = "push",
    ) -> frozenset[int]:
        """Store each report unless its row already holds one at least as far along,
        append each report not seen before to the history (marked `source`:
        ``"push"``, or ``"pull"`` for what recovery fetched), and return the ids
        taken: every id of `reports` the table can hold, changed or not (an older or
        duplicate report needs no retry either).  With ``source="pull"`` every row
        taken counts as changed now, moved or not, so that `pending` asks about it
        again only after its `older_than`.

        Commits before returning, unless the connection is inside a transaction the
        caller opened: then it joins it, and the caller commits.  The rule is applied
        by the database in the writing statement itself, so concurrent savers need no
        coordination.  A report the table cannot hold (an id over 2**63 - 1, a time
        whose UTC instant is out of years 1-9999) is logged (logger ``"smsstatus"``)
        and its id left out of the result.
        """
        log = _log(source)
        dialect = dialect_of(connection)
        reports = tuple(reports)
        taken, rows = rows_of(dialect, reports)
        if rows:
            with dialect.transaction(connection, write=True) as cursor:
                store(dialect, cursor, self._names, reports, taken, rows, log, None)
        return frozenset(taken)

    def update(
        self,
        connection: Any,
        reports: Iterable[StatusReport],
        *,
        source: str = "push",
    ) -> Update:
        """`save`, also telling which rows it inserted or replaced and what they held.

        It reads the rows it is about to change in the same transaction, after
        locking them (the write lock on SQLite, row locks on PostgreSQL), so the
        changes are exact even while other processes save the same ids.
        """
        log = _log(source)
        dialect = dialect_of(connection)
        reports = tuple(reports)
        taken, rows = rows_of(dialect, reports)
        changes: list[Change] = []
        if rows:
            with dialect.transaction(connection, write=True) as cursor:
                store(dialect, cursor, self._names, reports, taken, rows, log, changes)
        return Update(frozenset(taken), tuple(changes))

    def receive(
        self,
        connection: Any,
        body: Body,
        *,
        format: Format | str | None = None,
        tz: tzinfo | None = None,
        limits: Limits | None = None,
        remote: str | None = None,
        keep_body: bool = False,
        changes: list[Change] | None = None,
    ) -> Ack:
        """Decode `body` (as `~smsstatus.receive_batch` does, with the same
        arguments), store its reports and their history, keep each per-item error
        as a `Rejected` row and acknowledge its id, log the delivery as a `Webhook`
        row (`remote`: the peer's address), and return the `Ack`; all in one
        transaction (the caller's, when one is open).

        A document that cannot be decoded is answered 400 and logged as a
        `Webhook` row with its body and the reason, and nothing else is stored.
        The body is kept when the document was refused or had rejected items, or
        always with `keep_body`; never over `limits.max_bytes`.  A database error
        propagates as the driver raised it, after the rollback: nothing written,
        nothing acknowledged (answer 503: the gateway sends it again).

        For adapters: with a list as `changes`, it is filled with the rows the
        document changed, as `update` tells them (then the rows are read first,
        which costs a statement more).
        """
        return _receive.receive(
            self._names,
            connection,
            body,
            format=format,
            tz=tz,
            limits=limits,
            remote=remote,
            keep_body=keep_body,
            changes=changes,
        )

    def load(self, connection: Any, ids: Iterable[int]) -> dict[int, StatusReport]:
        """The stored reports of those of `ids` that have a row.

        Times come back as saved, to the second: an aware time with its instant and
        its offset (as a fixed `datetime.timezone`), a naive one naive, whatever the
        connection's time zone.  Leaves no transaction open (unless the caller had
        one).
        """
        dialect = dialect_of(connection)
        wanted = sorted({i for i in ids if 0 <= i <= MAX_ID})
        if not wanted:
            return {}
        with dialect.transaction(connection, write=False) as cursor:
            found = dialect.select(cursor, self._names, wanted)
        return {row[0]: report_of(dialect, *row) for row in found}

    def pending(
        self, connection: Any, older_than: timedelta, *, limit: int | None = None
    ) -> list[int]:
        """The ids whose state is not final and whose row has not changed for at
        least `older_than` by the database's clock (registered messages never heard
        of included): what recovery should ask the gateway about.  The oldest last
        change first, at most `limit` of them (None: all)."""
        return _ledger.pending(self._names, connection, older_than, limit)

    def stats(
        self,
        connection: Any,
        *,
        since: datetime,
        until: datetime | None = None,
        bucket: timedelta = timedelta(hours=1),
        tag: str | None = None,
    ) -> list[Bucket]:
        """One `Bucket` per slice of `bucket` from the slice holding `since` to the
        one holding `until` (None: the database's clock now), empty slices included:
        the messages first seen in each slice and how they are doing now.

        `bucket` must divide a day into whole slices of at least a minute, and
        `since` and `until` must be aware, else `ValueError`.  With `tag`, only the
        messages registered with that tag count.  The figures equal a recount of the
        rows, even while others write.
        """
        return _stats.stats(
            connection,
            self._names.latest,
            since=since,
            until=until,
            bucket=bucket,
            tag=tag,
        )

    def history(self, connection: Any, id_sms: int) -> list[Event]:
        """The statuses message `id_sms` went through, each distinct report once:
        by the report's time (no time first), then progress, then arrival.
        `ValueError` with ``history=False``."""
        if not self._names.history:
            raise ValueError(f"{self!r} keeps no history (history=False)")
        return _ledger.history(self._names, connection, id_sms)

    def webhooks(
        self, connection: Any, *, limit: int = 100, before_id: int | None = None
    ) -> list[Webhook]:
        """The deliveries logged by `receive`, newest first: `limit` of them, those
        with an id below `before_id` (the last id of the page before) when given."""
        return _ledger.webhooks(self._names, connection, limit, before_id)

    def rejected(
        self, connection: Any, *, limit: int = 100, before_id: int | None = None
    ) -> list[Rejected]:
        """The items kept by `receive` that were not valid statuses, newest first,
        paged as `webhooks`."""
        return _ledger.rejected(self._names, connection, limit, before_id)

    def prune(self, connection: Any, *, older_than: timedelta) -> Pruned:
        """Delete the events, webhooks (with their bodies) and rejected items received
        before `older_than` ago by the database's clock, in batches of a thousand
        rows, each in its own transaction (concurrent writers wait for one batch at
        most); the latest rows are never touched."""
        return _ledger.prune(self._names, connection, older_than)


def _log(source: str) -> Log:
    if source not in _SOURCES:
        raise ValueError(f"source must be 'push' or 'pull', not {source!r}")
    return Log(source)
