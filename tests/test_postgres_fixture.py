"""The `postgresql` fixture's rule: without a server, skip loudly; under CI, fail.

Each case runs a one-test session (in a subprocess) with this directory's conftest,
on a machine made to look as if it had no PostgreSQL.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
NO_SERVER = """
import _postgres

_postgres.missing_reason = lambda: "no initdb here (made so by the test)"


def test_needs_a_server(postgresql):
    raise AssertionError("never reached")
"""


@pytest.fixture
def session(pytester: pytest.Pytester) -> pytest.Pytester:
    for helper in ("conftest.py", "_postgres.py"):
        shutil.copy(HERE / helper, pytester.path / helper)
    pytester.makepyfile(test_no_server=NO_SERVER)
    return pytester


def test_without_a_server_the_postgresql_tests_skip_saying_so(
    session: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    result = session.runpytest_subprocess("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*PostgreSQL NOT TESTED: no initdb here (made so by the test)*"]
    )


def test_under_ci_a_missing_server_is_an_error(
    session: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = session.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*CI must test on PostgreSQL, but no initdb here (made so by the test)*"]
    )
