"""Between reports and rows: what the statements bind for a report, and the report a
stored row holds.

Strategy.  Every stored report passes through `rows_of`, so it is written for speed:
one pass, no Python-level call per report for a time as the decoders give it (naive or
aware, whole seconds), `_value_` rather than the `Status.value` property (a Python-level
descriptor, ten times slower).  An aware time is stored as its UTC instant plus its
offset in seconds (``time_offset``), so it comes back as the same instant with that
fixed offset; a naive time as its wall clock (written as if it were UTC) with a NULL
offset, and it comes back naive.  Times are kept to the second, as the gateway sends
them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from smsstatus._model import Status, StatusReport

from ._dialect import MAX_ID, Dialect, Row

__all__ = ["report_of", "rows_of"]

logger = logging.getLogger("smsstatus")
_naive = datetime.combine


def rows_of(
    dialect: Dialect, reports: Iterable[StatusReport]
) -> tuple[set[int], list[Row]]:
    """The ids the table can hold every report of (the others are logged), and the
    rows of their reports, in `reports`' order without exact repeats."""
    bind = dialect.bind_time
    rows: list[Row] = []
    refused: list[StatusReport] = []
    # The offsets seen, in seconds: a zone has one or two in a document, and a dict
    # look-up costs a quarter of int(delta.total_seconds()).
    seconds: dict[timedelta, int] = {}
    for report in reports:
        id_sms, time, offset = report.id_sms, report.time, None
        if id_sms > MAX_ID:
            refused.append(report)
            continue
        if time is not None:
            zone = time.tzinfo
            if zone is None and not time.microsecond:
                time = bind(time)  # a wall clock to the second already
            else:
                # An aware time (as decoded with a `tz`), written out here: a call
                # per time cost a sixth of the rows.  The zone's own utcoffset is
                # called: t.utcoffset() looks it up by name, at four times the
                # cost.  The arithmetic is done on the aware time itself (its
                # fields move, its zone stays), and combine(t, t.time()) drops the
                # zone at a seventh of the cost of t.replace(tzinfo=None).
                if time.microsecond:
                    time = time.replace(microsecond=0)
                delta = None if zone is None else zone.utcoffset(time)
                if delta is not None:
                    try:
                        offset = seconds[delta]
                    except (KeyError, TypeError):  # not seen yet, or no timedelta
                        time.utcoffset()  # datetime's checks of it, with its errors
                        offset = seconds[delta] = int(delta.total_seconds())
                    try:
                        time -= delta
                    except OverflowError:  # its UTC instant is out of range
                        refused.append(report)
                        continue
                time = bind(_naive(time, time.time()))
        sms, viber = report.sms, report.viber
        rows.append(
            (
                id_sms,
                time,
                offset,
                report.state._value_,
                None if sms is None else sms._value_,
                None if viber is None else viber._value_,
            )
        )
    taken = {row[0] for row in rows}
    if refused:  # an id is stored whole or not at all: it will come again
        ids = {report.id_sms for report in refused}
        taken -= ids
        rows = [row for row in rows if row[0] not in ids]
    for report in refused:
        logger.warning(
            "id_sms=%d cannot be stored (ids go up to 2**63 - 1, times must "
            "fit years 1-9999 in UTC); it is not taken: %r",
            report.id_sms,
            report,
        )
    if len(rows) > len(taken):  # an id repeats: drop the exact repeats (a retry,
        rows = list(dict.fromkeys(rows))  # a duplicate), which add nothing anywhere
    return taken, rows


def report_of(
    dialect: Dialect,
    id_sms: int,
    stored: Any,
    offset: int | None,
    state: str,
    sms: str | None,
    viber: str | None,
) -> StatusReport:
    """The report of a row's `COLUMNS`."""
    time = None if stored is None else dialect.read_time(stored)
    if time is not None and offset is not None:
        zone = timezone(timedelta(seconds=offset))
        time = (time + timedelta(seconds=offset)).replace(tzinfo=zone)
    return StatusReport(
        id_sms,
        time,
        Status(state),
        None if sms is None else Status(sms),
        None if viber is None else Status(viber),
    )
