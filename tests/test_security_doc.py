"""docs/security.md's table of bounds names, for each bound, the tests that hold it:
every name must be a test that exists, so the table cannot drift from the suite."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).parent
TABLE = (TESTS.parent / "docs" / "security.md").read_text(encoding="utf-8")
NAMED = re.findall(r"`(test_\w+\.py)::(test_\w+)`", TABLE)


def test_the_table_names_tests() -> None:
    assert len(NAMED) >= 20
    assert {file for file, _ in NAMED} >= {
        "test_json.py",
        "test_json_fast.py",
        "test_ack.py",
        "test_pull_answer.py",
        "test_hostile.py",
        "test_json_suite.py",
    }


def test_every_test_the_table_names_exists() -> None:
    missing = []
    for file, name in NAMED:
        tree = ast.parse((TESTS / file).read_text(encoding="utf-8"))
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        if name not in defined:
            missing.append(f"{file}::{name}")
    assert missing == []
