"""Reading a request body from a stream without ever holding more than the limit.

The adapters read the body themselves instead of trusting a framework's ``body``:
a framework may stop at ``Content-Length`` (and so read nothing of a chunked
request), or read an oversized body whole before anyone can refuse it.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["read_at_most", "read_up_to"]

_PIECE = 64 * 1024


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def read_at_most(stream: _Readable, limit: int) -> bytes | None:
    """The rest of `stream`, or None as soon as it proves longer than `limit` bytes
    (having read at most ``limit + 1`` of them)."""
    body = read_up_to(stream, limit + 1)
    return None if len(body) > limit else body


def read_up_to(stream: _Readable, count: int) -> bytes:
    """The rest of `stream`, but no more than its next `count` bytes."""
    body = bytearray()
    while len(body) < count:
        piece = stream.read(min(_PIECE, count - len(body)))
        if not piece:
            break
        body += piece
    return bytes(body)
