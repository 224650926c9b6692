"""OpenTelemetry spans of the receive path (extra ``otel``): `enable` adds one sink
to the observation hook, which records one span ``smsstatus.receive`` per status
document.

Strategy.  The hook hands a document over once it is answered, so the span is made
then, with the start and end times the hook measured: it covers the document's
decoding, the application's handler or store and the acknowledgement, and its
parent is whatever span is current in the request (a web framework's
instrumentation, say).  A span made inside the handler is not its child: the span
does not exist yet while the handler runs.  Attributes follow OpenTelemetry's
messaging conventions where they fit (a consumer span processing a batch of
messages: the gateway's statuses) and its HTTP ones for the answer's code.  Only
`opentelemetry-api` is needed; without an SDK set up the spans cost next to nothing
and go nowhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._observe import Document, add_sink, remove_sink
from ._version import __version__

try:
    from opentelemetry import trace
except ImportError as exc:  # pragma: no cover - the test extra brings it
    raise ImportError(
        "smsstatus.tracing needs opentelemetry-api: pip install 'smsstatus[otel]'"
    ) from exc

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

__all__ = ["SPAN_NAME", "disable", "enable"]

#: The name of the span made for each status document.
SPAN_NAME = "smsstatus.receive"


class _Spans:
    """The sink: one finished span per document."""

    def __init__(self) -> None:
        self.tracer: trace.Tracer = trace.NoOpTracer()

    def __call__(self, document: Document) -> None:
        code = document.code
        attributes: dict[str, str | int] = {
            "messaging.system": "webcom",
            "messaging.operation.type": "process",
            "messaging.operation.name": "receive",
            "messaging.batch.message_count": document.reports,
            "smsstatus.format": document.format_name,
            "smsstatus.taken": len(document.taken),
            "smsstatus.rejected": document.rejected,
            "http.response.status_code": code,
        }
        if code >= 500:
            # As OpenTelemetry's HTTP conventions say for a server: a 4xx answer
            # (a refused document) is the sender's error, not ours.
            attributes["error.type"] = str(code)
        # Microseconds first: a float of seconds since 1970 holds no finer digits.
        start = round(document.arrived * 1e6) * 1000
        span = self.tracer.start_span(
            SPAN_NAME,
            kind=trace.SpanKind.CONSUMER,
            attributes=attributes,
            start_time=start,
        )
        if code >= 500:
            span.set_status(trace.Status(trace.StatusCode.ERROR))
        span.end(end_time=start + round(document.seconds * 1e9))


_SPANS = _Spans()


def enable(*, tracer_provider: TracerProvider | None = None) -> None:
    """Record a span ``smsstatus.receive`` for every status document answered from
    now on, with the tracer provider set globally (`trace.set_tracer_provider`) or
    the one given.  Calling it again does nothing more than choose the provider."""
    _SPANS.tracer = trace.get_tracer(
        "smsstatus", __version__, tracer_provider=tracer_provider
    )
    add_sink(_SPANS)


def disable() -> None:
    """Stop recording spans."""
    remove_sink(_SPANS)
