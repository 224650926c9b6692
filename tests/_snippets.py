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
    section = re.split(r"\n#{1,2} ", text.split(f"\n{heading}\n", 1)[1])[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)
