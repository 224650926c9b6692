"""Hostile bodies next to the gateway's own form: time and peak memory at one size.

Run from the project root::

    python bench/hostile.py              # 16 MiB bodies, best of 3
    python bench/hostile.py --mib 1 --rounds 1

Strategy.  For each format, the reference is the gateway's own document grown to the
chosen size and decoded whole (limits raised so that every item is read); every
hostile body of that format has the same size, within a few bytes, and is decoded
under the default item limit (the byte limit raised to fit it), as a receiver would.
Each case runs `--rounds` times in one process; its time is the best of them and its
peak is `tracemalloc`'s over one run (the body itself is allocated before tracing
starts).  The ratio column compares each case with its format's reference.  The
targets of issue 11: at most 3x the reference's time, and a peak of at most 4x the
body plus what the result keeps (so the last column at most 4).  These are the CPU
and memory checks of issue 11 that depend too much on the machine for a unit test;
the unit tests check the same shapes' outcomes, and their memory with generous bounds.

The shapes (points 5, 6 and 8 of issue 11):

- XML: one element with millions of attributes; millions of tiny elements; one
  ``<state>`` per line in a form expat must read (single quotes); the same document
  declared ``windows-1251`` with Cyrillic in every item; an acknowledgement whose id
  is split by millions of child elements (`decode_ack`).
- JSON: ``[{},{},…]`` and ``[[],[],…]``; one item holding millions of values; two
  million opening brackets; integers over Python's 4300-digit limit as ids.

And of issue 23: an array of millions of numbers (point 1), and a pull request's
answer whose items hold a dozen numbers each, read as `Decimal` (point 10a,
`decode_state_answer`, under the default item limit).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta

import smsstatus
from smsstatus import Limits, Status, StatusReport
from smsstatus.pull import decode_state_answer

MiB = 1 << 20


def gateway_reports(count: int) -> list[StatusReport]:
    """`count` ordinary reports: distinct ids, times a second apart, both legs."""
    start = datetime(2026, 3, 1, 8, 0, 0)
    statuses = list(Status)
    return [
        StatusReport(
            40_000_000 + n,
            start + timedelta(seconds=n),
            statuses[n % 6],
            sms=statuses[n % 6],
        )
        for n in range(count)
    ]


def grow(unit: bytes, head: bytes, tail: bytes, size: int, sep: bytes = b"") -> bytes:
    """`head`, then `unit` repeated (joined by `sep`) to about `size` bytes, `tail`."""
    count = max(1, (size - len(head) - len(tail)) // (len(unit) + len(sep)))
    return head + sep.join([unit] * count) + tail


def gateway(encode: Callable[[list[StatusReport]], bytes], size: int) -> bytes:
    """The gateway's document in `encode`'s format, grown to about `size` bytes."""
    per_item = len(encode(gateway_reports(100))) / 100
    return encode(gateway_reports(max(1, int(size / per_item))))


def cases(size: int) -> list[tuple[str, str, bytes, Callable[[bytes], object]]]:
    """(format, shape, body, decode) for every case at about `size` bytes."""
    room = Limits(max_bytes=size + MiB)
    whole = Limits(max_bytes=size + MiB, max_reports=10**9)

    def hostile(body: bytes) -> object:
        return smsstatus.decode(body, limits=room)

    def reference(body: bytes) -> object:
        return smsstatus.decode(body, limits=whole)

    def ack(body: bytes) -> object:
        return smsstatus.decode_ack(body, "xml")

    def answer(body: bytes) -> object:
        return decode_state_answer(body, limits=room).batch

    xml_head, xml_tail = b"<response>", b"</response>"
    # Cyrillic in every item, so the whole body goes through recoding.
    cp1251 = (
        gateway(smsstatus.encode_xml, size * 7 // 10)
        .decode()
        .replace("utf-8", "windows-1251", 1)
        .replace(' sms="', ' note="Статус доставки" sms="')
        .encode("cp1251")
    )
    expat_form = gateway(smsstatus.encode_xml, size).replace(b'"', b"'")
    json_item = b'{"id_sms": 1, "time": "", "state": "send", "x": ['
    numbers = b", ".join(b'"n%d": 1.5' % n for n in range(12))
    answer_item = b'{"id_sms": 1, "time": "", "state": "send", ' + numbers + b"}"
    return [
        ("xml", "gateway's own form", gateway(smsstatus.encode_xml, size), reference),
        ("xml", "gateway's form, single quotes", expat_form, reference),
        ("xml", "declared windows-1251, Cyrillic", cp1251, reference),
        (
            "xml",
            "one element, millions of attributes",
            grow(b" a=''", xml_head + b"<state", b"/>" + xml_tail, size),
            hostile,
        ),
        (
            "xml",
            "millions of tiny elements",
            grow(b"<a/>", xml_head, xml_tail, size),
            hostile,
        ),
        (
            "xml",
            "ack: one id split by child elements",
            grow(b"1<x/>", b"<response><id_sms>", b"</id_sms></response>", size),
            ack,
        ),
        ("json", "gateway's own form", gateway(smsstatus.encode_json, size), reference),
        ("json", "[{},{},...]", grow(b"{}", b"[", b"]", size, b","), hostile),
        ("json", "[[],[],...]", grow(b"[]", b"[", b"]", size, b","), hostile),
        (
            "json",
            "one item, millions of values",
            grow(b"1000", json_item, b"]}]", size, b","),
            hostile,
        ),
        ("json", "two million '['", b"[" * min(size, 2_000_000), hostile),
        ("json", "[1.5,1.5,...]", grow(b"1.5", b"[", b"]", size, b","), hostile),
        (
            "json",
            "answer: 12 numbers an item",
            grow(answer_item, b"[", b"]", size, b","),
            answer,
        ),
        (
            "json",
            "ids over 4300 digits",
            grow(
                b'{"id_sms": ' + b"9" * 5000 + b', "time": "", "state": "send"}',
                b"[",
                b"]",
                size,
                b",",
            ),
            hostile,
        ),
    ]


def run(decode: Callable[[bytes], object], body: bytes) -> tuple[float, str]:
    """Seconds for one decode of `body`, and what came of it."""
    gc.collect()
    start = time.perf_counter()
    try:
        result = decode(body)
    except smsstatus.DecodeError as exc:
        outcome = f"refused: {type(exc).__name__}"
    else:
        if isinstance(result, smsstatus.Batch):
            outcome = f"{len(result.reports)} reports, {len(result.errors)} errors"
        else:
            outcome = f"{len(result)} ids"  # type: ignore[arg-type]
    return time.perf_counter() - start, outcome


def memory(decode: Callable[[bytes], object], body: bytes) -> tuple[int, int]:
    """Peak traced bytes of one decode of `body` (the body itself not counted), and
    what its result keeps once garbage is collected."""
    gc.collect()
    tracemalloc.start()
    result: object = None
    try:
        result = decode(body)
    except smsstatus.DecodeError:
        pass
    finally:
        top = tracemalloc.get_traced_memory()[1]
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    del result
    return top, kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mib", type=float, default=16.0, help="body size in MiB (default: 16)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default: 3)")
    args = parser.parse_args(argv)
    size = max(64, int(args.mib * MiB))
    print(
        f"smsstatus {smsstatus.__version__} hostile bodies, about {args.mib:g} MiB "
        f"each, Python {sys.version.split()[0]}, best of {args.rounds}"
    )
    print()
    print(
        "| format | shape | MiB | outcome | seconds | x gateway | peak MiB "
        "| kept MiB | (peak - kept) / body |"
    )
    print("|---|---|---:|---|---:|---:|---:|---:|---:|")
    references: dict[str, float] = {}
    for fmt, shape, body, decode in cases(size):
        timings = [run(decode, body) for _ in range(max(1, args.rounds))]
        seconds = min(t for t, _ in timings)
        outcome = timings[0][1]
        references.setdefault(fmt, seconds)
        top, kept = memory(decode, body)
        print(
            f"| {fmt.upper()} | {shape} | {len(body) / MiB:.2f} | {outcome} | "
            f"{seconds:.3f} | {seconds / references[fmt]:.2f} | {top / MiB:.1f} | "
            f"{kept / MiB:.1f} | {(top - kept) / len(body):.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
