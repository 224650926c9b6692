"""Coverage-guided fuzzing of the decoders with atheris (libFuzzer for Python).

Three targets, each run on every input unless ``--target=NAME`` picks some (the
option may be repeated; libFuzzer's own options pass through):

- ``decode``: the input decoded as XML, as JSON and sniffed; as JSON also without
  the msgspec accelerator, which must give the same batch or the same error;
- ``ack``: `decode_ack` in both formats;
- ``answer``: `decode_state_answer` (the pull request's answer) sniffed, as XML and
  as JSON.

The checks are the library's promises, not "it did not crash":

- nothing but `DecodeError` escapes (and, from `decode_state_answer`, the gateway's
  refusal, `GatewayRefused`);
- every item ends in exactly one of `reports` and `errors`: the items are counted
  again here, independently (expat for ``<state>`` elements, `json.loads` for the
  array), and the error indexes are distinct and within that count;
- every error's `raw` decodes again, alone in a document, to the same error (for
  `decode`: an answer's item has other keys);
- an acknowledgement's ids are integers >= 0, no more than its items; an answer's
  details belong to its reports.

Run it (not part of ``make test``; see fuzz/README.md)::

    pip install atheris -e .
    python fuzz/fuzz_decode.py -max_total_time=60 fuzz/corpus
    python fuzz/fuzz_decode.py --target=answer -max_total_time=60 fuzz/corpus
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from xml.parsers import expat

import atheris

with atheris.instrument_imports():
    import smsstatus
    from smsstatus import DecodeError, Format, Limits, _json_fast
    from smsstatus._xml import as_utf8
    from smsstatus.pull import GatewayRefused, decode_state_answer

LIMITS = Limits(max_bytes=1 << 20, max_reports=200)


def xml_items(data: bytes, element: str = "state") -> int:
    """How many `element` elements sit right under the root, by plain expat."""
    depth = count = 0

    def start(name: str, attrs: object) -> None:
        nonlocal depth, count
        depth += 1
        count += depth == 2 and name == element

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1

    parser = expat.ParserCreate("utf-8")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.Parse(as_utf8(data), True)
    return count


def json_items(data: bytes) -> int:
    """How many items the JSON document holds, by `json.loads`."""
    text = data.decode("utf-8-sig")
    document = json.loads(text, parse_int=lambda digits: 0)
    return 1 if isinstance(document, dict) else len(document)


COUNTERS = {Format.XML: xml_items, Format.JSON: json_items}


def check_items(data: bytes, batch: smsstatus.Batch) -> None:
    items = COUNTERS[batch.format](data)
    assert len(batch.reports) + len(batch.errors) == items, (items, batch)
    indexes = [error.index for error in batch.errors]
    assert indexes == sorted(set(indexes)), indexes
    assert all(0 <= index < items for index in indexes), indexes


def check_batch(data: bytes, batch: smsstatus.Batch) -> None:
    check_items(data, batch)
    for error in batch.errors:
        raw = error.raw
        xml = batch.format is Format.XML
        alone = f"<response>{raw}</response>" if xml else f"[{raw}]"
        again = smsstatus.decode(alone, format=batch.format)
        assert again.errors == (
            smsstatus.ReportError(0, error.id_sms, error.reason, raw),
        ), (error, again)


def outcome(attempt: Callable[[], smsstatus.Batch]) -> tuple[str, str]:
    try:
        return ("batch", repr(attempt()))
    except DecodeError as exc:
        return (type(exc).__name__, str(exc))


def check_decode(data: bytes) -> None:
    for format in (None, Format.XML, Format.JSON):
        try:
            batch = smsstatus.decode(data, format=format, limits=LIMITS)
        except DecodeError:
            continue
        check_batch(data, batch)
    fast = outcome(lambda: smsstatus.decode(data, format=Format.JSON, limits=LIMITS))
    read = _json_fast.read
    _json_fast.read = lambda *args: None
    try:
        pure = outcome(
            lambda: smsstatus.decode(data, format=Format.JSON, limits=LIMITS)
        )
    finally:
        _json_fast.read = read
    assert fast == pure, (fast, pure)


def check_ack(data: bytes) -> None:
    for format in Format:
        try:
            ids = smsstatus.decode_ack(data, format)
        except DecodeError:
            continue
        assert all(type(id_sms) is int and id_sms >= 0 for id_sms in ids), ids
        if format is Format.XML:
            assert len(ids) <= xml_items(data, "id_sms"), ids
        else:
            assert len(ids) <= json_items(data), ids


def check_answer(data: bytes) -> None:
    for format in (None, Format.XML, Format.JSON):
        with contextlib.suppress(DecodeError, GatewayRefused):
            answer = decode_state_answer(data, format=format, limits=LIMITS)
            # An answer's raw is not a webhook's item (its time key differs).
            check_items(data, answer.batch)
            ids = {report.id_sms for report in answer.batch.reports}
            assert set(answer.details) <= ids, answer


TARGETS = {"decode": check_decode, "ack": check_ack, "answer": check_answer}


def one_input(data: bytes, checks: tuple[Callable[[bytes], None], ...]) -> None:
    for check in checks:
        check(data)


def main() -> None:
    names = [arg[len("--target=") :] for arg in sys.argv if arg.startswith("--target=")]
    unknown = set(names) - set(TARGETS)
    if unknown:
        sys.exit(f"unknown target {sorted(unknown)}: choose from {sorted(TARGETS)}")
    checks = tuple(TARGETS[name] for name in names or TARGETS)
    argv = [arg for arg in sys.argv if not arg.startswith("--target=")]
    atheris.Setup(argv, lambda data: one_input(data, checks))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
