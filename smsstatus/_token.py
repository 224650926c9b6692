"""The secret token in the status URL: one check for every adapter, and a log filter.

The gateway cannot sign its requests, so the URL it posts to carries a secret
(``.../statuses/<token>``).  Strategy: refuse to run with a token that is guessable
(empty or shorter than `MIN_TOKEN_LENGTH`), compare in constant time
(`hmac.compare_digest` on the UTF-8 bytes: a near miss costs as long as a far one),
and keep the token out of the logs, where every server writes the full URL.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging

__all__ = ["MIN_TOKEN_LENGTH", "RedactToken", "check_token", "token_matches"]

#: The shortest token accepted: 32 characters (``secrets.token_urlsafe(32)`` gives 43).
MIN_TOKEN_LENGTH = 32

# The path segment after /statuses/, up to the next slash, query, blank or quote.
# Compiled by `re` on first use (and cached there), not at import.
_SEGMENT = r"(/statuses/)[^/?#\s\"']+"
_STATUSES = "/statuses/"


def check_token(token: object, *, setting: str = "SMSSTATUS_TOKEN") -> str:
    """Return `token` if it is a string of at least `MIN_TOKEN_LENGTH` characters,
    else raise `ValueError` naming `setting` (the token itself is never shown)."""
    if not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH:
        what = "missing" if not token else f"shorter than {MIN_TOKEN_LENGTH} characters"
        raise ValueError(
            f"{setting} is {what}: set it to a long random string, e.g. the output"
            " of: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return token


def token_matches(given: str, expected: str) -> bool:
    """Whether the token from the URL is the expected one, compared in constant
    time.  False whenever `expected` is not an acceptable token (`check_token`), so a
    misconfiguration never opens the endpoint."""
    if not isinstance(expected, str) or len(expected) < MIN_TOKEN_LENGTH:
        return False
    # Imported here, on the first request: hmac loads OpenSSL, which costs more
    # than the rest of `import smsstatus` does.
    import hmac

    # Bytes, because compare_digest refuses str with non-ASCII characters.
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


class RedactToken:
    """A logging filter that replaces the path segment after ``/statuses/`` with
    ``***`` in all a record shows: its message, its arguments, its traceback and its
    stack, so that no log holds the token.

    It is a filter as `logging` takes one, an object with a ``filter`` method (not a
    `logging.Filter` subclass, so that ``import smsstatus`` need not import `logging`):
    ``addFilter`` and `logging.config.dictConfig` (``"()": "smsstatus.RedactToken"``)
    accept it.

    Attach it to the handlers every server log goes through (gunicorn's
    ``console`` and ``error_console``), or to the loggers that write the path:
    ``uvicorn.access``, ``uvicorn.error`` and ``uvicorn.asgi``; ``django.server``
    and ``django.request``; ``werkzeug`` and a Flask app's ``app.logger``.  See
    the manual's Django, Flask and FastAPI pages for each server's recipe.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the token in `record`'s message, arguments, traceback and stack;
        keep the record."""
        if isinstance(record.msg, str):
            record.msg = _redact_text(record.msg)
        # Arguments are redacted one by one, not merged into the message: access-log
        # formatters (uvicorn's) read them by position, gunicorn's by name.
        if isinstance(record.args, dict):
            record.args = {key: _redact(v) for key, v in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact(v) for v in record.args)
        if record.exc_info and not record.exc_text:
            # Formatted here, as a handler's Formatter would, which then uses this
            # text: an exception's message may quote the URL (gunicorn logs the
            # traceback of a request whose worker was aborted).
            import logging

            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = _redact_text(record.stack_info)
        return True


def _redact_text(text: str) -> str:
    return re.sub(_SEGMENT, r"\1***", text)


def _redact(value: object) -> object:
    if isinstance(value, str):
        return _redact_text(value)
    if value is None or isinstance(value, int | float):
        return value  # kept as it is, for a %d or %f
    # Any other object is shown with str() or repr(): a dict (uvicorn's trace of
    # the ASGI scope), bytes.  Only one that shows a token is replaced, by its text.
    try:
        text = str(value)
    except Exception:  # a filter must not fail the logging call
        return value  # (the handler, formatting it, reports the failure)
    return _redact_text(text) if _STATUSES in text else value
