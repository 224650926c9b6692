"""The observation hook (smsstatus/_observe.py) and its wiring into `receive`,
`receive_batch` and their async forms: what a sink is handed, once per document."""

from __future__ import annotations

import array
import asyncio
import hashlib
import logging
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import smsstatus
from smsstatus import Format, ReportError, StatusReport
from smsstatus._observe import SINKS, Document, unread, watch

XML = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<response>'
    b'<state id_sms="1" time="2026-11-26 09:14:02" sms="deliver">deliver</state>'
    b'<state id_sms="2" time="" sms="send">send</state>'
    b'<state id_sms="3" time="2026-11-26 09:14:02">nonsense</state>'
    b"</response>"
)
JSON = '[{"id_sms": "7", "time": "2026-11-26 09:14:02", "state": "read"}]'


@pytest.fixture
def seen() -> Iterator[list[Document]]:
    """The documents handed to a sink registered for the test (removed after)."""
    documents: list[Document] = []
    saved = list(SINKS)
    SINKS[:] = [documents.append]
    yield documents
    SINKS[:] = saved


def _taken_all(reports: tuple[StatusReport, ...]) -> None:
    return None


async def _ataken_all(reports: tuple[StatusReport, ...]) -> None:
    return None


def _ignore(report: StatusReport) -> None:
    pass


async def _aignore(report: StatusReport) -> None:
    pass


def _keep(error: ReportError) -> bool:
    return True


PATHS: dict[str, Callable[..., smsstatus.Ack]] = {
    "receive": lambda body, **kw: smsstatus.receive(body, _ignore, **kw),
    "areceive": lambda body, **kw: asyncio.run(
        smsstatus.areceive(body, _aignore, **kw)
    ),
    "receive_batch": lambda body, **kw: smsstatus.receive_batch(body, _taken_all, **kw),
    "areceive_batch": lambda body, **kw: asyncio.run(
        smsstatus.areceive_batch(body, _ataken_all, **kw)
    ),
}
paths = pytest.mark.parametrize("path", list(PATHS))


def test_nothing_watches_by_default() -> None:
    assert SINKS == []
    assert watch() is None


@paths
def test_each_path_hands_over_one_document_as_answered(
    seen: list[Document], path: str
) -> None:
    before = time.time()
    ack = PATHS[path](XML, on_error=_keep)
    (document,) = seen
    assert document.format is Format.XML
    assert document.code == ack.status == 200
    assert document.taken == ack.ids == (1, 2, 3)
    assert document.batch is not None
    assert [r.id_sms for r in document.batch.reports] == [1, 2]
    assert (document.reports, document.rejected) == (2, 1)
    assert document.size == len(XML)
    assert document.body is XML
    assert document.sha256 == hashlib.sha256(XML).hexdigest()
    assert before <= document.arrived <= time.time()
    assert 0 <= document.seconds <= time.time() - before


@paths
def test_a_refused_document_is_handed_over_with_its_code_and_sniffed_format(
    seen: list[Document], path: str
) -> None:
    PATHS[path](b"  [not json")
    PATHS[path](b"hello")
    PATHS[path](b"hello", format="json")
    assert [(d.format, d.code, d.batch, d.taken) for d in seen] == [
        (Format.JSON, 400, None, ()),
        (None, 400, None, ()),
        (Format.JSON, 400, None, ()),
    ]
    assert [d.size for d in seen] == [11, 5, 5]


def test_what_a_handler_failed_for_is_not_in_taken(seen: list[Document]) -> None:
    def fail_on_2(report: StatusReport) -> None:
        if report.id_sms == 2:
            raise RuntimeError("down")

    ack = smsstatus.receive(XML.replace(b"nonsense", b"read"), fail_on_2)
    assert ack.ids == (1, 3)
    (document,) = seen
    assert document.taken == (1, 3)
    assert document.reports == 3


def test_a_str_body_is_measured_in_utf8_bytes(seen: list[Document]) -> None:
    body = JSON.replace("read", "чтение")  # refused: not a state
    smsstatus.receive_batch(body, _taken_all)
    smsstatus.receive_batch(JSON, _taken_all)
    assert [d.size for d in seen] == [len(body.encode()), len(JSON)]
    assert seen[0].sha256 == hashlib.sha256(body.encode()).hexdigest()
    assert seen[1].taken == (7,)


def test_a_body_of_other_buffers_is_measured_in_bytes(seen: list[Document]) -> None:
    watching = watch()
    assert watching is not None
    watching.done(body=memoryview(array.array("H", [1, 2, 3])), format=None, code=400)
    watching.done(body=bytearray(b"abc"), format=None, code=400)
    watching.done(body="\ud800", format=None, code=400)  # a lone surrogate
    assert [d.size for d in seen] == [6, 3, 3]
    assert seen[2].sha256 == hashlib.sha256(b"\xed\xa0\x80").hexdigest()


def test_an_unread_body_has_the_size_given_and_no_digest(
    seen: list[Document],
) -> None:
    watching = watch()
    assert watching is not None
    watching.done(body=None, size=20_000_000, format=None, code=413)
    (document,) = seen
    assert (document.size, document.sha256, document.reports) == (20_000_000, "", 0)
    assert "body" not in repr(document)


def test_a_failing_sink_is_logged_and_the_others_still_run(
    seen: list[Document], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(document: Document) -> Any:
        raise ValueError("sink bug")

    SINKS.insert(0, broken)
    with caplog.at_level(logging.ERROR, logger="smsstatus"):
        ack = smsstatus.receive_batch(JSON, _taken_all)
    assert ack.ids == (7,)
    assert len(seen) == 1
    (record,) = caplog.records
    assert "sink" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)


def test_an_async_callback_refused_by_the_sync_forms_is_no_document(
    seen: list[Document],
) -> None:
    with pytest.raises(TypeError):
        smsstatus.receive_batch(JSON, _ataken_all)
    assert seen == []


def test_a_process_that_never_enables_imports_neither_package(tmp_path: Any) -> None:
    # The library, its storage and the Flask adapter, receiving documents of every
    # kind: neither prometheus_client nor opentelemetry loaded.  (Not FastAPI's
    # adapter: recent FastAPI releases import opentelemetry-api themselves when it
    # is installed; test_django_observe.py checks Django.)
    code = textwrap.dedent(
        """
        import asyncio, sys
        import smsstatus, smsstatus.sql, smsstatus.flask
        from smsstatus.testing import sample_payload
        body = sample_payload(5, bad=1)
        smsstatus.receive(body, lambda report: None)
        smsstatus.receive_batch(body, lambda reports: None)
        smsstatus.receive_batch(b"nonsense", lambda reports: None)
        asyncio.run(smsstatus.areceive_batch(body, lambda reports: None))
        table = smsstatus.sql.StatusTable()
        with smsstatus.sql.connect_sqlite(sys.argv[1]) as connection:
            table.create(connection)
            store = lambda reports: table.save(connection, reports)
            smsstatus.receive_batch(body, store)
        print(sorted(name.split(".")[0] for name in sys.modules
                     if name.startswith(("prometheus_client", "opentelemetry"))))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "db.sqlite3")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "[]\n"


def test_an_adapter_answering_unread_hands_over_the_size_it_was_told(
    seen: list[Document],
) -> None:
    unread(code=413, size=17_000_000)
    (document,) = seen
    assert (document.code, document.size, document.body, document.batch) == (
        413,
        17_000_000,
        None,
        None,
    )
    watching = watch()
    assert watching is not None
    watching.done(body=None, format=None, code=413)  # nor told its size
    assert seen[1].size == 0
    SINKS.clear()
    unread(code=413, size=1)  # nothing watching: nothing to do
    assert len(seen) == 2
