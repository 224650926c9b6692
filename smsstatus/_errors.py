"""The exceptions smsstatus raises.

Every problem with a *document* is a `DecodeError`, which is also a `ValueError`, so
code that already catches `ValueError` around parsing keeps working.  Problems with a
single *item* are not exceptions at all: they become `ReportError` values in the batch.
"""

from __future__ import annotations

__all__ = ["DecodeError", "PayloadTooLarge", "SmsStatusError", "UnsafePayload"]


class SmsStatusError(Exception):
    """Base class of every exception raised by smsstatus."""


class DecodeError(SmsStatusError, ValueError):
    """The body is not a document smsstatus can read; nothing was decoded."""


class PayloadTooLarge(DecodeError):
    """The body is larger than `Limits.max_bytes` or holds more than
    `Limits.max_reports` items."""


class UnsafePayload(DecodeError):
    """The XML body uses a DTD, an entity declaration or an external reference.

    Nothing in the gateway's format needs them; they are how XML bombs and external
    entity attacks are built, so they are refused before anything is expanded.
    """
