"""The bounds on what a JSON document may hold before json builds it: one place for
the pure reader (`_json.check_shape`), which applies them, and the accelerator
(`_json_fast`), which must refuse what it refuses."""

from __future__ import annotations

__all__ = [
    "MAX_DEPTH",
    "MAX_ITEM_VALUES",
    "TOO_MANY_MEMBERS",
    "VALUES_PER_ITEM",
    "max_values",
]

MAX_DEPTH = 64
# Values (array elements, object members) in one item, and per permitted item in all:
# the gateway's item holds six; these bound what json builds for any body.
MAX_ITEM_VALUES = 256
VALUES_PER_ITEM = 16
# An object's opening brace and more commas than its values may have, in a document's
# brackets and commas when its objects hold only scalars.
TOO_MANY_MEMBERS = b"{" + b"," * MAX_ITEM_VALUES


def max_values(max_reports: int) -> int:
    """How many values a document with `max_reports` permitted items may hold."""
    return VALUES_PER_ITEM * max_reports + MAX_ITEM_VALUES
