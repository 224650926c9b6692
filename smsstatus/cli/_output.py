"""How the commands print reports, errors and lists of ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TextIO

from smsstatus import Batch, ReportError, StatusReport
from smsstatus._model import _wall_clock

_COLUMNS = ("id_sms", "time", "state", "sms", "viber", "final")
# How many ids a line of output lists before it only counts the rest.
_SHOWN_IDS = 20


def _report_row(report: StatusReport) -> tuple[str, ...]:
    return (
        str(report.id_sms),
        _wall_clock(report.time) or "-",
        report.state.value,
        report.sms.value if report.sms else "-",
        report.viber.value if report.viber else "-",
        "final" if report.is_final else "",
    )


def _print_table(batch: Batch, out: TextIO) -> None:
    rows = [_COLUMNS, *map(_report_row, batch.reports)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    for row in rows:
        print(
            "  ".join(
                cell.ljust(w) for cell, w in zip(row, widths, strict=True)
            ).rstrip(),
            file=out,
        )
    print(
        f"\n{_counted(len(batch.reports), 'report')}, "
        f"{_counted(len(batch.errors), 'error')} ({batch.format.value})",
        file=out,
    )
    for error in batch.errors:
        print(f"\nerror at {_item(error)}: {error.reason}", file=out)
        print(f"  raw: {error.raw}", file=out)


def _item(error: ReportError) -> str:
    return f"index {error.index} (id_sms={error.id_sms})"


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _report_json(report: StatusReport) -> dict[str, Any]:
    return {
        "id_sms": report.id_sms,
        "time": report.time.isoformat(" ") if report.time else None,
        "state": report.state.value,
        "sms": report.sms.value if report.sms else None,
        "viber": report.viber.value if report.viber else None,
        "final": report.is_final,
    }


def _error_json(error: ReportError) -> dict[str, Any]:
    return {
        "error": error.reason,
        "index": error.index,
        "id_sms": error.id_sms,
        "raw": error.raw,
    }


def _ids(ids: Sequence[int]) -> str:
    shown = " ".join(map(str, ids[:_SHOWN_IDS]))
    more = len(ids) - _SHOWN_IDS
    return f"{shown} ... and {more} more" if more > 0 else shown or "-"
