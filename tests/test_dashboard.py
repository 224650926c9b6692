"""smsstatus.dashboard and its charts (dashboard/_svg.py): what the page says, drawn
from `Bucket`s, and that it needs nothing from anywhere else."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest

from smsstatus import Status
from smsstatus.dashboard import Overview, Problem, page, render
from smsstatus.dashboard._svg import histogram_chart, states_chart
from smsstatus.sql import Bucket

UTC = timezone.utc
NOW = datetime(2026, 12, 6, 4, 30, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def buckets(count: int, size: timedelta, **states: int) -> list[Bucket]:
    first = NOW.replace(minute=0) - size * (count - 1)
    if size == timedelta(days=1):
        first = first.replace(hour=0)
    counts = {Status(name): n for name, n in states.items()}
    return [
        Bucket(
            first + size * i,
            sum(counts.values()) if i % 2 else 0,
            counts if i % 2 else {},
            {"1m": counts.get(Status.READ, 0)} if i % 2 else {},
        )
        for i in range(count)
    ]


def bars(svg: str) -> list[ET.Element]:
    return ET.fromstring(svg).findall(f"{SVG}g[@class='bar']")


def test_the_states_chart_has_a_bar_per_slice_stacked_by_state() -> None:
    hours = buckets(24, timedelta(hours=1), read=3, deliver=2, expired=1)
    svg = states_chart(hours, timedelta(hours=1), title="Last <24> hours")
    drawn = bars(svg)
    assert len(drawn) == 24
    # An empty slice is a bar too: its hit area, and no ink.
    assert len(drawn[0].findall(f"{SVG}rect")) == 1
    full = drawn[1].findall(f"{SVG}rect")
    assert [r.findtext(f"{SVG}title") for r in full] == [
        "2026-12-05 06:00 UTC: 6 messages",
        "2026-12-05 06:00 UTC: expired 1",
        "2026-12-05 06:00 UTC: deliver 2",
        "2026-12-05 06:00 UTC: read 3",
    ]
    heights = [float(r.get("height", 0)) for r in full[1:]]
    assert heights[0] * 2 == pytest.approx(heights[1])
    assert heights[0] * 3 == pytest.approx(heights[2])
    root = ET.fromstring(svg)
    assert root.findtext(f"{SVG}title") == "Last <24> hours"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    # Labelled axes, and a legend naming each colour with its total.
    assert {"messages", "hour (UTC)", "05:00", "read 36", "send 0"} <= set(texts)


def test_the_y_axis_tops_at_a_round_number() -> None:
    days = buckets(7, timedelta(days=1), read=130)
    svg = states_chart(days, timedelta(days=1), title="t")
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert {"0", "100", "200", "day (UTC)", "12-01"} <= set(texts)


def test_the_histogram_has_a_bar_per_class() -> None:
    svg = histogram_chart(buckets(3, timedelta(hours=1), read=5), title="t")
    drawn = bars(svg)
    assert [b.get("data-count") for b in drawn] == ["0", "0", "5"] + ["0"] * 6
    assert drawn[2].findtext(f"{SVG}rect/{SVG}title") == "30s to 1m: 5"
    assert drawn[8].findtext(f"{SVG}rect/{SVG}title") == "over 24h: 0"
    assert drawn[0].findtext(f"{SVG}rect/{SVG}title") == "0s to 10s: 0"


def test_charts_of_no_slices_are_still_charts() -> None:
    assert bars(states_chart([], timedelta(hours=1), title="t")) == []
    assert len(bars(histogram_chart([], title="t"))) == 9


def overview(problems: list[Problem]) -> Overview:
    return Overview(
        NOW,
        buckets(24, timedelta(hours=1), read=3, not_deliver=1, send=1),
        buckets(30, timedelta(days=1), read=30, deliver=10),
        pending=17,
        problems=problems,
    )


def test_the_page_shows_the_figures_charts_and_problems() -> None:
    problems = [
        Problem("refused", 4, NOW, None, "not XML: <html>"),
        Problem("rejected", 9, NOW - timedelta(minutes=5), 5100231, "bad state"),
    ]
    html = page(overview(problems), link=lambda p: f"/x/{p.kind}/{p.id}?a=1&b=2")
    assert html.startswith("<!DOCTYPE html>")
    assert 'content="light dark"' in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 6
    sections = re.findall(r"<h2>([^<]*)</h2>", html)
    assert sections == [
        "Last 24 hours",
        "Last 7 days",
        "Last 30 days",
        "Latest refused or rejected deliveries",
    ]
    figures = re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", html)
    # Every other slice: 5 messages an hour, 3 read; 40 a day, 30 read.
    assert figures == [
        ("messages", "60"),
        ("delivery rate", "60.0 %"),
        ("final", "48"),
        ("not final", "12"),
        ("pending over an hour (all time)", "17"),
        ("messages", "160"),
        ("delivery rate", "100.0 %"),
        ("final", "120"),
        ("not final", "40"),
        ("messages", "600"),
        ("delivery rate", "100.0 %"),
        ("final", "450"),
        ("not final", "150"),
    ]
    assert '<a href="/x/refused/4?a=1&amp;b=2">refused #4</a>' in html
    assert "not XML: &lt;html&gt;" in html
    assert "<td>5100231</td>" in html
    # Nothing to fetch, nothing to run.
    assert "<script" not in html
    assert re.findall(r"https?://[^\"' ]+", html) == ["http://www.w3.org/2000/svg"] * 6
    assert not re.search(r"(src|href)=\"(?!/x/)", html)


def test_without_links_or_problems() -> None:
    html = render(overview([Problem("rejected", 1, NOW, None, "r")]))
    assert "rejected #1" in html
    assert "<a " not in html
    assert "<p>None.</p>" in render(overview([]))
    empty = Overview(NOW, [], [], 0, [])
    assert "<dd>-</dd>" in render(empty)  # no messages: no rate
