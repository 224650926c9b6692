"""The charts of `StatusTable.stats`, as inline SVG: the one drawer for every place
that shows them (the Django admin's dashboard, the standalone server's, ``smsstatus
stats --svg``).

Strategy: plain strings, the standard library only, no script.  Text, axes and grid
lines are drawn in ``currentColor``, so a chart takes the colour of the text around it
and reads on a light or a dark theme alike; the states' fills are mid-tone colours
that keep their contrast on both, and never carry the meaning alone: every chart has
a legend naming each colour with its count, and every bar segment a ``<title>`` (the
browser's tooltip) saying the slice, the state and the count.  Each slice is one
``<g class="bar">`` holding a full-height transparent hit area, so an empty slice is a
bar too (of zero height in ink).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from html import escape

from smsstatus._model import Status
from smsstatus.sql import Bucket
from smsstatus.sql._stats import TO_FINAL

__all__ = ["STATE_COLOURS", "histogram_chart", "states_chart"]

# Bottom to top of a stacked bar: the final bad ones, then the ones still on their
# way, then the good ones on top.  Colours of mid lightness (Okabe-Ito's palette,
# told apart by colour-blind readers too).
STATE_COLOURS: dict[Status, str] = {
    Status.NOT_DELIVER: "#d55e00",
    Status.EXPIRED: "#cc79a7",
    Status.SEND: "#999999",
    Status.PARTLY_DELIVER: "#e69f00",
    Status.DELIVER: "#56b4e9",
    Status.READ: "#009e73",
}
_HISTOGRAM_COLOUR = "#0072b2"

_WIDTH, _HEIGHT = 720, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 12, 16, 44  # room for the axes and their labels
_LEGEND = 22  # height of one legend line


def _nice_top(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 1),
    for the top of a y axis."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if step * top >= value:
                return step * top
        top *= 10


def _slice_label(bucket: Bucket, size: timedelta) -> str:
    return bucket.start.strftime("%m-%d" if size >= timedelta(days=1) else "%H:%M")


def _slice_title(bucket: Bucket, size: timedelta) -> str:
    form = "%Y-%m-%d" if size >= timedelta(days=1) else "%Y-%m-%d %H:%M"
    return bucket.start.strftime(form) + " UTC"


def _svg(title: str, height: int, body: Iterable[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="smsstatus-chart"'
        f' viewBox="0 0 {_WIDTH} {height}" width="{_WIDTH}" height="{height}"'
        ' style="max-width:100%;height:auto;font-family:sans-serif;font-size:12px">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _y_axis(top: int, label: str) -> Iterable[str]:
    """The left axis from 0 to `top` with three ticks and grid lines, and its name."""
    plot = _HEIGHT - _TOP - _BOTTOM
    for fraction in (0.0, 0.5, 1.0):
        y = _TOP + plot * (1 - fraction)
        value = top * fraction
        text = f"{value:g}"
        yield (
            f'<line x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"'
            ' stroke="currentColor" stroke-opacity="0.2"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end"'
            f' fill="currentColor">{text}</text>'
        )
    middle = _TOP + plot / 2
    yield (
        f'<text x="14" y="{middle:.1f}" text-anchor="middle" fill="currentColor"'
        f' transform="rotate(-90 14 {middle:.1f})">{escape(label)}</text>'
    )


def _x_axis(labels: Sequence[str], name: str) -> Iterable[str]:
    """The bottom axis: at most about 12 of the slices' labels, and its name."""
    plot = _WIDTH - _LEFT - _RIGHT
    base = _HEIGHT - _BOTTOM
    yield (
        f'<line x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{base}" y2="{base}"'
        ' stroke="currentColor"/>'
    )
    step = max(1, -(-len(labels) // 12))
    width = plot / max(1, len(labels))
    for index in range(0, len(labels), step):
        x = _LEFT + width * (index + 0.5)
        yield (
            f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle"'
            f' fill="currentColor">{escape(labels[index])}</text>'
        )
    yield (
        f'<text x="{_LEFT + plot / 2:.1f}" y="{_HEIGHT - 6}" text-anchor="middle"'
        f' fill="currentColor">{escape(name)}</text>'
    )


def _legend(entries: Sequence[tuple[str, str]], top: int) -> Iterable[str]:
    """Swatches with their names (the text says what the colour says), in rows."""
    x, y = _LEFT, top
    for colour, text in entries:
        width = 22 + 7 * len(text)
        if x + width > _WIDTH - _RIGHT:
            x, y = _LEFT, y + _LEGEND
        yield (
            f'<g class="legend"><rect x="{x}" y="{y}" width="12" height="12"'
            f' fill="{colour}"/><text x="{x + 16}" y="{y + 10}"'
            f' fill="currentColor">{escape(text)}</text></g>'
        )
        x += width


def _legend_height(entries: Sequence[tuple[str, str]]) -> int:
    rows, x = 1, _LEFT
    for _, text in entries:
        width = 22 + 7 * len(text)
        if x + width > _WIDTH - _RIGHT:
            rows, x = rows + 1, _LEFT
        x += width
    return rows * _LEGEND + 8


def states_chart(buckets: Sequence[Bucket], size: timedelta, *, title: str) -> str:
    """Stacked bars, one per slice: the messages first seen in it, by latest state,
    with a legend of the states and their totals."""
    top = _nice_top(max((b.messages for b in buckets), default=0))
    plot_height = _HEIGHT - _TOP - _BOTTOM
    width = (_WIDTH - _LEFT - _RIGHT) / max(1, len(buckets))
    parts = [*_y_axis(top, "messages")]
    for index, bucket in enumerate(buckets):
        x = _LEFT + width * index
        when = _slice_title(bucket, size)
        parts.append(
            f'<g class="bar" data-messages="{bucket.messages}">'
            f'<rect x="{x:.1f}" y="{_TOP}" width="{width:.1f}"'
            f' height="{plot_height}" fill="transparent">'
            f"<title>{when}: {bucket.messages} messages</title></rect>"
        )
        y = float(_HEIGHT - _BOTTOM)
        for status, colour in STATE_COLOURS.items():
            count = bucket.states[status]
            if not count:
                continue
            height = plot_height * count / top
            y -= height
            parts.append(
                f'<rect x="{x + width * 0.1:.1f}" y="{y:.1f}" width="{width * 0.8:.1f}"'
                f' height="{height:.1f}" fill="{colour}">'
                f"<title>{when}: {status.value} {count}</title></rect>"
            )
        parts.append("</g>")
    parts.extend(
        _x_axis(
            [_slice_label(b, size) for b in buckets],
            "day (UTC)" if size >= timedelta(days=1) else "hour (UTC)",
        )
    )
    entries = [
        (colour, f"{status.value} {sum(b.states[status] for b in buckets)}")
        for status, colour in STATE_COLOURS.items()
    ]
    parts.extend(_legend(entries, _HEIGHT))
    return _svg(title, _HEIGHT + _legend_height(entries), parts)


def histogram_chart(buckets: Sequence[Bucket], *, title: str) -> str:
    """The time from first seen to first final status of the final messages of
    `buckets`, one bar per class (``"10s"`` ... ``"more"``)."""
    counts = [sum(b.to_final[key] for b in buckets) for key in TO_FINAL]
    top = _nice_top(max(counts))
    plot_height = _HEIGHT - _TOP - _BOTTOM
    width = (_WIDTH - _LEFT - _RIGHT) / len(TO_FINAL)
    parts = [*_y_axis(top, "final messages")]
    previous = "0s"
    for index, (key, count) in enumerate(zip(TO_FINAL, counts, strict=True)):
        x = _LEFT + width * index
        height = plot_height * count / top
        span = f"over {previous}" if key == "more" else f"{previous} to {key}"
        parts.append(
            f'<g class="bar" data-count="{count}">'
            f'<rect x="{x + width * 0.1:.1f}" y="{_HEIGHT - _BOTTOM - height:.1f}"'
            f' width="{width * 0.8:.1f}" height="{height:.1f}"'
            f' fill="{_HISTOGRAM_COLOUR}"><title>{span}: {count}</title></rect>'
            f'<text x="{x + width / 2:.1f}" y="{_HEIGHT - _BOTTOM - height - 4:.1f}"'
            f' text-anchor="middle" fill="currentColor">{count}</text></g>'
        )
        previous = key
    labels = [f"< {key}" if key != "more" else "more" for key in TO_FINAL]
    parts.extend(_x_axis(labels, "time from first seen to final"))
    return _svg(title, _HEIGHT, parts)
