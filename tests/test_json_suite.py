"""JSONTestSuite's parsing cases (tests/data/jsontestsuite, see its README) through
every JSON reader: `decode`, `decode_ack` and `decode_state_answer`.

Each case must end in a value or a `DecodeError`, nothing else; every ``n_`` case
(JSON that RFC 8259 refuses) must be refused; and each reader must give the same
answer with the msgspec accelerator as without it.  ``y_`` cases may still be refused
(a number is no batch); ``i_`` cases may go either way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from smsstatus import DecodeError, _json_fast, decode, decode_ack
from smsstatus.pull import decode_state_answer

SUITE = Path(__file__).parent / "data" / "jsontestsuite" / "parsing.json"
CASES = json.loads(SUITE.read_text(encoding="utf-8"))

READERS: dict[str, Callable[[bytes], object]] = {
    "decode": lambda body: decode(body, format="json"),
    "decode_ack": lambda body: decode_ack(body, "json"),
    "decode_state_answer": lambda body: decode_state_answer(body, format="json"),
}


def outcome(read: Callable[[bytes], object], body: bytes) -> object:
    """The value `read` returns (by repr), or the `DecodeError` it raises."""
    try:
        return ("value", repr(read(body)))
    except DecodeError as exc:
        return ("refused", type(exc).__name__, str(exc))


def test_the_suite_is_all_there() -> None:
    kinds = [case["name"][:2] for case in CASES]
    assert (kinds.count("y_"), kinds.count("n_"), kinds.count("i_")) == (95, 188, 35)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_a_parsing_case(case: dict[str, str]) -> None:
    body = case["input"].encode("utf-8")
    for name, read in READERS.items():
        fast = outcome(read, body)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_json_fast, "read", lambda *args: None)
            patch.setattr(_json_fast, "decoder", lambda: None)
            pure = outcome(read, body)
        assert fast == pure, name
        if case["name"].startswith("n_"):
            assert fast[0] == "refused", name
