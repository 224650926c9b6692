"""JSON: the gateway's array of ``{"id_sms", "time", "state"}`` objects.

Strategy.  json's C scanner does the parsing; what it is given is bounded first.

1. `check_shape` reads the body's structure before anything is built, with a few
   C-level byte operations (no Python per byte): escapes and strings are cut out,
   leaving the brackets and commas outside strings.  From those it refuses a document
   nested deeper than `MAX_DEPTH` (so the scanner, which recurses once per level,
   never comes near any limit, whatever `sys.getrecursionlimit()` says and however
   deep the caller is), one holding more than `VALUES_PER_ITEM` values per permitted
   item in all, or one item holding more than `MAX_ITEM_VALUES`.  A body too small to
   break these bounds is only counted.
2. The gateway's own shape (an array of objects that hold no arrays or objects) has
   its items counted by the same look, so `max_reports` is enforced before json
   builds anything, and `json.loads` then reads it whole, the fastest way (keys are
   shared between items); each object becomes a report or an error, and is dropped
   from the list as soon as it is read, so the peak is the document, not both.
   Any other array has its items counted by the same look too (every item counts,
   whatever its type), so `check_shape` refuses a document over `max_reports` for
   every reader that uses it: this one, `load_json`'s and `json_items`' callers.
3. Any other shape, and a document holding an integer longer than `int()` converts
   (Python's 4300-digit limit), is read one item at a time, as json's own array
   reader would: reading stops at the first item over `max_reports`, and an item
   whose integer is too long is read again with such integers kept as `BigInt`
   marks, an error where it is the id, ignored under an unknown key.

json also reads ``NaN``, ``Infinity`` and ``-Infinity``, which are not JSON (RFC
8259): every reading here refuses a document holding one anywhere (`DecodeError`),
as msgspec does.

A bad item's `raw` is the item as json writes it (ASCII escapes, so it can be stored
whatever it holds), or, for an item holding an over-long integer, its text as sent.
The body must be UTF-8, as RFC 8259 requires between systems, with an optional
byte-order mark.  A lone object is a batch of one; any other top-level value is
refused.  An item that is not an object at all is a per-item error, like a bad field.
The pure-Python reading here defines the semantics; an accelerator must agree with it.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, tzinfo
from functools import partial
from json.scanner import make_scanner
from typing import Any, cast

from . import _json_fast
from ._body import DEFAULT_LIMITS, Body, as_bytes
from ._errors import DecodeError, PayloadTooLarge
from ._item import (
    _LEG,
    _STATUS,
    _TIME_SHAPE,
    _ZERO_DIGITS,
    BigInt,
    ItemReader,
    check_tz,
)
from ._json_bounds import (
    MAX_DEPTH,
    MAX_ITEM_VALUES,
    TOO_MANY_MEMBERS,
    VALUES_PER_ITEM,
    max_values,
)
from ._model import (
    Batch,
    Format,
    Limits,
    ReportError,
    StatusReport,
    _decoded_batch,
    _ReportBuilder,
    _wall_clock,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_ITEM_VALUES",
    "VALUES_PER_ITEM",
    "check_shape",
    "decode_json",
    "encode_json",
    "json_items",
    "load_json",
    "read_json",
    "read_json_pure",
]

# A body this short is counted before its shape is looked at: it may need no look;
# one shorter than `_TINY` cannot hold MAX_DEPTH + 1 nested pairs (and if it is
# malformed, json stops within as many levels as it has bytes).
_SMALL = 1 << 14
_TINY = 2 * MAX_DEPTH + 2
# An array of the gateway's shape larger than this is read by `_pieces`, so that the
# peak is the body and the reports, not the body and all of its objects.
_PIECE = 1 << 18

Scanner = Callable[[str, int], tuple[Any, int]]
_BLANKS = re.compile(r"[ \t\n\r]*")
# Everything but the bytes that make structure: brackets, commas and quotes.
_NOT_SHAPE = bytes(sorted(set(range(256)) - set(b'[]{},"')))
_STRINGS = re.compile(rb'"[^"]*"').sub
_OBJECTS = re.compile(rb"{[^}]*}").sub  # in a shape with no object inside another
_OPENERS = (ord("["), ord("{"))
_COMMA = ord(",")
# Marks, in `_read_items`' cache of times, a string not seen yet.
_UNSEEN: Any = object()


class _Unusual(Exception):
    """An item's field out of the ordinary form: `ItemReader.careful` reads it."""


class _NotJson(Exception):
    """``NaN``, ``Infinity`` or ``-Infinity``, raised from json's scanner.  Not a
    `ValueError`, so that no reading-again on the way (which takes a ValueError for
    an integer too long) mistakes it: the readers' entry points make it a
    `DecodeError` (`_not_json`)."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(name)


def _not_json(exc: _NotJson) -> DecodeError:
    return DecodeError(f"malformed JSON: {exc} is not JSON (RFC 8259)")


def _int_or_big(text: str) -> int | BigInt:
    try:
        return int(text)
    except ValueError:
        return BigInt(text)


def _decoder(**hooks: Any) -> json.JSONDecoder:
    return json.JSONDecoder(parse_constant=_refuse_constant, **hooks)


# json's own reading, and one that keeps integers too long to convert as their text,
# as whole-document decoders and as scanners of one value at a given place.
_DECODE = _decoder().decode
_DECODE_BIG = _decoder(parse_int=_int_or_big).decode


def _scanners(**hooks: Any) -> tuple[Scanner, Scanner]:
    return (
        make_scanner(cast(Any, _decoder(**hooks))),
        make_scanner(cast(Any, _decoder(parse_int=_int_or_big, **hooks))),
    )


_SCANNERS = _scanners()


def _shape(data: bytes) -> bytes:
    """The brackets and commas of `data` that lie outside strings, in order."""
    if b"\\" in data:
        # In JSON a backslash only ever escapes the next character, inside a string:
        # dropping escaped backslashes, then escaped quotes, leaves every quote a
        # string's end and changes nothing outside strings.
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = data.translate(None, _NOT_SHAPE)
    shape = marks.translate(None, b'"')
    if marks.count(b'""') * 2 == len(marks) - len(shape):
        # Every string holds neither brackets nor commas (the gateway's case): each
        # quote is followed at once by its closing one.  Counting says so in C.
        return shape
    shape = _STRINGS(b"", marks)
    unclosed = shape.find(b'"')
    # An unterminated string: json stops there, so only what comes before counts.
    return shape if unclosed < 0 else shape[:unclosed]


def check_shape(data: bytes, max_reports: int) -> int | None:
    """Refuse a body too deep, with too many values, for json to build safely, or
    with more than `max_reports` items (of any type: a scalar counts as an object).

    Returns the number of items when the body has the gateway's shape (an array of
    objects that hold no arrays or objects, or one such object), else None.
    """
    shape = _shape(data)
    # The brackets alone are a third of the shape: counting on them is cheaper.
    brackets = shape.translate(None, b",")
    objects = brackets.count(b"{")
    values = len(shape) - len(brackets) + objects + brackets.count(b"[")
    most = max_values(max_reports)
    if values > most:
        raise PayloadTooLarge(
            f"more than {most} JSON values ({VALUES_PER_ITEM} per permitted item)"
        )
    if (
        brackets.find(b"[", 1) < 0
        and brackets.find(b"]", 0, len(brackets) - 1) < 0
        and b"{{" not in brackets
        and b"}}" not in brackets
    ):
        # One object, or an array of scalars and objects that hold only scalars: two
        # levels at most, and an object's values are its commas plus one.
        if TOO_MANY_MEMBERS in shape:
            raise _too_many_values_in_an_item()
        if brackets[:1] != b"[":
            return objects
        # Objects only, one comma apart: nothing else stands between them.
        gateway = (
            objects > 0
            and shape.startswith(b"[{")
            and shape.endswith(b"}]")
            and shape.count(b"},{") == objects - 1
        )
        # Else scalars too: the items are the commas outside objects, plus one (an
        # empty array counts one, which no limit refuses).
        items = objects if gateway else _OBJECTS(b"", shape).count(b",") + 1
        if items > max_reports:
            raise PayloadTooLarge(f"{items} items, over the limit of {max_reports}")
        return items if gateway else None
    _walk(shape, max_reports)
    return None


def _walk(shape: bytes, max_reports: int) -> None:
    """`check_shape` for any other shape: depth, items and values per item, by the
    byte (their number is bounded already, and with it the time this takes)."""
    top = 1 if shape[:1] == b"[" else 0  # the depth at which items are separated
    depth = values = items = 0
    for byte in shape:
        if byte == _COMMA:
            if depth == top:
                values = 0
                items += 1
                if items >= max_reports:
                    raise PayloadTooLarge(f"more than {max_reports} items")
            else:
                values += 1
        elif byte in _OPENERS:
            depth += 1
            if depth > MAX_DEPTH:
                raise DecodeError(f"JSON nested too deep: more than {MAX_DEPTH} levels")
            values += 1
        else:
            depth -= 1
            if depth <= 0:
                return  # the document ends here, or is malformed here: json says
        if values > MAX_ITEM_VALUES:
            raise _too_many_values_in_an_item()


def _too_many_values_in_an_item() -> PayloadTooLarge:
    return PayloadTooLarge(f"a JSON item holds more than {MAX_ITEM_VALUES} values")


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"body is not valid UTF-8 at byte {exc.start}") from exc


def _malformed(exc: json.JSONDecodeError) -> DecodeError:
    return DecodeError(
        f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    )


def load_json(data: bytes, *, max_reports: int = DEFAULT_LIMITS.max_reports) -> Any:
    """The JSON value of a UTF-8 body, or a `DecodeError` saying why there is none
    (for documents that are small by nature, such as acknowledgements)."""
    text = _text(data)
    check_shape(data, max_reports)
    try:
        try:
            return _DECODE(text)
        except json.JSONDecodeError:
            raise
        except ValueError:  # an integer with more digits than int() converts: a mark
            return _DECODE_BIG(text)
    except json.JSONDecodeError as exc:  # either reading, past such an integer too
        raise _malformed(exc) from exc
    except RecursionError as exc:  # only when the caller itself is nearly that deep
        raise DecodeError("JSON nested too deep to parse") from exc
    except _NotJson as exc:
        raise _not_json(exc) from None


def json_items(
    data: bytes, *, max_reports: int, parse_float: Callable[[str], Any]
) -> Iterator[Any]:
    """The items of a JSON document (an array, or a lone object) one at a time, for
    documents whose items other rules read (the pull request's answers): only the
    item being read is held, whatever its numbers weigh.  `parse_float` reads each
    number with a fraction or an exponent; an integer too long for int() is a
    `BigInt`.  The bounds and refusals are `decode_json`'s."""
    text = _text(data)
    check_shape(data, max_reports)
    try:
        for items in _scan_items(
            text, max_reports, {}, _scanners(parse_float=parse_float)
        ):
            yield items[0]
    except _NotJson as exc:
        raise _not_json(exc) from None


def _skip_blanks(text: str, at: int) -> int:
    """Where the JSON blanks from `at` on end."""
    return _BLANKS.match(text, at).end()  # type: ignore[union-attr]  # always matches


def _scan_again(
    text: str, at: int, exc: Exception, scan_big: Scanner
) -> tuple[Any, int]:
    """The value at `at` after json's own scanner failed there with `exc`: read
    with over-long integers kept as marks (by `scan_big`), or the document's error."""
    if isinstance(exc, ValueError) and not isinstance(exc, json.JSONDecodeError):
        try:
            return scan_big(text, at)  # an integer too long for int()
        except (StopIteration, ValueError, RecursionError) as again:
            exc = again  # the value is malformed past that integer, or too deep
    if isinstance(exc, RecursionError):  # only when the caller is itself that deep
        raise DecodeError("JSON nested too deep to parse") from exc
    raise _as_json_says(text) from None


def _as_text(item: Any) -> str:
    # As json writes it, ASCII escapes keeping `raw` storable even when the item
    # holds a lone surrogate; nesting is bounded, so this never recurses far.
    try:
        return json.dumps(item)
    except RecursionError as exc:  # only when the caller is itself that deep
        raise DecodeError("JSON nested too deep to write a bad item's raw") from exc


def read_json(data: bytes, tz: tzinfo | None, limits: Limits) -> Batch:
    """Decode a JSON body that `as_bytes` has already checked."""
    # With msgspec installed, an ordinary document takes the accelerator; it hands
    # anything else back to be read here.  Its typed decode stops at the first value
    # out of the ordinary form, so hostile shapes cost it next to nothing.
    batch = _json_fast.read(data, tz, limits)
    return batch if batch is not None else read_json_pure(data, tz, limits)


def read_json_pure(data: bytes, tz: tzinfo | None, limits: Limits) -> Batch:
    """`read_json` without the accelerator: the reader that decides."""
    try:
        return _read_pure(data, tz, limits)
    except _NotJson as exc:
        raise _not_json(exc) from None


def _read_pure(data: bytes, tz: tzinfo | None, limits: Limits) -> Batch:
    text = _text(data)
    max_reports = limits.max_reports
    size = len(data)
    if size < _TINY or (
        size <= _SMALL
        # Braces first: past 64 items, a gateway's document fails here, one count in.
        and (opens := data.count(b"{")) <= MAX_DEPTH
        and (opens := opens + data.count(b"[")) <= MAX_DEPTH
        and opens + data.count(b",") <= MAX_ITEM_VALUES
    ):
        # Too few brackets to nest too deep, too few values to weigh: a small
        # document needs no look at its shape.
        whole = True
    else:
        whole = check_shape(data, max_reports) is not None
    if whole:
        # json builds it (small, or of the gateway's shape with its items counted)
        # whole, the fastest way, keys shared between items; a large array in
        # pieces, since json's objects weigh about five times their text.
        try:
            if size > _PIECE and text[start := _skip_blanks(text, 0)] == "[":
                return _read_items(_pieces(text, start + 1), tz, {})
            document = _DECODE(text)
        except json.JSONDecodeError as exc:
            if size <= _PIECE:
                raise _malformed(exc) from exc
            # A piece was cut inside a string, or the document is malformed: read
            # one by one below, which says where.
        except (ValueError, RecursionError):
            pass  # read one by one below, which isolates the item or says why
        else:
            if document.__class__ is dict:
                document = [document]
            elif document.__class__ is not list:
                raise _not_a_batch(document)
            if len(document) > max_reports:
                raise PayloadTooLarge(
                    f"{len(document)} items, over the limit of {max_reports}"
                )
            return _read_items((document,), tz, {})
    sent: dict[int, str] = {}
    return _read_items(_scan_items(text, max_reports, sent, _SCANNERS), tz, sent)


def _not_a_batch(document: Any) -> DecodeError:
    kind = "int" if document.__class__ is BigInt else type(document).__name__
    return DecodeError(f"JSON document is {kind}, expected an array of objects")


def _read_items(
    lists: Iterable[list[Any]], tz: tzinfo | None, sent: dict[int, str]
) -> Batch:
    """The batch of a document's items, given in lists: the whole document, its
    pieces, or each item alone.  `sent` holds the raw text of the items that
    json.dumps could not write back as they came (filled in by `_scan_items` before
    it yields the item)."""
    check_tz(tz)
    # `ItemReader.fast`'s tests are written out in the loop below, a JSON int >= 0
    # taken as an ordinary id: a call per item would cost more than the rest of the
    # loop.  Only an item they leave needs the reader's `careful`, so the reader is
    # made for the first such item (making one costs as much as reading ten).
    reader: ItemReader | None = None
    times: dict[Any, Any] = {"": None, None: None}
    unseen = _UNSEEN
    parse_time = datetime.fromisoformat
    zero_digits = _ZERO_DIGITS
    time_shape = _TIME_SHAPE
    states = _STATUS
    legs = _LEG
    builder = _ReportBuilder
    report_class = StatusReport
    reports: list[StatusReport] = []
    errors: list[ReportError] = []
    append = reports.append
    first = 0  # the index of the list's first item
    for items in lists:
        for at, item in enumerate(items):
            # Each object is dropped from its list once read, so the memory it held
            # is reused at once for the reports: less to hold, and faster to write.
            items[at] = None
            try:
                id_raw = item["id_sms"]
                if id_raw.__class__ is str:
                    if not (id_raw.isascii() and id_raw.isdigit()):
                        raise _Unusual
                    id_sms = int(id_raw)
                elif id_raw.__class__ is int and id_raw >= 0:
                    id_sms = id_raw
                else:
                    raise _Unusual
                time_raw = item["time"]
                time = times.get(time_raw, unseen)
                if time is unseen:
                    if time_raw.encode().translate(zero_digits) != time_shape:
                        raise _Unusual
                    time = parse_time(time_raw)
                    if tz is not None:
                        time = time.replace(tzinfo=tz)
                    times[time_raw] = time
                state = states[item["state"]]
                if len(item) == 3:  # exactly the three keys just read: no legs
                    sms = viber = None
                else:
                    sms = legs[item.get("sms")]
                    viber = legs[item.get("viber")]
            except (_Unusual, AttributeError, KeyError, TypeError, ValueError):
                # `_Unusual`: a value out of the ordinary form; KeyError: a key
                # missing, or not a status; TypeError: not an object, or an
                # unhashable value looked up; AttributeError: a time that is not a
                # string; ValueError: an id longer than int() converts, a time that
                # is no real date-time or holds a lone surrogate.
                pass
            else:
                # `_unchecked_report`, written out, as `ItemReader.fast` does.
                report: Any = builder()
                report.id_sms = id_sms
                report.time = time
                report.state = state
                report.sms = sms
                report.viber = viber
                report.__class__ = report_class
                append(report)
                continue
            index = first + at
            if reader is None:
                reader = ItemReader(tz)
            if item.__class__ is dict:
                get = item.get
                result = reader.careful(
                    index,
                    get("id_sms"),
                    get("time"),
                    get("state"),
                    get("sms"),
                    get("viber"),
                    sent.get(index) or partial(_as_text, item),
                )
            else:
                kind = {list: "an array", str: "a string", type(None): "null"}.get(
                    item.__class__, "a number or boolean"
                )
                result = ReportError(
                    index=index,
                    id_sms=None,
                    reason=f"item is {kind}, expected an object",
                    raw=sent.get(index) or _as_text(item),
                )
            if isinstance(result, StatusReport):
                append(result)
            else:
                errors.append(result)
        first += len(items)
    return _decoded_batch(Format.JSON, tuple(reports), tuple(errors))


def _scan_items(
    text: str,
    max_reports: int,
    sent: dict[int, str],
    scanners: tuple[Scanner, Scanner],
) -> Iterator[list[Any]]:
    """The document's items, each in a list of its own (as `_read_items` takes
    them), read as json's own array reader would, one at a time, by the first of
    `scanners` (the second keeps integers too long for int() as `BigInt`):
    it stops at the first item over `max_reports`, and an integer too long for int()
    becomes a `BigInt` in its item (whose text goes into `sent`) instead of an error.
    A malformed document raises the error json itself gives for it."""
    at = _skip_blanks(text, 0)
    opener = text[at : at + 1]
    if opener not in ("[", "{"):
        # Not a batch, or malformed: json says which.
        raise _not_a_batch(load_json(text.encode()))
    if opener == "[":
        at = _skip_blanks(text, at + 1)
        more = text[at : at + 1] != "]"
        at += not more  # an empty array: past its "]"
    else:
        more = True  # a lone object: the one item
    scan, scan_big = scanners
    index = 0
    while more:
        if index == max_reports:
            raise PayloadTooLarge(f"more than {max_reports} items")
        try:
            item, end = scan(text, at)
        except (StopIteration, ValueError, RecursionError) as exc:
            item, end = _scan_again(text, at, exc, scan_big)
            sent[index] = text[at:end]
        yield [item]
        index += 1
        at = end
        if opener == "{":
            break
        end = _skip_blanks(text, end)
        separator = text[end : end + 1]
        at = end + 1
        if separator == "]":
            more = False
        elif separator == ",":
            at = _skip_blanks(text, at)
        else:
            raise _as_json_says(text)
    if _skip_blanks(text, at) != len(text):
        raise _as_json_says(text)


def _pieces(text: str, at: int) -> Iterator[list[Any]]:
    """The items of an array of the gateway's shape (`check_shape` said so: objects
    that hold only scalars) from `at`, just past its ``[``, as the lists json reads
    from pieces of about `_PIECE` characters cut between two objects, after the
    ``}`` of a ``},``.

    A cut can only fall inside a string if a string holds ``},``: the piece then
    ends in an unterminated string, so json refuses it (`json.JSONDecodeError`) and
    the caller reads the document again one item at a time, as for any other fault.
    """
    while True:
        cut = text.find("},", at + _PIECE)
        if cut < 0:
            yield _DECODE(f"[{text[at:]}")
            return
        yield _DECODE(f"[{text[at : cut + 1]}]")
        at = cut + 2


def _drop(value: object) -> None:
    return None


# json's reading that keeps nothing, for `_as_json_says`; NaN and Infinity are
# refused, so the first fault in the document's order is the one told.
_DROPPING = _decoder(object_hook=_drop, parse_int=_drop, parse_float=_drop).decode


def _as_json_says(text: str) -> DecodeError:
    """The error json itself gives for a malformed `text`, whose wording differs
    between Python versions (a trailing comma, for one).  Every value json reads on
    its way to the fault is dropped at once, so this costs little memory whatever
    the document holds."""
    try:
        _DROPPING(text)
    except json.JSONDecodeError as exc:
        return _malformed(exc)
    # json refuses whatever its own scanner refused item by item.
    return DecodeError("malformed JSON")  # pragma: no cover


def decode_json(
    body: Body, *, tz: tzinfo | None = None, limits: Limits | None = None
) -> Batch:
    """Decode the gateway's JSON document (an array of objects, or one object).

    Every object becomes a `StatusReport` or, when one of its fields breaks the rules,
    a `ReportError`.  A document that cannot be read at all raises a `DecodeError`
    (`PayloadTooLarge` past `limits`).  `tz` is attached to every time.
    """
    limits = limits or DEFAULT_LIMITS
    return read_json(as_bytes(body, limits), tz, limits)


def encode_json(reports: Iterable[StatusReport]) -> bytes:
    """The gateway's JSON document for `reports`: `id_sms` as a string, as the
    gateway shows it, and `sms` / `viber` only when set."""
    items = []
    for report in reports:
        item = {
            "id_sms": str(report.id_sms),
            "time": _wall_clock(report.time),
            "state": report.state.value,
        }
        if report.sms is not None:
            item["sms"] = report.sms.value
        if report.viber is not None:
            item["viber"] = report.viber.value
        items.append(item)
    return json.dumps(items).encode("utf-8")
