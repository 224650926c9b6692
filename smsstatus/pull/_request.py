"""The pull status request, sans I/O: who asks (`Credentials`) and what to POST.

Strategy.  The request documents are written here and nowhere else, the JSON shape
(which the gateway's page leaves open: see WIRE-FORMAT.md) in one function,
`_json_items`, so that changing it is one edit.  Secrets live only inside
`Credentials`, whose repr hides them, and in a `StateRequest`'s body, which its repr
leaves out; `Credentials.redact` takes them back out of any text the gateway returns,
in every form a request wrote them in or a text may show them in.
Every argument is checked before a body is written, so a request that exists is one
the gateway can read.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import attrs

from smsstatus._body import parse_format
from smsstatus._model import Format

__all__ = ["Credentials", "StateRequest", "state_request", "unique_ids"]

_PATHS = {Format.XML: "/xml/state.php", Format.JSON: "/json/state.php"}
_CONTENT_TYPES = {
    Format.XML: "text/xml; charset=utf-8",
    Format.JSON: "text/json; charset=utf-8",
}
# Characters an XML 1.0 document cannot carry (they would make the request
# unreadable): the C0 controls but tab, CR and LF, surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]").search
_MASK = "***"
# Where a text was cut short (a refusal's text, an excerpt in a reason).
_CUT = "…"


def _secret(instance: Any, attribute: attrs.Attribute[str | None], value: Any) -> None:
    # The value itself never goes into a message: it may be the secret.
    if value is None:
        return
    if not isinstance(value, str):
        raise TypeError(f"{attribute.name} must be a str or None")
    if not value:
        raise ValueError(f"{attribute.name} must not be empty")
    if _NOT_XML(value):
        raise ValueError(f"{attribute.name} holds a character a request cannot carry")


@attrs.frozen(repr=False)
class Credentials:
    """What the gateway knows an account by: a `token` (a key its manager issues), or
    a `login` and a `password`; anything else raises `ValueError`.

    The repr and str show the login and never a password or token, so credentials
    can be logged, printed and put in tracebacks safely.
    """

    login: str | None = attrs.field(default=None, kw_only=True, validator=_secret)
    password: str | None = attrs.field(default=None, kw_only=True, validator=_secret)
    token: str | None = attrs.field(default=None, kw_only=True, validator=_secret)

    def __attrs_post_init__(self) -> None:
        if self.token is not None:
            valid = self.login is None and self.password is None
        else:
            valid = self.login is not None and self.password is not None
        if not valid:
            raise ValueError(
                "credentials are a token, or a login and a password: not both, "
                "and not part of either"
            )

    def __repr__(self) -> str:
        if self.token is not None:
            return f"Credentials(token={_MASK!r})"
        return f"Credentials(login={self.login!r}, password={_MASK!r})"

    def fields(self) -> dict[str, str]:
        """The request's credential fields, in the order the gateway's pages list
        them: ``{"login": …, "password": …}`` or ``{"token": …}``."""
        if self.token is not None:
            return {"token": self.token}
        return {"login": str(self.login), "password": str(self.password)}

    def redact(self, text: str) -> str:
        """`text` with every credential in it (login included) replaced by ``***``.

        Each is found in every form a request wrote it in or a text shows it in: as
        it is, XML-escaped, JSON-escaped (with and without ``\\u`` escapes), as
        Python's repr escapes it, and each of these with its runs of blanks made one
        space.  Where `text` was cut short (at a ``…``), a credential's head just
        before the cut and its tail just after are replaced too.  Redact a text
        before cutting it, so that no cut hides a credential.
        """
        return self._redactor()(text)

    def _redactor(self) -> Callable[[str], str]:
        """`redact`, with the forms to look for worked out once, for many texts."""
        forms: set[str] = set()
        for value in self.fields().values():
            written = {
                value,
                quoteattr(value)[1:-1],  # as the XML request writes it
                escape(value),
                json.dumps(value)[1:-1],  # as the JSON request writes it
                json.dumps(value, ensure_ascii=False)[1:-1],
                repr(value)[1:-1],
            }
            forms |= written | {" ".join(form.split()) for form in written}
        forms.discard("")
        # Longest first: a form holding another goes before it.
        ordered = sorted(forms, key=len, reverse=True)
        return functools.partial(_redact, ordered)


def _redact(forms: list[str], text: str) -> str:
    for form in forms:
        text = text.replace(form, _MASK)
    if _CUT not in text:
        return text
    pieces = text.split(_CUT)
    for at in range(len(pieces) - 1):
        before, after = pieces[at], pieces[at + 1]
        head = max(_head_ending(before, form) for form in forms)
        tail = max(_tail_starting(after, form) for form in forms)
        pieces[at] = before[: len(before) - head] + _MASK if head else before
        pieces[at + 1] = _MASK + after[tail:] if tail else after
    return _CUT.join(pieces)


def _head_ending(text: str, form: str) -> int:
    """The length of the longest head of `form` (not all of it) `text` ends with."""
    window = text[max(len(text) - len(form) + 1, 0) :] if len(form) > 1 else ""
    start = window.find(form[0])
    while start != -1:
        if form.startswith(window[start:]):
            return len(window) - start
        start = window.find(form[0], start + 1)
    return 0


def _tail_starting(text: str, form: str) -> int:
    """The length of the longest tail of `form` (not all of it) `text` starts with."""
    window = text[: len(form) - 1]
    end = window.rfind(form[-1])
    while end != -1:
        if form.endswith(window[: end + 1]):
            return end + 1
        end = window.rfind(form[-1], 0, end)
    return 0


@attrs.frozen
class StateRequest:
    """One pull status request, ready to POST: append `path` to the gateway's
    address and send `body` with the header ``Content-Type: content_type``.

    The body holds the credentials, so the repr leaves it out.
    """

    path: str
    body: bytes = attrs.field(repr=False)
    content_type: str
    format: Format


def unique_ids(ids: Iterable[int]) -> list[int]:
    """`ids` read once, deduplicated in their first order; `ValueError` for an id
    that is not an int >= 0 or for no id at all."""
    if isinstance(ids, str | bytes):
        raise ValueError("ids must be an iterable of ints, not a string")
    unique: dict[int, None] = {}
    for value in ids:
        if type(value) is not int or value < 0:
            shown = repr(value)[:40]
            raise ValueError(f"an id_sms must be an int >= 0, not {shown}")
        unique[value] = None
    if not unique:
        raise ValueError("no id_sms to ask about")
    return list(unique)


def state_request(
    ids: Iterable[int],
    credentials: Credentials,
    *,
    format: Format | str = "xml",
    detail: bool = False,
) -> StateRequest:
    """The request asking the gateway for the latest status of each of `ids`.

    `ids` are deduplicated and must be ints >= 0 (else `ValueError`, as for none at
    all).  `detail` asks for the number of parts and the price of each message,
    which only the JSON request can carry: with the XML format it is a `ValueError`.
    """
    chosen = parse_format(format)
    if not isinstance(credentials, Credentials):
        raise TypeError("credentials must be a smsstatus.pull.Credentials")
    if detail and chosen is Format.XML:
        raise ValueError("detail=True needs the JSON format: the XML request has none")
    wanted = unique_ids(ids)
    if chosen is Format.XML:
        body = _xml_body(wanted, credentials)
    else:
        body = json.dumps(_json_items(wanted, credentials, detail)).encode("utf-8")
    return StateRequest(_PATHS[chosen], body, _CONTENT_TYPES[chosen], chosen)


def _xml_body(ids: list[int], credentials: Credentials) -> bytes:
    security = "".join(
        f"    <{name} value={quoteattr(value)} />\n"
        for name, value in credentials.fields().items()
    )
    states = "".join(f"    <id_sms>{id_sms}</id_sms>\n" for id_sms in ids)
    return (
        '<?xml version="1.0" encoding="utf-8" ?>\n<request>\n'
        f"  <security>\n{security}  </security>\n"
        f"  <get_state>\n{states}  </get_state>\n</request>\n"
    ).encode()


def _json_items(
    ids: list[int], credentials: Credentials, detail: bool
) -> list[dict[str, Any]]:
    # The project's reading of the page's cut-off example: one object per id, each
    # carrying the credentials (WIRE-FORMAT.md, "What the pages leave open").
    fields = credentials.fields()
    flag = 1 if detail else 0
    return [{**fields, "id_sms": id_sms, "detail": flag} for id_sms in ids]
