"""The one hook that watches the receive path: metrics, tracing and the log line are
sinks fed from here, never woven through `receive` themselves.

Strategy.  Every path that answers a status document (`receive`, `receive_batch`,
their async forms, `StatusTable.receive`) calls `watch` once before it decodes and
`Watch.done` once with the answer; an adapter that answers 413 without reading the
body calls `unread`.  With no sink registered (the default) the paths skip all of it
after one test of a global list: turned off costs nothing measurable and imports
nothing.  A sink is a callable taking a `Document`; it must not raise (one that
does is logged and the answer goes out all the same), and it runs in the request,
so it must be cheap.  ``smsstatus.metrics``, ``smsstatus.tracing`` and
``smsstatus.weblog`` each add one sink; a fourth is one small module.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

import attrs

from ._body import Body
from ._model import Batch, Format

__all__ = ["SINKS", "Document", "Watch", "add_sink", "remove_sink", "unread", "watch"]


@attrs.frozen
class Document:
    """One status document as it was answered.

    `batch` is None when the document was refused (400), too large (413) or the
    database failed before anything was decoded; `taken` holds the acknowledged ids
    (kept bad items' ids included).  `format` is the one the document was read as:
    the one asked for, else the one its first character says, None when neither
    tells.  `size` counts the body's bytes (a `str` as UTF-8); `body` is None when
    it was never read (an adapter's 413 on the declared length).  `arrived` is the
    wall clock (``time.time()``) at the start, for the lag between a report's own
    time and its arrival and for a span's start; `seconds` the time the path took,
    by the monotonic clock.  `digest` is the body's SHA-256 when the path computed it
    already (the ledger does, for its webhook row), else None: `sha256` says it
    either way."""

    format: Format | None
    code: int
    size: int
    body: Body | None = attrs.field(repr=False)
    batch: Batch | None
    taken: tuple[int, ...]
    arrived: float
    seconds: float
    digest: str | None = attrs.field(default=None, repr=False)

    @property
    def format_name(self) -> str:
        """`format` as the sinks name it: ``xml``, ``json`` or ``unknown``."""
        return "unknown" if self.format is None else self.format.value

    @property
    def reports(self) -> int:
        """The document's valid reports (0 when nothing was decoded)."""
        return 0 if self.batch is None else len(self.batch.reports)

    @property
    def rejected(self) -> int:
        """The document's per-item errors (`ReportError`)."""
        return 0 if self.batch is None else len(self.batch.errors)

    @property
    def sha256(self) -> str:
        """The hex digest of the body as received (`digest`, else computed on
        demand); "" when the body was never read."""
        if self.digest is not None:
            return self.digest
        if self.body is None:
            return ""
        return hashlib.sha256(_as_bytes(self.body)).hexdigest()


def _as_bytes(body: Body) -> bytes | bytearray | memoryview:
    # "surrogatepass": a str with a lone surrogate (refused by the decoder) still
    # has a size and a digest.
    return body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body


def _size(body: Body | None) -> int:
    if body is None:
        return 0
    if isinstance(body, memoryview):
        return body.nbytes
    return len(_as_bytes(body))


#: The registered sinks, in registration order (`add_sink`, `remove_sink`).
SINKS: list[Callable[[Document], object]] = []
_SINKS_LOCK = threading.Lock()


def add_sink(sink: Callable[[Document], object]) -> None:
    """Register `sink`, once: registering it again does nothing."""
    with _SINKS_LOCK:
        if sink not in SINKS:
            SINKS.append(sink)


def remove_sink(sink: Callable[[Document], object]) -> None:
    """Unregister `sink`, if it is registered."""
    with _SINKS_LOCK:
        if sink in SINKS:
            SINKS.remove(sink)


@attrs.define
class Watch:
    """A document being answered: made by `watch`, finished by `done`."""

    arrived: float
    started: float

    def done(
        self,
        *,
        body: Body | None,
        format: Format | None,
        code: int,
        batch: Batch | None = None,
        taken: tuple[int, ...] = (),
        size: int | None = None,
        sha256: str | None = None,
    ) -> None:
        """Hand the answered document to every sink.  `size` is needed only when
        `body` is None (an adapter that refused a declared length unread);
        `sha256`, the body's hex digest, when the caller has it already."""
        document = Document(
            format=format,
            code=code,
            size=_size(body) if size is None else size,
            body=body,
            batch=batch,
            taken=taken,
            arrived=self.arrived,
            seconds=time.perf_counter() - self.started,
            digest=sha256,
        )
        for sink in SINKS:
            try:
                sink(document)
            except Exception:  # a broken sink must not cost the gateway its answer
                import logging

                logging.getLogger("smsstatus").exception(
                    "a receive-path sink (%r) failed", sink
                )


def watch() -> Watch | None:
    """A `Watch` for the document about to be answered, or None when nothing is
    watching (then the caller does nothing more)."""
    if not SINKS:
        return None
    return Watch(arrived=time.time(), started=time.perf_counter())


def unread(*, code: int, size: int) -> None:
    """For an adapter that answers without reading the body (413 on a declared
    length over the limit): hand the sinks a document of `size` bytes, never
    decoded, answered `code`."""
    if SINKS:
        Watch(arrived=time.time(), started=time.perf_counter()).done(
            body=None, size=size, format=None, code=code
        )
