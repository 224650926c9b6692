"""The load run's client: HTTP/1.1 POSTs over kept-alive loopback sockets, lean enough
that the server's CPU, not the client's, is what a run measures.

Strategy.  Every request is built whole before the run (`post`: request line,
headers and body in one ``bytes``), so sending one is a ``send`` call.  `drive` runs
in processes of its own (`Clients`, forked: the plan is inherited, not pickled);
each process drives its connections from one `selectors` loop, one request in
flight per connection, and reads the answers itself (``Content-Length`` or chunked).
Every answer is checked as the gateway checks it: 200 and every id of the document
acknowledged (the bytes `smsstatus.build_ack` makes, else what `smsstatus.decode_ack`
reads); a document not acknowledged whole is sent again, five attempts at most, as
the gateway does, so a lost id shows in the run's checks.  The run has two phases:
a warm-up on connections of its own (each worker imports and connects what it needs
on its first requests), then, once the parent has read the server's CPU counters,
the measured phase, whose CPU time each process reports beside its answers.
Bounded: 10 s per request, `deadline` per phase; the sockets connect to 127.0.0.1
only.
"""

from __future__ import annotations

import multiprocessing
import selectors
import socket
import time
from collections.abc import Sequence
from typing import Any

import attrs

from smsstatus import DecodeError, build_ack, decode_ack

ATTEMPTS = 5  # the gateway's
TIMEOUT = 10.0  # seconds a request may take, from its first byte sent to the answer


@attrs.frozen
class Post:
    """One document, as the bytes of its whole request, the ids it carries, and the
    acknowledgement `build_ack` makes of them (in the document's order)."""

    request: bytes
    ids: frozenset[int]
    ack: bytes
    statuses: int


def post(path: str, body: bytes, ids: Sequence[int]) -> Post:
    """The request POSTing `body`, whose statuses' ids are `ids`, to `path`."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/xml\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    ack = build_ack(dict.fromkeys(ids), "xml").body
    return Post(head.encode("ascii") + body, frozenset(ids), ack, len(ids))


@attrs.define
class Outcome:
    """What one phase of one or more processes saw."""

    statuses: list[int] = attrs.Factory(list)  # each attempt's answer (0: no answer)
    latencies: list[float] = attrs.Factory(list)  # each answered attempt's, seconds
    acknowledged: set[int] = attrs.Factory(set)
    posted: int = 0  # statuses in the documents (first attempts)
    cpu: float = 0.0  # the client processes' CPU time, seconds
    errors: list[str] = attrs.Factory(list)

    def add(self, other: Outcome) -> None:
        self.statuses += other.statuses
        self.latencies += other.latencies
        self.acknowledged |= other.acknowledged
        self.posted += other.posted
        self.cpu += other.cpu
        self.errors += other.errors


class _Connection:
    """One socket sending its posts in turn, one in flight."""

    def __init__(self, port: int, posts: Sequence[Post], outcome: Outcome) -> None:
        self.port, self.posts, self.outcome = port, posts, outcome
        self.next = 0
        self.attempt = 0
        self.sock: socket.socket | None = None
        self.answer = bytearray()
        self.started = 0.0

    def send(self, selector: selectors.BaseSelector) -> None:
        """Send the current post (a new socket if there is none), or stop."""
        if self.next == len(self.posts):
            self.close(selector)
            return
        if self.attempt == 0:
            self.outcome.posted += self.posts[self.next].statuses
        self.attempt += 1
        self.answer.clear()
        self.started = time.perf_counter()
        try:
            if self.sock is None:
                self.sock = socket.create_connection(("127.0.0.1", self.port), 5)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                selector.register(self.sock, selectors.EVENT_READ, self)
            # Loopback's buffers take a whole document: a timeout, not a partial
            # send, is what a stuck server gives.
            self.sock.settimeout(TIMEOUT)
            self.sock.sendall(self.posts[self.next].request)
            self.sock.setblocking(False)
        except OSError as exc:
            self.failed(selector, f"send: {exc}")

    def readable(self, selector: selectors.BaseSelector) -> None:
        assert self.sock is not None
        try:
            data = self.sock.recv(262144)
        except OSError as exc:
            self.failed(selector, f"recv: {exc}")
            return
        if not data:
            self.failed(selector, "connection closed before the answer")
            return
        self.answer += data
        parsed = _parse(self.answer)
        if parsed is not None:
            self.answered(selector, *parsed)

    def answered(
        self, selector: selectors.BaseSelector, status: int, body: bytes, keep: bool
    ) -> None:
        self.outcome.latencies.append(time.perf_counter() - self.started)
        self.outcome.statuses.append(status)
        post = self.posts[self.next]
        done = False
        if status == 200:
            try:
                # The answer the library makes, or one in another order.
                done = body == post.ack or set(decode_ack(body, "xml")) == post.ids
            except DecodeError as exc:
                self.outcome.errors.append(f"unreadable answer: {exc}")
            if not done:
                self.outcome.errors.append("200 without every id acknowledged")
        else:
            self.outcome.errors.append(f"HTTP {status}: {body[:100]!r}")
        if not keep:
            self.drop(selector)
        self.advance(selector, done)

    def failed(self, selector: selectors.BaseSelector, reason: str) -> None:
        self.outcome.statuses.append(0)
        self.outcome.errors.append(reason)
        self.drop(selector)
        self.advance(selector, False)

    def advance(self, selector: selectors.BaseSelector, done: bool) -> None:
        if done:
            self.outcome.acknowledged |= self.posts[self.next].ids
        if done or self.attempt == ATTEMPTS:
            self.next += 1
            self.attempt = 0
        self.send(selector)

    def late(self, now: float) -> bool:
        return self.sock is not None and now - self.started > TIMEOUT

    def drop(self, selector: selectors.BaseSelector) -> None:
        if self.sock is not None:
            selector.unregister(self.sock)
            self.sock.close()
            self.sock = None

    def close(self, selector: selectors.BaseSelector) -> None:
        self.drop(selector)
        self.next = len(self.posts)


def _parse(answer: bytearray) -> tuple[int, bytes, bool] | None:
    """The status, body and keep-alive of a whole answer in `answer`, or None while
    it is not whole (HTTP/1.1: ``Content-Length`` or chunked)."""
    end = answer.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = answer[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    keep = headers.get("connection") != "close" and lines[0].startswith("HTTP/1.1")
    start = end + 4
    if "content-length" in headers:
        stop = start + int(headers["content-length"])
        return None if len(answer) < stop else (status, bytes(answer[start:stop]), keep)
    if headers.get("transfer-encoding") != "chunked":
        raise ValueError(f"an answer with neither length nor chunks: {lines[0]}")
    body = bytearray()
    while True:
        line_end = answer.find(b"\r\n", start)
        if line_end < 0:
            return None
        size = int(answer[start:line_end].split(b";")[0], 16)
        if size == 0:  # no trailers from these servers: the last CRLF follows
            return None if len(answer) < line_end + 4 else (status, bytes(body), keep)
        if len(answer) < line_end + 2 + size + 2:
            return None
        body += answer[line_end + 2 : line_end + 2 + size]
        start = line_end + 2 + size + 2


def drive(port: int, plans: Sequence[Sequence[Post]], deadline: float) -> Outcome:
    """Send every post of `plans` (one connection each, all at once) to
    127.0.0.1:`port`; give up on what is left after `deadline` seconds."""
    outcome = Outcome()
    started = time.process_time()
    selector = selectors.DefaultSelector()
    connections = [_Connection(port, posts, outcome) for posts in plans]
    for connection in connections:
        connection.send(selector)
    stop = time.monotonic() + deadline
    while selector.get_map():
        for key, _ in selector.select(1.0):
            key.data.readable(selector)
        now = time.perf_counter()
        for connection in connections:
            if connection.late(now):
                connection.failed(selector, "no answer within the timeout")
        if time.monotonic() > stop:
            outcome.errors.append("the phase's deadline passed")
            for connection in connections:
                connection.close(selector)
    selector.close()
    outcome.cpu = time.process_time() - started
    return outcome


def _process(
    port: int,
    warm: Sequence[Sequence[Post]],
    plans: Sequence[Sequence[Post]],
    deadline: float,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    results.put(drive(port, warm, deadline))
    ready.release()
    go.wait()
    results.put(drive(port, plans, deadline))


class Clients:
    """`processes` client processes, each with its share of the connections.

    `warm_up()` runs the warm-up phase on every process and returns when all are
    done; `run()` then starts the measured phase and returns its outcome.
    """

    def __init__(
        self,
        port: int,
        warm: Sequence[Sequence[Post]],
        plans: Sequence[Sequence[Post]],
        *,
        processes: int,
        deadline: float,
    ) -> None:
        context = multiprocessing.get_context("fork")
        self._ready = context.Semaphore(0)
        self._go = context.Event()
        self._results: Any = context.Queue()
        self._processes = [
            context.Process(
                target=_process,
                args=(
                    port,
                    warm[n::processes],
                    plans[n::processes],
                    deadline,
                    self._ready,
                    self._go,
                    self._results,
                ),
                daemon=True,
            )
            for n in range(processes)
        ]
        self._deadline = deadline

    def warm_up(self) -> Outcome:
        for process in self._processes:
            process.start()
        for _ in self._processes:
            if not self._ready.acquire(timeout=self._deadline + 10):
                raise RuntimeError("a client process did not finish its warm-up")
        return self._collect()

    def run(self) -> Outcome:
        self._go.set()
        outcome = self._collect()
        for process in self._processes:
            process.join(10)
        return outcome

    def _collect(self) -> Outcome:
        outcome = Outcome()
        for _ in self._processes:
            outcome.add(self._results.get(timeout=self._deadline + 10))
        return outcome

    def stop(self) -> None:
        for process in self._processes:
            if process.is_alive():
                process.kill()
                process.join()
