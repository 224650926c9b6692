"""smsstatus.weblog: one INFO line per document on ``smsstatus.webhook``."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator

import pytest

import smsstatus
from smsstatus import weblog
from smsstatus._observe import SINKS
from smsstatus.testing import sample_payload

MARKER = "4242424242"  # an id only the body holds


@pytest.fixture(autouse=True)
def _sinks() -> Iterator[None]:
    saved = list(SINKS)
    yield
    SINKS[:] = saved


def _line(message: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in message.split(" "))


def test_one_line_per_document_with_the_fields_as_attributes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    weblog.enable()
    weblog.enable()
    body = (
        f'[{{"id_sms": "{MARKER}", "time": "", "state": "send"}},'
        ' {"id_sms": "5", "time": "", "state": "send"},'
        ' {"id_sms": "6", "time": "", "state": "sent?"}]'
    ).encode()
    with caplog.at_level(logging.INFO, logger="smsstatus.webhook"):
        smsstatus.receive_batch(body, lambda reports: [5])
    (record,) = [r for r in caplog.records if r.name == "smsstatus.webhook"]
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert "\n" not in message
    fields = record.smsstatus  # type: ignore[attr-defined]
    assert {key: str(value) for key, value in fields.items()} == _line(message)
    duration = fields.pop("duration_ms")
    assert isinstance(duration, float)
    assert duration >= 0
    assert fields == {
        "format": "json",
        "size": len(body),
        "reports": 2,
        "taken": 1,
        "rejected": 1,
        "code": 200,
        "sha256": hashlib.sha256(body).hexdigest()[:12],
    }
    # Never the body, in the message or the attributes.
    assert MARKER not in message
    assert MARKER not in repr(record.__dict__)


def test_a_refused_document_is_logged_too(caplog: pytest.LogCaptureFixture) -> None:
    weblog.enable()
    with caplog.at_level(logging.INFO, logger="smsstatus.webhook"):
        smsstatus.receive(b"\x00\x01", lambda report: None)
    (record,) = [r for r in caplog.records if r.name == "smsstatus.webhook"]
    assert _line(record.getMessage()) == {
        "format": "unknown",
        "size": "2",
        "reports": "0",
        "taken": "0",
        "rejected": "0",
        "code": "400",
        "duration_ms": _line(record.getMessage())["duration_ms"],
        "sha256": hashlib.sha256(b"\x00\x01").hexdigest()[:12],
    }


def test_silenced_by_the_loggers_level_and_off_after_disable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    weblog.enable()
    body = sample_payload(3, seed=2)
    with caplog.at_level(logging.WARNING, logger="smsstatus.webhook"):
        smsstatus.receive(body, lambda report: None)
    assert [r for r in caplog.records if r.name == "smsstatus.webhook"] == []
    weblog.disable()
    weblog.disable()
    with caplog.at_level(logging.INFO, logger="smsstatus.webhook"):
        smsstatus.receive(body, lambda report: None)
    assert [r for r in caplog.records if r.name == "smsstatus.webhook"] == []
    assert SINKS == []
