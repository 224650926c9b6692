"""smsstatus.tracing with the real OpenTelemetry SDK and its in-memory exporter."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

import smsstatus
from smsstatus import tracing
from smsstatus._observe import SINKS, Document, watch
from smsstatus.testing import sample_payload


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """Spans of a provider of the test's own, which `tracing` is enabled with."""
    saved = list(SINKS)
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    tracing.enable(tracer_provider=provider)
    yield exported
    SINKS[:] = saved
    provider.shutdown()


def test_one_span_per_document_with_the_contracts_attributes(
    exporter: InMemorySpanExporter,
) -> None:
    body = sample_payload(12, format="json", seed=7, bad=2)
    before = time.time_ns()
    ack = smsstatus.receive_batch(body, lambda reports: None, on_error=lambda e: True)
    after = time.time_ns()
    (span,) = exporter.get_finished_spans()
    batch = smsstatus.decode(body)
    assert span.name == "smsstatus.receive"
    assert span.kind is SpanKind.CONSUMER
    assert dict(span.attributes or {}) == {
        "messaging.system": "webcom",
        "messaging.operation.type": "process",
        "messaging.operation.name": "receive",
        "messaging.batch.message_count": len(batch.reports),
        "smsstatus.format": "json",
        "smsstatus.taken": len(ack.ids),
        "smsstatus.rejected": 2,
        "http.response.status_code": 200,
    }
    assert span.status.status_code is StatusCode.UNSET
    assert span.start_time is not None
    assert span.end_time is not None
    # The span covers the document's processing, and lies within the call.
    assert before - 1000 <= span.start_time <= span.end_time <= after + 1000


def test_the_span_is_a_child_of_the_current_one(
    exporter: InMemorySpanExporter,
) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("web").start_as_current_span("POST /statuses") as request:
        smsstatus.receive(sample_payload(3, seed=1), lambda report: None)
    spans = {span.name: span for span in exporter.get_finished_spans()}
    ours = spans["smsstatus.receive"]
    assert ours.parent is not None
    assert ours.parent.span_id == request.get_span_context().span_id
    assert ours.context is not None
    assert ours.context.trace_id == request.get_span_context().trace_id


def test_a_refused_document_is_a_span_without_reports(
    exporter: InMemorySpanExporter,
) -> None:
    smsstatus.receive(b"<nope", lambda report: None)
    (span,) = exporter.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert attributes["http.response.status_code"] == 400
    assert attributes["smsstatus.format"] == "xml"
    assert attributes["messaging.batch.message_count"] == 0
    assert attributes["smsstatus.taken"] == 0
    assert "error.type" not in attributes
    assert span.status.status_code is StatusCode.UNSET


def test_a_database_failure_is_an_error_span(exporter: InMemorySpanExporter) -> None:
    watching = watch()
    assert watching is not None
    watching.done(body=b"[]", format=smsstatus.Format.JSON, code=503)
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "503"
    assert (span.attributes or {})["smsstatus.format"] == "json"


def test_the_span_times_are_the_watchs(exporter: InMemorySpanExporter) -> None:
    sink = SINKS[-1]
    sink(
        Document(
            format=None,
            code=413,
            size=1,
            body=None,
            batch=None,
            taken=(),
            arrived=1_700_000_000.25,
            seconds=0.5,
        )
    )
    (span,) = exporter.get_finished_spans()
    assert span.start_time == 1_700_000_000_250_000_000
    assert span.end_time == 1_700_000_000_750_000_000
    assert (span.attributes or {})["smsstatus.format"] == "unknown"


def test_enable_again_keeps_one_sink_and_takes_the_new_provider(
    exporter: InMemorySpanExporter,
) -> None:
    other = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(other))
    tracing.enable(tracer_provider=provider)
    assert sum(isinstance(sink, tracing._Spans) for sink in SINKS) == 1
    smsstatus.receive(sample_payload(2, seed=3), lambda report: None)
    assert exporter.get_finished_spans() == ()
    assert len(other.get_finished_spans()) == 1
    tracing.disable()
    tracing.disable()
    smsstatus.receive(sample_payload(2, seed=3), lambda report: None)
    assert len(other.get_finished_spans()) == 1


def test_without_an_sdk_the_spans_go_nowhere() -> None:
    # The global provider of the API alone: a no-op, and no error.
    saved = list(SINKS)
    try:
        tracing.enable()
        ack = smsstatus.receive(sample_payload(2, seed=3), lambda report: None)
        assert len(ack.ids) == 2
    finally:
        SINKS[:] = saved
