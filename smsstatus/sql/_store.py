"""Writing a batch of reports and what the ledger logs with it, in one transaction.

Strategy.  The fast path is the dialect's `write` alone: one statement (PostgreSQL)
or one per 20 rows (SQLite), no read.  Telling what changed (`StatusTable.update`,
and `StatusTable.receive` for an adapter's signal) needs the rows as they were, read
after nobody else can change them: on SQLite the transaction's write lock already
guarantees it; on PostgreSQL `claim` inserts the new rows and locks the existing
ones in one statement, in id order (as every write locks), and only then are they
read and upserted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from smsstatus._collapse import collapse
from smsstatus._model import StatusReport

from ._dialect import Dialect, Log, Names, Row
from ._records import Change
from ._rows import report_of

__all__ = ["store"]


def store(
    dialect: Dialect,
    cursor: Any,
    names: Names,
    reports: Sequence[StatusReport],
    taken: set[int],
    rows: Sequence[Row],
    log: Log,
    changes: list[Change] | None,
) -> None:
    """Write `rows` (of `reports`, the ids `taken`) and `log` in the transaction of
    `cursor`; with a list as `changes`, also say which rows changed and how."""
    if changes is None:
        dialect.write(cursor, names, rows, log)
        return
    inserted = dialect.claim(cursor, names, rows, log)
    if inserted is None:
        found = dialect.select(cursor, names, sorted(taken))
        dialect.write(cursor, names, rows, log)
    else:
        found = dialect.select(cursor, names, sorted(taken - inserted))
        rest = [row for row in rows if row[0] not in inserted]
        if rest:
            dialect.write(cursor, names, rest, None)
    previous = {row[0]: report_of(dialect, *row) for row in found}
    kept = collapse(report for report in reports if report.id_sms in taken)
    changes.extend(
        Change(report, previous.get(id_sms))
        for id_sms, report in kept.items()
        if report.supersedes(previous.get(id_sms))
    )
