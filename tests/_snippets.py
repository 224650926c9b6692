"""The python blocks of the README and the manual's pages, for the tests that run
them (the framework set-ups shown to users must work as shown)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def python_blocks(page: str, containing: str = "") -> list[str]:
    """The ```python blocks of `page` (relative to the checkout) that contain
    `containing`, in order."""
    text = (ROOT / page).read_text(encoding="utf-8")
    return [
        b for b in re.findall(r"```python\n(.*?)```", text, re.S) if containing in b
    ]


def section_blocks(page: str, heading: str) -> list[str]:
    """The ```python blocks of `page`'s section under the line `heading`."""
    text = (ROOT / page).read_text(encoding="utf-8")
    lines, fenced = [], False
    for line in text.split(f"\n{heading}\n", 1)[1].splitlines():
        if not fenced and re.match(r"#{1,2} ", line):
            break  # the next heading (a "# comment" in a code block is none)
        fenced ^= line.startswith("```")
        lines.append(line)
    return re.findall(r"```python\n(.*?)```", "\n".join(lines) + "\n", re.S)
