"""Coverage-guided fuzzing of the decoders with atheris (libFuzzer for Python).

Every input is decoded as XML, as JSON and sniffed, and read as an acknowledgement in
both formats.  The checks are the library's promises, not "it did not crash":

- nothing but `DecodeError` escapes `decode` or `decode_ack`;
- every item ends in exactly one of `reports` and `errors`: the items are counted
  again here, independently (expat for ``<state>`` elements, `json.loads` for the
  array), and the error indexes are distinct and within that count;
- every error's `raw` decodes again, alone in a document, to the same error.

Run it (not part of ``make test``; see fuzz/README.md)::

    pip install atheris -e .
    python fuzz/fuzz_decode.py -max_total_time=60 fuzz/corpus
"""

from __future__ import annotations

import contextlib
import json
import sys
from xml.parsers import expat

import atheris

with atheris.instrument_imports():
    import smsstatus
    from smsstatus import DecodeError, Format, Limits
    from smsstatus._xml import as_utf8

LIMITS = Limits(max_bytes=1 << 20, max_reports=200)


def xml_items(data: bytes) -> int:
    """How many ``<state>`` elements sit right under the root, by plain expat."""
    depth = count = 0

    def start(name: str, attrs: object) -> None:
        nonlocal depth, count
        depth += 1
        count += depth == 2 and name == "state"

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


def check_batch(data: bytes, batch: smsstatus.Batch) -> None:
    items = COUNTERS[batch.format](data)
    assert len(batch.reports) + len(batch.errors) == items, (items, batch)
    indexes = [error.index for error in batch.errors]
    assert indexes == sorted(set(indexes)), indexes
    assert all(0 <= index < items for index in indexes), indexes
    for error in batch.errors:
        raw = error.raw
        xml = batch.format is Format.XML
        alone = f"<response>{raw}</response>" if xml else f"[{raw}]"
        again = smsstatus.decode(alone, format=batch.format)
        assert again.errors == (
            smsstatus.ReportError(0, error.id_sms, error.reason, raw),
        ), (error, again)


def test_one_input(data: bytes) -> None:
    for format in (None, Format.XML, Format.JSON):
        try:
            batch = smsstatus.decode(data, format=format, limits=LIMITS)
        except DecodeError:
            continue
        check_batch(data, batch)
    for format in Format:
        with contextlib.suppress(DecodeError):
            smsstatus.decode_ack(data, format)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
