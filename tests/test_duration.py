"""smsstatus._duration: the one parser of durations on every command line."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest

from smsstatus._duration import duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0s", timedelta(0)),
        ("90s", timedelta(seconds=90)),
        (" 30m\n", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("90d", timedelta(days=90)),
        ("999999999d", timedelta(days=999999999)),
        ("0" * 29 + "1s", timedelta(seconds=1)),
    ],
)
def test_reads_a_number_and_a_unit(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert duration(text) == expected


@pytest.mark.parametrize(
    "text", ["1w", "1.5h", "-1h", "", "h", "10", "1 h", "1H", "1" * 5000 + "s", None]
)
def test_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration such as 90s"):
        parse_duration(text)
    with pytest.raises(argparse.ArgumentTypeError, match="expected a duration"):
        duration(text)


@pytest.mark.parametrize("text", ["1000000000d", "9" * 30 + "s"])
def test_refuses_what_a_timedelta_cannot_hold(text: str) -> None:
    with pytest.raises(ValueError, match="duration too long"):
        parse_duration(text)
