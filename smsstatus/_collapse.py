"""One report per message: the furthest along of several, the first among equals.

Both `receive_batch` (before it calls the application's store) and `StatusTable`
(before its upsert, since PostgreSQL refuses to touch one row twice in a statement)
reduce a sequence of reports this way, so the rule lives here once.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._model import StatusReport

__all__ = ["collapse"]


def collapse(reports: Iterable[StatusReport]) -> dict[int, StatusReport]:
    """For each `id_sms`, the report that no other report of that id supersedes (the
    first of them in `reports`' order), keyed and ordered by each id's first
    appearance."""
    kept: dict[int, StatusReport] = {}
    for report in reports:
        # `supersedes` is strict, so a later equal never replaces the first; and a
        # dict keeps a key where it was first inserted when its value changes.
        if report.supersedes(kept.get(report.id_sms)):
            kept[report.id_sms] = report
    return kept
