"""The gateway's answer to a pull status request, read as safely as a webhook.

Strategy.  An XML answer is the webhook's own document, so `decode` reads it; only a
body that holds ``<error`` at all is first scanned by expat, with the same guards, for
the gateway's refusal (an ``<error>`` root, or an ``<error>`` child of ``<response>``
and no ``<state>``).  A JSON answer differs from the webhook's in its keys
(``time_change_state``, ``num_parts``, ``price``), so its items are walked here, each
handed to the shared per-item rules with the time key mapped, and the raw text of a bad
item kept as it came; the numbers are parsed as `decimal.Decimal`, never as floats
(but for an exponent too large for `Decimal`, which is then no valid price).
Answers are at most a chunk of ids long, so this path favours plainness over speed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import tzinfo
from decimal import Decimal
from typing import Any

import attrs

from smsstatus._body import DEFAULT_LIMITS, Body, opened, parse_format
from smsstatus._decode import decode
from smsstatus._errors import DecodeError, PayloadTooLarge, SmsStatusError
from smsstatus._item import ItemReader, read_id
from smsstatus._json import load_json
from smsstatus._model import Batch, Format, Limits, ReportError, StatusReport
from smsstatus._xml import (
    MAX_DEPTH,
    as_utf8,
    max_elements_for,
    new_parser,
    parse_safely,
    too_many_elements,
)

__all__ = [
    "Answer",
    "Detail",
    "GatewayRefused",
    "GatewayUnavailable",
    "decode_redacted",
    "decode_state_answer",
]

# How much of the gateway's error text is kept: it is shown and logged.
_MESSAGE_CHARS = 200
_PRICE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?").fullmatch


class GatewayRefused(SmsStatusError):
    """The gateway answered with its error text (a bad login, a malformed request...).

    `message` is that text, with any credential it repeats replaced by ``***``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class GatewayUnavailable(SmsStatusError, ConnectionError):
    """The gateway could not be asked: a refused, dropped or truncated connection, a
    timeout, a TLS failure, or a non-2xx answer without an error text.  Trying again
    later may succeed."""


@attrs.frozen
class Detail:
    """What a ``detail`` request adds to a message's status: the number of `parts`
    and the `price` per part; None where the gateway's value was missing or not a
    valid number."""

    parts: int | None
    price: Decimal | None


@attrs.frozen
class Answer:
    """The gateway's answer: the reports and per-item errors in `batch`, and the
    `details` of each report whose item carried ``num_parts`` or ``price``, by
    `id_sms`."""

    batch: Batch
    details: Mapping[int, Detail] = attrs.field(factory=dict)


def decode_state_answer(
    body: Body,
    *,
    format: Format | str | None = None,
    tz: tzinfo | None = None,
    limits: Limits | None = None,
) -> Answer:
    """Read the gateway's answer to a pull status request.

    The reports and per-item errors come out exactly as from `decode` (same safety,
    limits and rules; in JSON ``time_change_state`` is the time, and wins over
    ``time``).  A document that cannot be read raises a `DecodeError`; the gateway's
    own error document raises `GatewayRefused`.
    """
    return decode_redacted(body, None, format=format, tz=tz, limits=limits)


def decode_redacted(
    body: Body,
    redact: Callable[[str], str] | None,
    *,
    format: Format | str | None = None,
    tz: tzinfo | None = None,
    limits: Limits | None = None,
) -> Answer:
    """`decode_state_answer`, with `redact` applied to every text the answer gives
    (`Credentials.redact`, for `fetch_states`): a refusal's text whole, before it is
    made one line and cut, and each bad item's reason and raw text."""
    limits = limits or DEFAULT_LIMITS
    chosen = None if format is None else parse_format(format)
    data, sniffed = opened(body, limits)
    chosen = chosen or sniffed
    if chosen is Format.JSON:
        try:
            answer = _read_json_answer(data, tz, limits)
        except _Refusal as refusal:
            text = _message(refusal.value, redact)
        else:
            return _redacted(answer, redact)
    else:
        found = _xml_refusal(data, limits)
        if found is None:
            batch = decode(data, format=chosen, tz=tz, limits=limits)
            return _redacted(Answer(batch), redact)
        text = _message(found, redact)
    # Raised here, outside the except block, so that it carries no chain.
    raise GatewayRefused(text)


class _Refusal(Exception):
    """The gateway's JSON error document; `value` is its error, as it came."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


def _message(value: Any, redact: Callable[[str], str] | None) -> str:
    # Redacted first, while whole, so that no cut and no collapsed blank hides a
    # credential from `redact`; then one line of a bounded length, as it is shown
    # and logged.
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if redact is not None:
        text = redact(text)
    text = " ".join(text.split())
    if len(text) > _MESSAGE_CHARS:
        text = text[: _MESSAGE_CHARS - 1] + "…"
    return text or "(no error text)"


def _redacted(answer: Answer, redact: Callable[[str], str] | None) -> Answer:
    batch = answer.batch
    if redact is None or not batch.errors:
        return answer
    errors = tuple(
        attrs.evolve(error, reason=redact(error.reason), raw=redact(error.raw))
        for error in batch.errors
    )
    return Answer(Batch(batch.format, batch.reports, errors), answer.details)


def _xml_refusal(data: bytes, limits: Limits) -> str | None:
    """The error text of the gateway's XML error document, whole, or None when
    `data` is not one (then `decode` reads it, and says what else is wrong)."""
    data = as_utf8(data)
    if b"<error" not in data:
        return None  # no element named error can be in it
    parser = new_parser()
    path: list[str] = []  # the open elements
    texts: list[str] = []
    seen: set[str] = set()
    # Each element costs a Python call, so they are capped as `decode` caps them.
    max_elements = max_elements_for(limits)
    started = 0

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal started
        started += 1
        if started > max_elements:
            raise too_many_elements(max_elements)
        path.append(name)
        if len(path) > MAX_DEPTH:
            raise DecodeError(f"XML nested deeper than {MAX_DEPTH} elements")
        if path in (["error"], ["response", "error"], ["response", "state"]):
            seen.add(name)

    def end(name: str) -> None:
        path.pop()

    def characters(text: str) -> None:
        if path in (["error"], ["response", "error"]):
            texts.append(text)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parse_safely(data, parser)
    except DecodeError:
        return None  # `decode` refuses it again, with the same reason
    if "error" not in seen or "state" in seen:
        return None
    return "".join(texts)


def _read_json_answer(data: bytes, tz: tzinfo | None, limits: Limits) -> Answer:
    document = load_json(data, max_reports=limits.max_reports, parse_float=_number)
    if document.__class__ is dict:
        document = [document]
    elif document.__class__ is not list:
        raise DecodeError(
            f"JSON document is {type(document).__name__}, expected an array of objects"
        )
    if document and all(_is_refusal(item) for item in document):
        raise _Refusal(document[0]["error"])
    if len(document) > limits.max_reports:
        raise PayloadTooLarge(
            f"{len(document)} items, over the limit of {limits.max_reports}"
        )
    reader = ItemReader(tz)
    reports: list[StatusReport] = []
    errors: list[ReportError] = []
    details: dict[int, Detail] = {}
    for index, item in enumerate(document):
        if item.__class__ is not dict:
            errors.append(
                ReportError(
                    index=index,
                    id_sms=None,
                    reason=f"item is {_kind(item)}, expected an object",
                    raw=_as_text(item),
                )
            )
            continue
        get = item.get
        time = get("time_change_state", get("time"))
        result = reader.careful(
            index,
            get("id_sms"),
            time,
            get("state"),
            get("sms"),
            get("viber"),
            lambda: _as_text(item),  # noqa: B023 - called before the next item
        )
        if isinstance(result, ReportError):
            errors.append(result)
            continue
        reports.append(result)
        if "num_parts" in item or "price" in item:
            details[result.id_sms] = Detail(
                _parts(get("num_parts")), _price(get("price"))
            )
    batch = Batch(format=Format.JSON, reports=tuple(reports), errors=tuple(errors))
    return Answer(batch, details)


def _is_refusal(item: Any) -> bool:
    return item.__class__ is dict and "error" in item and "state" not in item


def _kind(item: Any) -> str:
    kinds = {list: "an array", str: "a string", type(None): "null"}
    return kinds.get(item.__class__, "a number or boolean")


def _as_text(item: Any) -> str:
    # A Decimal is written back as the number it was read from (as a float only in
    # this raw text, where it is informative, not a value anyone computes with).
    try:
        return json.dumps(item, default=float)
    except RecursionError as exc:
        raise DecodeError("JSON nested too deep to keep a bad item's raw text") from exc


def _number(text: str) -> Decimal | float:
    """A JSON number with a fraction or an exponent, exactly; a float (so no valid
    price) when its exponent is past what `Decimal` holds, which it refuses with
    `decimal.InvalidOperation`, no `ValueError`."""
    try:
        return Decimal(text)
    except ArithmeticError:
        return float(text)


def _parts(value: Any) -> int | None:
    # A count reads like an id (digits, maybe blank-padded, or a JSON int >= 0), and
    # the id's rule also voids text longer than int() converts instead of raising.
    try:
        return read_id(value)
    except ValueError:
        return None


def _price(value: Any) -> Decimal | None:
    if value.__class__ is Decimal and value.is_finite():
        return value
    if value.__class__ is int:
        return Decimal(value)
    if value.__class__ is str and _PRICE(value.strip()):
        return Decimal(value.strip())
    return None
