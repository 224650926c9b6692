"""Side-by-side benchmark: smsstatus against the safe-parse floors and the usual peers.

Run from the project root (the peers come with the ``bench`` extra)::

    pip install -e '.[bench]'
    python bench/bench.py                      # N = 1, 100, 10 000, 100 000
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

- ``smsstatus XML`` / ``smsstatus JSON``: `smsstatus.decode(body)`, format sniffed.
- ``floor XML``: `defusedxml.ElementTree.fromstring` plus reading every attribute and
  the text of every ``<state>``: the least a safe XML reader can do.
- ``floor JSON``: `json.loads` plus reading every key of every object.
- ``xmltodict+pydantic``: `xmltodict.parse` and a pydantic v2 model per item.
- ``json+pydantic``: `json.loads` and pydantic `model_validate` per item.

The peer models are what a user would write: the same fields and types, the wire's
empty strings read as None, pydantic's own datetime and enum parsing.

Memory: `tracemalloc` measures the peak traced memory while decoding a
``--memory-items`` document (the body already in memory), over the memory the
returned `Batch` keeps once the decoder has returned and garbage is collected.

The output is Markdown tables (they read well in a terminal and paste into the docs),
then one PASS / FAIL / SKIP line per target of issue 5.
"""

from __future__ import annotations

import argparse
import enum
import gc
import json
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

import defusedxml.ElementTree
import xmltodict
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

import smsstatus

SIZES = (1, 100, 10_000, 100_000)
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


# --- timing ---------------------------------------------------------------------------

# (label, format, function); the first of each format is ours.
CASES: tuple[tuple[str, str, Callable[[bytes], object]], ...] = (
    ("smsstatus XML", "xml", smsstatus.decode),
    ("floor XML (defusedxml)", "xml", floor_xml),
    ("xmltodict+pydantic", "xml", peer_xml),
    ("smsstatus JSON", "json", smsstatus.decode),
    ("floor JSON (json.loads)", "json", floor_json),
    ("json+pydantic", "json", peer_json),
)

# (label, ours, other, N, limit)
TARGETS = (
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
)
MEMORY_LIMITS = {"xml": 2.0, "json": 4.0}


def check_agreement(documents: dict[str, bytes], n: int) -> None:
    """Every case reads the same number of items, so they all do the same work."""
    for label, fmt, function in CASES:
        result = function(documents[fmt])
        count = len(result.reports) if hasattr(result, "reports") else len(result)
        if count != n:
            raise SystemExit(f"{label} read {count} items at N={n}, expected {n}")


def sample(function: Callable[[bytes], object], body: bytes, loops: int) -> float:
    """Seconds per call of `function(body)`, over `loops` calls."""
    gc.collect()
    start = time.perf_counter()
    for _ in range(loops):
        function(body)
    return (time.perf_counter() - start) / loops


def run_timings(
    sizes: list[int], rounds: int, items: int, seed: int
) -> dict[tuple[str, int], float]:
    """Median µs per item of every case at every size."""
    documents = {}
    for n in sizes:
        generated = make_items(n, seed)
        documents[n] = {
            "xml": xml_document(generated),
            "json": json_document(generated),
        }
        check_agreement(documents[n], n)
    jobs = [(label, fmt, function, n) for n in sizes for label, fmt, function in CASES]
    times: dict[tuple[str, int], list[float]] = {(job[0], job[3]): [] for job in jobs}
    for round_ in range(rounds):
        shift = round_ % len(CASES)
        # Rotate the cases within each size so none always runs first after a switch.
        for n in sizes:
            order = CASES[shift:] + CASES[:shift]
            for label, fmt, function in order:
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


def report(
    medians: dict[tuple[str, int], float],
    sizes: list[int],
    memory: dict[str, tuple[int, int]],
    memory_items: int,
    rounds: int,
) -> int:
    """Print the tables and the targets; return the number of targets missed."""
    out = print
    out(
        f"smsstatus {smsstatus.__version__} benchmark: Python "
        f"{platform.python_version()} ({platform.python_implementation()}), "
        f"{cpu_model()}, median of {rounds} rounds"
    )
    out()
    out("## Time, µs per item")
    out()
    out("| case | " + " | ".join(f"N={_n(n)}" for n in sizes) + " |")
    out("|---|" + "---:|" * len(sizes))
    for label, _, _ in CASES:
        cells = " | ".join(f"{medians[label, n]:.3f}" for n in sizes)
        out(f"| {label} | {cells} |")
    out()
    out("## Ratio, ours / other (lower is better)")
    out()
    out("| comparison | " + " | ".join(f"N={_n(n)}" for n in sizes) + " |")
    out("|---|" + "---:|" * len(sizes))
    for fmt in ("xml", "json"):
        ours, *others = [label for label, f, _ in CASES if f == fmt]
        for other in others:
            cells = " | ".join(
                f"{medians[ours, n] / medians[other, n]:.2f}" for n in sizes
            )
            out(f"| {ours} / {other} | {cells} |")
    out()
    out(f"## Memory, decoding {_n(memory_items)} items")
    out()
    out("| format | peak traced MiB | kept by Batch MiB | peak / kept |")
    out("|---|---:|---:|---:|")
    for fmt, (peak, kept) in memory.items():
        out(
            f"| {fmt.upper()} | {peak / 2**20:.1f} | {kept / 2**20:.1f} | "
            f"{peak / kept:.2f} |"
        )
    out()
    out("## Targets")
    out()
    missed = 0
    for label, ours, other, n, limit in TARGETS:
        if n not in sizes:
            out(f"SKIP {label}: N={_n(n)} not run")
            continue
        ratio = medians[ours, n] / medians[other, n]
        verdict = "PASS" if ratio <= limit else "FAIL"
        missed += verdict == "FAIL"
        out(f"{verdict} {label} at N={_n(n)}: {ratio:.2f} (target <= {limit})")
    for fmt, (peak, kept) in memory.items():
        label = f"{fmt.upper()} peak / kept memory"
        if memory_items != 100_000:
            out(f"SKIP {label}: measured at N={_n(memory_items)}, not 100 000")
            continue
        ratio, limit = peak / kept, MEMORY_LIMITS[fmt]
        verdict = "PASS" if ratio <= limit else "FAIL"
        missed += verdict == "FAIL"
        out(f"{verdict} {label}: {ratio:.2f} (target <= {limit})")
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
        help="comma-separated item counts (default: 1,100,10000,100000)",
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
        "--check", action="store_true", help="exit 1 when a target is missed"
    )
    args = parser.parse_args(argv)
    medians = run_timings(args.sizes, max(1, args.rounds), args.items, args.seed)
    memory = measure_memory(args.memory_items, args.seed)
    missed = report(medians, args.sizes, memory, args.memory_items, args.rounds)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
