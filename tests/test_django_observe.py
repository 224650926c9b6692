"""The Django settings that turn metrics, tracing and the log line on
(smsstatus/django/observe.py), each checked in a fresh process: `ready()` runs
once per process, and what it enables is global."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("django")

ROOT = Path(__file__).parents[1]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import django
    from django.conf import settings
    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "smsstatus.django"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                               "NAME": ":memory:"}},
        SMSSTATUS_TOKEN="t" * 40,
        **json.loads(sys.argv[1]),
    )
    django.setup()
    from smsstatus._observe import SINKS
    print(json.dumps({
        "sinks": [getattr(s, "__name__", type(s).__name__) for s in SINKS],
        "imported": sorted(name for name in ("prometheus_client", "opentelemetry")
                           if name in sys.modules),
    }))
    """
)


def ready(**settings: bool) -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(settings)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, list[str]] = json.loads(done.stdout)
    return result


def test_off_by_default_and_nothing_imported() -> None:
    assert ready() == {"sinks": [], "imported": []}
    assert ready(SMSSTATUS_METRICS=False) == {"sinks": [], "imported": []}


def test_each_setting_enables_its_sink() -> None:
    assert ready(SMSSTATUS_METRICS=True) == {
        "sinks": ["_Metrics"],
        "imported": ["prometheus_client"],
    }
    assert ready(SMSSTATUS_TRACING=True) == {
        "sinks": ["_Spans"],
        "imported": ["opentelemetry"],
    }
    assert ready(SMSSTATUS_WEBLOG=True) == {"sinks": ["_log"], "imported": []}


def test_the_settings_read_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same function as `ready()` calls, on settings of the test's own.
    import types

    from smsstatus import metrics, tracing, weblog
    from smsstatus._observe import SINKS
    from smsstatus.django import observe

    saved = list(SINKS)
    try:
        SINKS.clear()
        monkeypatch.setattr(observe, "settings", types.SimpleNamespace())
        observe.enable_from_settings()
        assert SINKS == []
        monkeypatch.setattr(
            observe,
            "settings",
            types.SimpleNamespace(
                SMSSTATUS_METRICS=True, SMSSTATUS_TRACING=True, SMSSTATUS_WEBLOG=True
            ),
        )
        observe.enable_from_settings()
        registered = list(SINKS)
        assert registered == [metrics._METRICS, tracing._SPANS, weblog._log]
    finally:
        SINKS[:] = saved
