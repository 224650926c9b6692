"""The dashboard: how delivery is going, as one HTML page made on the server.

::

    overview = collect(connection, StatusTable())
    html = page(overview)               # a whole document (the standalone server)
    fragment = render(overview)         # its content, to embed (the Django admin)

Strategy: `collect` asks the ledger (`StatusTable.stats` for the last 24 hours by
hour and the last 30 days by day, the count of pending messages, the newest rejected
items and refused deliveries); `render` turns that into HTML, with the charts of
`_svg` inline.  No script, no stylesheet, font or image from anywhere: the page works
offline.  Its style uses the Django admin's colour variables when it is inside the
admin, else the browser's own light or dark scheme (``color-scheme``, system colours).
The standard library, attrs and smsstatus only: importing it imports no framework.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

import attrs

from smsstatus.sql import Bucket, StatusTable
from smsstatus.sql._stats import pending_count

from ._svg import histogram_chart, states_chart

__all__ = ["Overview", "Problem", "collect", "page", "render"]

_HOUR, _DAY = timedelta(hours=1), timedelta(days=1)
_PROBLEMS = 10  # lines of the list of the latest refused or rejected deliveries


@attrs.frozen
class Problem:
    """One line of the dashboard's latest refused or rejected deliveries: a rejected
    item (`kind` ``"rejected"``, its row's `id`) or a refused delivery (``"refused"``,
    the webhook's `id`)."""

    kind: str
    id: int
    received_at: datetime
    id_sms: int | None
    reason: str


@attrs.frozen
class Overview:
    """What the dashboard shows: `hourly` (the last 24 hours' slices), `daily` (the
    last 30 days'), the count of messages `pending` for over an hour, the latest
    `problems` (newest first), all as of `now` (UTC)."""

    now: datetime
    hourly: Sequence[Bucket]
    daily: Sequence[Bucket]
    pending: int
    problems: Sequence[Problem]


def collect(connection: Any, table: StatusTable) -> Overview:
    """Ask `table` on `connection` for everything the dashboard shows."""
    now = datetime.now(timezone.utc)
    hourly = table.stats(connection, since=now - 23 * _HOUR, until=now, bucket=_HOUR)
    daily = table.stats(connection, since=now - 29 * _DAY, until=now, bucket=_DAY)
    problems = [
        Problem("rejected", r.id, r.received_at, r.id_sms, r.reason)
        for r in table.rejected(connection, limit=_PROBLEMS)
    ]
    problems += [
        Problem("refused", w.id, w.received_at, None, w.refused)
        for w in table.webhooks(connection, limit=100)
        if w.refused is not None
    ]
    problems.sort(key=lambda p: p.received_at, reverse=True)
    return Overview(
        now,
        hourly,
        daily,
        pending_count(connection, table.name, older_than=_HOUR),
        problems[:_PROBLEMS],
    )


_STYLE = """
.smsstatus-dashboard{--fg:var(--body-fg,CanvasText);--line:var(--hairline-color,GrayText);
 --box:var(--darkened-bg,transparent);color:var(--fg);max-width:760px}
.smsstatus-dashboard h2{margin:1.5em 0 .5em}
.smsstatus-dashboard .figures{display:flex;flex-wrap:wrap;gap:.5em;margin:0;padding:0}
.smsstatus-dashboard .figures div{border:1px solid var(--line);background:var(--box);
 padding:.4em .8em;min-width:8em}
.smsstatus-dashboard .figures dt{font-size:.85em}
.smsstatus-dashboard .figures dd{margin:0;font-size:1.4em;font-weight:bold}
.smsstatus-dashboard figure{margin:1em 0}
.smsstatus-dashboard table{border-collapse:collapse}
.smsstatus-dashboard td,.smsstatus-dashboard th{border-bottom:1px solid var(--line);
 padding:.2em .6em;text-align:left}
"""


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _figures(title: str, buckets: Sequence[Bucket], pending: int | None) -> str:
    messages = sum(b.messages for b in buckets)
    final = sum(b.final for b in buckets)
    delivered = sum(b.delivered for b in buckets)
    figures = [
        ("messages", f"{messages}"),
        ("delivery rate", _percent(delivered / messages if messages else None)),
        ("final", f"{final}"),
        ("not final", f"{messages - final}"),
    ]
    if pending is not None:
        figures.append(("pending over an hour (all time)", f"{pending}"))
    cells = "".join(f"<div><dt>{escape(k)}</dt><dd>{v}</dd></div>" for k, v in figures)
    return f'<dl class="figures" aria-label="{escape(title)}">{cells}</dl>'


def _section(
    title: str, buckets: Sequence[Bucket], size: timedelta, pending: int | None
) -> str:
    states = states_chart(
        buckets, size, title=f"{title}: messages by latest state, per slice"
    )
    histogram = histogram_chart(
        buckets, title=f"{title}: time from first seen to final status"
    )
    return (
        f"<section><h2>{escape(title)}</h2>{_figures(title, buckets, pending)}"
        f"<figure>{states}<figcaption>Messages first seen in each "
        f"{'day' if size >= _DAY else 'hour'}, by their latest state now."
        f"</figcaption></figure>"
        f"<figure>{histogram}<figcaption>How long the final ones took from first "
        "seen to their first final status.</figcaption></figure></section>"
    )


def _problems(
    problems: Sequence[Problem], link: Callable[[Problem], str | None] | None
) -> str:
    if not problems:
        return "<p>None.</p>"
    rows = []
    for problem in problems:
        what = f"{problem.kind} #{problem.id}"
        url = link(problem) if link else None
        if url is not None:
            what = f'<a href="{escape(url)}">{what}</a>'
        rows.append(
            f"<tr><td>{problem.received_at:%Y-%m-%d %H:%M:%S}</td><td>{what}</td>"
            f"<td>{'' if problem.id_sms is None else problem.id_sms}</td>"
            f"<td>{escape(problem.reason)}</td></tr>"
        )
    return (
        "<table><thead><tr><th>received (UTC)</th><th>what</th><th>id_sms</th>"
        f"<th>reason</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def render(
    overview: Overview, *, link: Callable[[Problem], str | None] | None = None
) -> str:
    """The dashboard's content as an HTML fragment (with its ``<style>``), for a page
    of its own (`page`) or inside another (the Django admin).  `link` gives the URL
    of a problem's page, or None for none."""
    week = overview.daily[-7:]
    return (
        f'<style>{_STYLE}</style><div class="smsstatus-dashboard">'
        f"<p>As of {overview.now:%Y-%m-%d %H:%M} UTC. A message counts in the slice"
        " it was first seen in (sent, or its first status), with its latest state"
        " now.</p>"
        + _section("Last 24 hours", overview.hourly, _HOUR, overview.pending)
        + _section("Last 7 days", week, _DAY, None)
        + _section("Last 30 days", overview.daily, _DAY, None)
        + "<section><h2>Latest refused or rejected deliveries</h2>"
        + _problems(overview.problems, link)
        + "</section></div>"
    )


def page(
    overview: Overview,
    *,
    link: Callable[[Problem], str | None] | None = None,
    title: str = "SMS delivery",
) -> str:
    """The dashboard as a whole HTML document (see `render`)."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:1em 2em;"
        "background:Canvas;color:CanvasText}</style></head><body>"
        f"<h1>{escape(title)}</h1>{render(overview, link=link)}</body></html>"
    )
