"""Side-by-side benchmark: smsstatus against the safe-parse floors and the usual peers.

Run from the project root (the peers come with the ``bench`` extra)::

    pip install -e '.[bench]'
    python bench/bench.py                      # N = 1, 10, 100, 10 000, 100 000
    python bench/bench.py --sizes 1,100 --rounds 3

Strategy.  Everything runs in one process.  Each *sample* times one case on one
payload, calling it in a loop sized so that a sample decodes about `--items` items in
all (one call at large N, many calls at N = 1).  A *round* takes one sample of every
case at every size, in an order that rotates from round to round, so slow drift of the
machine (frequency scaling, a neighbour's load) falls on every case alike; each figure
is the median over the rounds.  The garbage collector stays on, as it is in a real
application, and a full collection runs before every sample so each one starts from
the same state.

The cases, all reading the same seeded documents:

- ``smsstatus XML`` / ``smsstatus JSON``: `smsstatus.decode(body)`, format sniffed;
  JSON through the msgspec accelerator when it is installed (the header says).
- ``smsstatus JSON (pure)``: the same without the accelerator.
- ``smsstatus receive XML`` / ``JSON``: `smsstatus.receive(body, handler)` with a
  handler that does nothing: decoding, calling the handler, the acknowledgement.
- ``smsstatus receive_batch XML`` / ``JSON``: `smsstatus.receive_batch(body, store)`
  with a store that does nothing and so takes every report.
- ``floor XML``: `defusedxml.ElementTree.fromstring` plus reading every attribute and
  the text of every ``<state>``: the least a safe XML reader can do.
- ``floor JSON``: `json.loads` plus reading every key of every object.
- ``xmltodict+pydantic``: `xmltodict.parse` and a pydantic v2 model per item.
- ``json+pydantic``: `json.loads` and pydantic `model_validate` per item.
- ``pydantic validate_json``: `TypeAdapter(list[Model]).validate_json(body)`, the
  same model, parsed and validated by pydantic-core in Rust.
- ``msgspec typed Struct``: `msgspec.json.Decoder(list[Struct])` plus the checks the
  struct's types leave over (digits of a string id, the time, the legs).
- ``orjson+loop``: `orjson.loads` plus a minimal loop doing the same checks.
- ``lxml hardened``: `lxml.etree` with ``resolve_entities=False, no_network=True,
  huge_tree=False`` plus the same checks on every ``<state>``.

The peers do the same validation as smsstatus (an id of digits or a number >= 0, a
time of the gateway's form or empty, a known state, legs known or empty) and their
results are checked against smsstatus' on every document up to 10 000 items.  Peers
whose package is missing are skipped with a note.

Memory: `tracemalloc` measures the peak traced memory while decoding a
``--memory-items`` document (the body already in memory), over the memory the
returned `Batch` keeps once the decoder has returned and garbage is collected.

Import time: ``python -c "import X"`` in fresh interpreters, minus ``python -c pass``,
median of ``--import-runs`` runs interleaved; byte code is compiled first, as an
installed wheel has it.

Per request: the Django and Flask test clients post 1, 10 and 100 statuses to a view
that calls `smsstatus.receive` with a handler that does nothing and sends back its
`Ack`; the table gives the time of a whole request and the share of it `receive`
takes (timed alone on the same body).

Observability: what metrics, tracing and the log line each add to answering a
100-status document, over all three off (``_observability.py`` says how).

The output is Markdown tables (they read well in a terminal and paste into the docs),
then one PASS / FAIL / SKIP line per target (issues 5, 13 and 21).
"""

from __future__ import annotations

import argparse
import enum
import gc
import importlib.util
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
import types
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib.metadata import version
from typing import Annotated, Any, NamedTuple

import defusedxml.ElementTree
import xmltodict
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

import smsstatus
from smsstatus import _json_fast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _observability  # beside this file

SIZES = (1, 10, 100, 10_000, 100_000)
TARGET_N = 10_000


# --- payloads -------------------------------------------------------------------------

# Rough shares of a real status feed: most messages delivered, a few still waiting.
_STATES = (
    ("deliver", 45),
    ("read", 15),
    ("send", 15),
    ("not_deliver", 10),
    ("expired", 8),
    ("partly_deliver", 7),
)


def make_items(n: int, seed: int) -> list[dict[str, Any]]:
    """`n` realistic status items, the same for a given seed.

    ``send`` items (about 15%) have no time yet; the others changed within one day,
    so a large batch holds many distinct times.  About half went by SMS, a third by
    Viber and the rest by Viber with an SMS fallback (both legs).  JSON ids alternate
    between the gateway's strings and plain numbers (``id_json``).
    """
    rng = random.Random(seed)
    names = [name for name, _ in _STATES]
    weights = [weight for _, weight in _STATES]
    start = datetime(2024, 3, 1, 8, 0, 0)
    next_id = 40_000_000 + rng.randrange(1_000_000)
    items = []
    for _ in range(n):
        next_id += rng.randrange(1, 20)
        state = rng.choices(names, weights)[0]
        stamp = start + timedelta(seconds=rng.randrange(86_400))
        item: dict[str, Any] = {
            "id_sms": str(next_id),
            "id_json": str(next_id) if rng.random() < 0.5 else next_id,
            "time": "" if state == "send" else stamp.strftime("%Y-%m-%d %H:%M:%S"),
            "state": state,
        }
        leg = rng.random()
        if leg < 0.5:
            item["sms"] = state
        elif leg < 0.85:
            item["viber"] = state
        else:
            item["viber"] = "not_deliver" if state != "send" else "send"
            item["sms"] = state
        items.append(item)
    return items


def xml_document(items: list[dict[str, Any]]) -> bytes:
    """The gateway's XML document for `items`."""
    lines = ['<?xml version="1.0" encoding="utf-8" ?>\n<response>\n']
    for item in items:
        legs = "".join(
            f' {leg}="{item[leg]}"' for leg in ("sms", "viber") if leg in item
        )
        lines.append(
            f'  <state id_sms="{item["id_sms"]}" time="{item["time"]}"{legs}>'
            f"{item['state']}</state>\n"
        )
    lines.append("</response>\n")
    return "".join(lines).encode("utf-8")


def json_document(items: list[dict[str, Any]]) -> bytes:
    """The gateway's JSON array for `items`, with ids as strings and as numbers."""
    objects = []
    for item in items:
        obj = {"id_sms": item["id_json"], "time": item["time"], "state": item["state"]}
        obj.update({leg: item[leg] for leg in ("sms", "viber") if leg in item})
        objects.append(obj)
    return json.dumps(objects).encode("utf-8")


# --- the floors -----------------------------------------------------------------------


def floor_xml(body: bytes) -> list[tuple[Any, ...]]:
    """The least a safe XML reader does: parse with defusedxml, read every field."""
    root = defusedxml.ElementTree.fromstring(body)
    return [
        (el.get("id_sms"), el.get("time"), el.get("sms"), el.get("viber"), el.text)
        for el in root
    ]


def floor_json(body: bytes) -> list[tuple[Any, ...]]:
    """The least a JSON reader does: `json.loads` and every key of every object."""
    return [
        (d.get("id_sms"), d.get("time"), d.get("state"), d.get("sms"), d.get("viber"))
        for d in json.loads(body)
    ]


# --- the peers: what a user would write by hand ---------------------------------------


class PeerStatus(str, enum.Enum):
    SEND = "send"
    NOT_DELIVER = "not_deliver"
    EXPIRED = "expired"
    DELIVER = "deliver"
    READ = "read"
    PARTLY_DELIVER = "partly_deliver"


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


MaybeTime = Annotated[datetime | None, BeforeValidator(_blank_is_none)]
MaybeStatus = Annotated[PeerStatus | None, BeforeValidator(_blank_is_none)]


class XmlState(BaseModel):
    """One ``<state>`` as `xmltodict` gives it."""

    model_config = ConfigDict(frozen=True)

    id_sms: int = Field(alias="@id_sms", ge=0)
    time: MaybeTime = Field(default=None, alias="@time")
    state: PeerStatus = Field(alias="#text")
    sms: MaybeStatus = Field(default=None, alias="@sms")
    viber: MaybeStatus = Field(default=None, alias="@viber")


class JsonState(BaseModel):
    """One JSON status object."""

    model_config = ConfigDict(frozen=True)

    id_sms: int = Field(ge=0)
    time: MaybeTime = None
    state: PeerStatus
    sms: MaybeStatus = None
    viber: MaybeStatus = None


def peer_xml(body: bytes) -> list[XmlState]:
    """`xmltodict` plus a pydantic model per ``<state>``."""
    states = xmltodict.parse(body, force_list=("state",))["response"]["state"]
    return [XmlState.model_validate(state) for state in states]


def peer_json(body: bytes) -> list[JsonState]:
    """`json.loads` plus pydantic `model_validate` per object."""
    return [JsonState.model_validate(obj) for obj in json.loads(body)]


_JSON_STATES = TypeAdapter(list[JsonState])


def peer_validate_json(body: bytes) -> list[JsonState]:
    """pydantic-core parses and validates the whole body, in Rust."""
    return _JSON_STATES.validate_json(body)


# The checks a hand-written reader does on the raw values, for the peers below: what
# pydantic does for the models above (an int from a number or a string of digits, a
# datetime parsed, an enum by value), in plain Python.


def _peer_id(value: Any) -> int:
    if isinstance(value, str) and not value.isdigit():
        raise ValueError(f"bad id_sms {value!r}")
    number = int(value)
    if number < 0:
        raise ValueError(f"bad id_sms {value!r}")
    return number


def _peer_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _peer_leg(value: str | None) -> PeerStatus | None:
    return PeerStatus(value) if value else None


# The optional peers: each package may be missing, and its row is then skipped.
try:
    import msgspec
except ImportError:  # pragma: no cover - the bench extra brings it
    msgspec = None
try:
    import orjson
except ImportError:
    orjson = None
try:
    from lxml import etree
except ImportError:
    etree = None

MISSING = {
    "msgspec typed Struct": "msgspec is not installed" if msgspec is None else "",
    "orjson+loop": "orjson is not installed" if orjson is None else "",
    "lxml hardened": "lxml is not installed" if etree is None else "",
}

if msgspec is not None:

    class MsgspecState(msgspec.Struct, frozen=True):
        """One JSON status object as msgspec's types can say it."""

        id_sms: (
            Annotated[int, msgspec.Meta(ge=0)]
            | Annotated[str, msgspec.Meta(pattern="^[0-9]+$")]
        )
        time: str
        state: PeerStatus
        sms: str = ""
        viber: str = ""

    class MsgspecReport(msgspec.Struct, frozen=True):
        """The checked result."""

        id_sms: int
        time: datetime | None
        state: PeerStatus
        sms: PeerStatus | None
        viber: PeerStatus | None

    _MSGSPEC_STATES = msgspec.json.Decoder(list[MsgspecState])


def peer_msgspec(body: bytes) -> list[Any]:
    """A typed msgspec decode, then the conversions its types leave over."""
    return [
        MsgspecReport(
            int(item.id_sms),
            _peer_time(item.time),
            item.state,
            _peer_leg(item.sms),
            _peer_leg(item.viber),
        )
        for item in _MSGSPEC_STATES.decode(body)
    ]


def peer_orjson(body: bytes) -> list[tuple[Any, ...]]:
    """`orjson.loads` and a minimal loop with the same checks."""
    return [
        (
            _peer_id(item["id_sms"]),
            _peer_time(item["time"]),
            PeerStatus(item["state"]),
            _peer_leg(item.get("sms")),
            _peer_leg(item.get("viber")),
        )
        for item in orjson.loads(body)
    ]


_LXML_PARSER = (
    None
    if etree is None
    else etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
)


def peer_lxml(body: bytes) -> list[tuple[Any, ...]]:
    """lxml without entities or network access, and the same checks."""
    return [
        (
            _peer_id(element.get("id_sms")),
            _peer_time(element.get("time")),
            PeerStatus(element.text),
            _peer_leg(element.get("sms")),
            _peer_leg(element.get("viber")),
        )
        for element in etree.fromstring(body, _LXML_PARSER)
    ]


# --- our variants ------------------------------------------------------------------


def decode_pure(body: bytes) -> smsstatus.Batch:
    """`smsstatus.decode` with the JSON accelerator switched off for the call."""
    fast = _json_fast.read
    _json_fast.read = _no_accelerator
    try:
        return smsstatus.decode(body)
    finally:
        _json_fast.read = fast


def _no_accelerator(*args: object) -> None:
    return None


def _ignore(report: smsstatus.StatusReport) -> None:
    pass


def receive(body: bytes) -> smsstatus.Ack:
    """`smsstatus.receive` with a handler that does nothing."""
    return smsstatus.receive(body, _ignore)


def _take_all(reports: tuple[smsstatus.StatusReport, ...]) -> None:
    pass


def receive_batch(body: bytes) -> smsstatus.Ack:
    """`smsstatus.receive_batch` with a store that takes everything, doing nothing."""
    return smsstatus.receive_batch(body, _take_all)


# --- timing ---------------------------------------------------------------------------


class Case(NamedTuple):
    label: str
    format: str
    function: Callable[[bytes], object]
    kind: str  # "ours", "variant" (of ours), "floor" or "peer"


def cases() -> tuple[list[Case], dict[str, str]]:
    """The cases to run, and the optional ones skipped with the reason."""
    run = [
        Case("smsstatus XML", "xml", smsstatus.decode, "ours"),
        Case("smsstatus receive XML", "xml", receive, "variant"),
        Case("smsstatus receive_batch XML", "xml", receive_batch, "variant"),
        Case("floor XML (defusedxml)", "xml", floor_xml, "floor"),
        Case("xmltodict+pydantic", "xml", peer_xml, "peer"),
        Case("lxml hardened", "xml", peer_lxml, "peer"),
        Case("smsstatus JSON", "json", smsstatus.decode, "ours"),
        Case("smsstatus JSON (pure)", "json", decode_pure, "variant"),
        Case("smsstatus receive JSON", "json", receive, "variant"),
        Case("smsstatus receive_batch JSON", "json", receive_batch, "variant"),
        Case("floor JSON (json.loads)", "json", floor_json, "floor"),
        Case("json+pydantic", "json", peer_json, "peer"),
        Case("pydantic validate_json", "json", peer_validate_json, "peer"),
        Case("msgspec typed Struct", "json", peer_msgspec, "peer"),
        Case("orjson+loop", "json", peer_orjson, "peer"),
    ]
    skipped = {label: why for label, why in MISSING.items() if why}
    return [case for case in run if case.label not in skipped], skipped


# (label, ours, other, N, limit); N None: at every N run, judged by the worst.
TARGETS: tuple[tuple[str, str, str, int | None, float], ...] = (
    ("XML vs safe XML floor", "smsstatus XML", "floor XML (defusedxml)", TARGET_N, 1.2),
    ("XML vs xmltodict+pydantic", "smsstatus XML", "xmltodict+pydantic", TARGET_N, 0.4),
    ("JSON vs JSON floor", "smsstatus JSON", "floor JSON (json.loads)", TARGET_N, 3.0),
    ("JSON vs json+pydantic", "smsstatus JSON", "json+pydantic", TARGET_N, 0.6),
    (
        "XML vs safe XML floor, per document",
        "smsstatus XML",
        "floor XML (defusedxml)",
        1,
        1.5,
    ),
    (
        "JSON vs pydantic validate_json",
        "smsstatus JSON",
        "pydantic validate_json",
        None,
        1.0,
    ),
    (
        "JSON vs msgspec typed Struct",
        "smsstatus JSON",
        "msgspec typed Struct",
        100,
        1.2,
    ),
    ("receive vs decode, XML", "smsstatus receive XML", "smsstatus XML", 100, 1.15),
    ("receive vs decode, JSON", "smsstatus receive JSON", "smsstatus JSON", 100, 1.15),
    (
        "receive_batch vs decode, XML",
        "smsstatus receive_batch XML",
        "smsstatus XML",
        100,
        1.15,
    ),
    (
        "receive_batch vs decode, JSON",
        "smsstatus receive_batch JSON",
        "smsstatus JSON",
        100,
        1.15,
    ),
)
MEMORY_LIMITS = {"xml": 2.0, "json": 4.0}
# (label, ours, other, limit) on the import times.
IMPORT_TARGETS = (("import vs pydantic", "smsstatus", "pydantic", 1.0),)


def _rows(result: object) -> list[tuple[Any, ...]]:
    """A decoder's result as plain rows, to check that every case read the same."""
    if isinstance(result, smsstatus.Batch):
        items: Any = result.reports
    else:
        items = result
    rows = []
    for item in items:
        fields = (
            item
            if isinstance(item, tuple)
            else (item.id_sms, item.time, item.state, item.sms, item.viber)
        )
        rows.append(tuple(getattr(field, "value", field) for field in fields))
    return rows


def check_agreement(run: list[Case], documents: dict[str, bytes], n: int) -> None:
    """Every case reads the same items; the decoders and peers the same values."""
    expected = {fmt: _rows(smsstatus.decode(documents[fmt])) for fmt in ("xml", "json")}
    for label, fmt, function, kind in run:
        result = function(documents[fmt])
        if isinstance(result, smsstatus.Ack):
            count = len(result.ids)
        elif isinstance(result, smsstatus.Batch):
            count = len(result.reports)
        else:
            count = len(result)  # type: ignore[arg-type]
        if count != n:
            raise SystemExit(f"{label} read {count} items at N={n}, expected {n}")
        if kind in ("ours", "peer") and n <= 10_000 and _rows(result) != expected[fmt]:
            raise SystemExit(f"{label} read other values than smsstatus at N={n}")


def sample(function: Callable[[bytes], object], body: bytes, loops: int) -> float:
    """Seconds per call of `function(body)`, over `loops` calls."""
    gc.collect()
    start = time.perf_counter()
    for _ in range(loops):
        function(body)
    return (time.perf_counter() - start) / loops


def run_timings(
    run: list[Case], sizes: list[int], rounds: int, items: int, seed: int
) -> dict[tuple[str, int], float]:
    """Median µs per item of every case at every size."""
    documents = {}
    for n in sizes:
        generated = make_items(n, seed)
        documents[n] = {
            "xml": xml_document(generated),
            "json": json_document(generated),
        }
        check_agreement(run, documents[n], n)
    times: dict[tuple[str, int], list[float]] = {
        (case.label, n): [] for n in sizes for case in run
    }
    for round_ in range(rounds):
        shift = round_ % len(run)
        # Rotate the cases within each size so none always runs first after a switch.
        for n in sizes:
            for label, fmt, function, _ in run[shift:] + run[:shift]:
                loops = max(1, items // n)
                seconds = sample(function, documents[n][fmt], loops)
                times[label, n].append(seconds * 1e6 / n)
    return {key: statistics.median(values) for key, values in times.items()}


def measure_memory(n: int, seed: int) -> dict[str, tuple[int, int]]:
    """Peak and kept traced bytes of one smsstatus decode of an `n`-item document."""
    generated = make_items(n, seed)
    bodies = {"xml": xml_document(generated), "json": json_document(generated)}
    del generated
    result = {}
    for fmt, body in bodies.items():
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        batch = smsstatus.decode(body)
        peak = tracemalloc.get_traced_memory()[1]
        gc.collect()  # what is left once garbage is gone is what the batch keeps
        kept = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        if len(batch.reports) != n:
            raise SystemExit(f"memory run decoded {len(batch.reports)} of {n} items")
        del batch
        result[fmt] = (peak - base, kept - base)
    return result


# --- import time ------------------------------------------------------------------

IMPORTS = {
    "smsstatus": "import smsstatus",
    "pydantic": "import pydantic",
    "attrs": "import attrs",
    "msgspec": "import msgspec",
    "smsstatus + first JSON decode": "import smsstatus; smsstatus.decode(b'[]')",
}


def measure_imports(runs: int) -> tuple[dict[str, float], dict[str, str]]:
    """Median ms each import adds to a bare interpreter's start, in fresh processes,
    and the imports skipped with the reason."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    codes = {"bare": "pass"}
    skipped = {}
    for label, code in IMPORTS.items():
        name = code.split()[1].rstrip(";")
        if importlib.util.find_spec(name) is None:
            skipped[label] = f"{name} is not installed"
        else:
            codes[label] = code
    for code in codes.values():  # compile and cache the byte code first
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
    times: dict[str, list[float]] = {label: [] for label in codes}
    for _ in range(runs):
        for label, code in codes.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, check=True)
            times[label].append(time.perf_counter() - start)
    bare = statistics.median(times.pop("bare"))
    medians = {
        label: (statistics.median(values) - bare) * 1e3
        for label, values in times.items()
    }
    return medians, skipped


# --- per request --------------------------------------------------------------------

REQUEST_SIZES = (1, 10, 100)
FRAMEWORKS = ("Django", "Flask")


def _ack_response(ack: smsstatus.Ack) -> tuple[bytes, int, str]:
    return ack.body, ack.status, ack.content_type


def django_poster() -> Callable[[bytes, str], object] | str:
    """A function that posts a body through Django's test client, or why not."""
    try:
        import django
        from django.conf import settings
    except ImportError:
        return "Django is not installed"
    from django.http import HttpRequest, HttpResponse
    from django.urls import path

    def statuses(request: HttpRequest) -> HttpResponse:
        body, status, content_type = _ack_response(receive(request.body))
        return HttpResponse(body, status=status, content_type=content_type)

    urls = types.ModuleType("bench_urls")
    urls.urlpatterns = [path("statuses", statuses)]  # type: ignore[attr-defined]
    sys.modules[urls.__name__] = urls
    if not settings.configured:
        settings.configure(
            ROOT_URLCONF=urls.__name__,
            ALLOWED_HOSTS=["testserver"],
            SECRET_KEY="benchmark",
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
        )
        django.setup()
    from django.test import Client

    return _poster("Django", Client())


def flask_poster() -> Callable[[bytes, str], object] | str:
    """A function that posts a body through Flask's test client, or why not."""
    try:
        import flask
    except ImportError:
        return "Flask is not installed"
    app = flask.Flask("bench")

    @app.post("/statuses")
    def statuses() -> flask.Response:
        body, status, content_type = _ack_response(receive(flask.request.get_data()))
        return flask.Response(body, status=status, content_type=content_type)

    return _poster("Flask", app.test_client())


def _poster(framework: str, client: Any) -> Callable[[bytes, str], object]:
    """Posts a body to the view at /statuses with a framework's test client."""

    def post(body: bytes, content_type: str) -> object:
        response = client.post("/statuses", data=body, content_type=content_type)
        if response.status_code != 200:
            raise SystemExit(f"{framework} answered {response.status_code}")
        return response

    return post


def measure_requests(
    rounds: int, loops: int, seed: int
) -> tuple[dict[tuple[str, str, int], tuple[float, float]], dict[str, str]]:
    """Per framework, format and size: median µs per request, and per `receive`
    alone on the same body; and the frameworks skipped with the reason."""
    posters = {"Django": django_poster(), "Flask": flask_poster()}
    skipped = {name: why for name, why in posters.items() if isinstance(why, str)}
    bodies = {}
    for n in REQUEST_SIZES:
        generated = make_items(n, seed)
        bodies["xml", n] = xml_document(generated)
        bodies["json", n] = json_document(generated)
    content_types = {"xml": "application/xml", "json": "application/json"}
    times: dict[tuple[str, str, int], tuple[list[float], list[float]]] = {}
    for _ in range(rounds):
        for name, post in posters.items():
            if isinstance(post, str):
                continue
            for (fmt, n), body in bodies.items():
                whole, alone = times.setdefault((name, fmt, n), ([], []))
                kind = content_types[fmt]
                whole.append(
                    sample(lambda b, post=post, k=kind: post(b, k), body, loops)
                )
                alone.append(sample(receive, body, loops))
    medians = {
        key: (statistics.median(whole) * 1e6, statistics.median(alone) * 1e6)
        for key, (whole, alone) in times.items()
    }
    return medians, skipped


# --- report ---------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _n(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def accelerator() -> str:
    """Whether smsstatus' JSON accelerator is on, for the report's header."""
    if _json_fast.decoder() is None:
        return "JSON accelerator off (no msgspec)"
    return f"JSON accelerator on (msgspec {version('msgspec')})"


def _verdict(label: str, ratio: float, limit: float, where: str) -> tuple[str, bool]:
    verdict = "PASS" if ratio <= limit else "FAIL"
    return (
        f"{verdict} {label}{where}: {ratio:.2f} (target <= {limit})",
        verdict == "FAIL",
    )


class Results(NamedTuple):
    run: list[Case]
    skipped: dict[str, str]
    medians: dict[tuple[str, int], float]
    sizes: list[int]
    rounds: int
    memory: dict[str, tuple[int, int]]
    memory_items: int
    imports: dict[str, float]
    imports_skipped: dict[str, str]
    requests: dict[tuple[str, str, int], tuple[float, float]]
    requests_skipped: dict[str, str]
    observability: _observability.Results


def ratios(results: Results, heading: str, kinds: tuple[str, ...]) -> None:
    """A table of ratios between ours and the cases of `kinds`, of the same format:
    ours over a floor or a peer, a variant of ours over ours."""
    sizes, medians = results.sizes, results.medians
    print(f"## {heading}\n")
    print("| comparison | " + " | ".join(f"N={_n(n)}" for n in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    for fmt in ("xml", "json"):
        (ours,) = [c.label for c in results.run if (c.format, c.kind) == (fmt, "ours")]
        for case in results.run:
            if case.format == fmt and case.kind in kinds:
                top, bottom = (
                    (case.label, ours) if case.kind == "variant" else (ours, case.label)
                )
                cells = " | ".join(
                    f"{medians[top, n] / medians[bottom, n]:.2f}" for n in sizes
                )
                print(f"| {top} / {bottom} | {cells} |")
    print()


def report(results: Results) -> int:
    """Print the tables and the targets; return the number of targets missed."""
    out = print
    run, medians, sizes = results.run, results.medians, results.sizes
    out(
        f"smsstatus {smsstatus.__version__} benchmark: Python "
        f"{platform.python_version()} ({platform.python_implementation()}), "
        f"{cpu_model()}, median of {results.rounds} rounds, {accelerator()}"
    )
    out()
    out("## Time, µs per item")
    out()
    out("| case | " + " | ".join(f"N={_n(n)}" for n in sizes) + " |")
    out("|---|" + "---:|" * len(sizes))
    for case in run:
        cells = " | ".join(f"{medians[case.label, n]:.3f}" for n in sizes)
        out(f"| {case.label} | {cells} |")
    for label, why in results.skipped.items():
        out(f"\nSkipped {label}: {why}.")
    out()
    ratios(results, "Ratio, ours / other (lower is better)", ("floor", "peer"))
    ratios(results, "Our variants, ratio to decode (lower is better)", ("variant",))
    out(f"## Memory, decoding {_n(results.memory_items)} items")
    out()
    out("| format | peak traced MiB | kept by Batch MiB | peak / kept |")
    out("|---|---:|---:|---:|")
    for fmt, (peak, kept) in results.memory.items():
        out(
            f"| {fmt.upper()} | {peak / 2**20:.1f} | {kept / 2**20:.1f} | "
            f"{peak / kept:.2f} |"
        )
    out()
    out("## Import time, ms over a bare interpreter")
    out()
    out("| import | ms |")
    out("|---|---:|")
    for label, ms in results.imports.items():
        out(f"| {label} | {ms:.1f} |")
    for label, why in results.imports_skipped.items():
        out(f"\nSkipped {label}: {why}.")
    out()
    out("## Per request, µs (share of it in receive)")
    out()
    out("| framework | " + " | ".join(f"{n} statuses" for n in REQUEST_SIZES) + " |")
    out("|---|" + "---:|" * len(REQUEST_SIZES))
    for name in FRAMEWORKS:
        for fmt in ("xml", "json"):
            if (name, fmt, REQUEST_SIZES[0]) not in results.requests:
                continue
            cells = []
            for n in REQUEST_SIZES:
                whole, alone = results.requests[name, fmt, n]
                cells.append(f"{whole:.0f} ({alone / whole:.0%})")
            out(f"| {name} {fmt.upper()} | {' | '.join(cells)} |")
    for name, why in results.requests_skipped.items():
        out(f"\nSkipped {name}: {why}.")
    out()
    observability = _observability.report(results.observability, out)
    out("## Targets")
    out()
    labels = {case.label for case in run}
    missed = 0
    for label, ours, other, n, limit in TARGETS:
        if other not in labels:
            out(f"SKIP {label}: {results.skipped[other]}")
            continue
        if n is None:
            ratio, worst = max((medians[ours, m] / medians[other, m], m) for m in sizes)
            line, failed = _verdict(
                label, ratio, limit, f" at every N, worst N={_n(worst)}"
            )
        elif n not in sizes:
            out(f"SKIP {label}: N={_n(n)} not run")
            continue
        else:
            ratio = medians[ours, n] / medians[other, n]
            line, failed = _verdict(label, ratio, limit, f" at N={_n(n)}")
        out(line)
        missed += failed
    for fmt, (peak, kept) in results.memory.items():
        label = f"{fmt.upper()} peak / kept memory"
        if results.memory_items != 100_000:
            out(f"SKIP {label}: measured at N={_n(results.memory_items)}, not 100 000")
            continue
        line, failed = _verdict(label, peak / kept, MEMORY_LIMITS[fmt], "")
        out(line)
        missed += failed
    for label, ours, other, limit in IMPORT_TARGETS:
        if other not in results.imports:
            out(f"SKIP {label}: {results.imports_skipped[other]}")
            continue
        ratio = results.imports[ours] / results.imports[other]
        line, failed = _verdict(label, ratio, limit, "")
        out(line)
        missed += failed
    for line in observability:
        out(line)
        missed += line.startswith("FAIL")
    return missed


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 with ``--check`` when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=list(SIZES),
        help="comma-separated item counts (default: 1,10,100,10000,100000)",
    )
    parser.add_argument("--rounds", type=int, default=9, help="rounds (default: 9)")
    parser.add_argument(
        "--items",
        type=int,
        default=20_000,
        help="items decoded per sample; small N loops to reach it (default: 20000)",
    )
    parser.add_argument(
        "--memory-items",
        type=int,
        default=100_000,
        help="items in the memory run (default: 100000)",
    )
    parser.add_argument("--seed", type=int, default=5, help="payload seed (default: 5)")
    parser.add_argument(
        "--import-runs",
        type=int,
        default=21,
        help="fresh interpreters per import measured (default: 21)",
    )
    parser.add_argument(
        "--request-loops",
        type=int,
        default=200,
        help="requests per sample in the per-request rows (default: 200)",
    )
    parser.add_argument(
        "--observe-loops",
        type=int,
        default=200,
        help="documents per sample of the observability rows (default: 200)",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a target is missed"
    )
    args = parser.parse_args(argv)
    rounds = max(1, args.rounds)
    run, skipped = cases()
    medians = run_timings(run, args.sizes, rounds, args.items, args.seed)
    memory = measure_memory(args.memory_items, args.seed)
    imports, imports_skipped = measure_imports(max(1, args.import_runs))
    requests, requests_skipped = measure_requests(
        rounds, max(1, args.request_loops), args.seed
    )
    makers = {
        "xml": lambda k: xml_document(make_items(_observability.N, args.seed + k)),
        "json": lambda k: json_document(make_items(_observability.N, args.seed + k)),
    }
    observability = _observability.measure(makers, rounds, max(1, args.observe_loops))
    results = Results(
        run,
        skipped,
        medians,
        args.sizes,
        rounds,
        memory,
        args.memory_items,
        imports,
        imports_skipped,
        requests,
        requests_skipped,
        observability,
    )
    missed = report(results)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
