"""`StatusTable.stats` benchmark: the time of the dashboard's two questions (the last
24 hours by hour, the last 30 days by day) as the ledger grows.

Run from the project root (psycopg and a PostgreSQL server's programs are needed for
the PostgreSQL rows; without ``--dsn`` a throwaway server is started and removed)::

    pip install -e '.[test]'
    python bench/stats.py                          # 100 000, 300 000, 1 000 000
    python bench/stats.py --sizes 1000,3000 --databases sqlite --rounds 3

Strategy.  The ledger's tables are made by `StatusTable.create` and filled in SQL by
the database itself (generate_series, a recursive CTE on SQLite), so that a million
messages take seconds: messages first seen over the 30 days before now, in the order
of their ids as a ledger fills (so the last 24 hours hold a thirtieth of them), each
with a latest state drawn from a plausible mix, a first final status a few seconds to
a few hours after first seen for the final ones, one in ten registered with a tag,
and three history events each.  The tables are made anew for each size, ANALYZEd
(VACUUMed too on PostgreSQL, as autovacuum would), then each case runs ``--rounds``
times; the figure is the median, in milliseconds.  The output is a Markdown table
per database and one PASS / FAIL line per target of issue 20: under 100 ms on
PostgreSQL for 24 hourly slices at the largest size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from _storage import Database, databases, machine, versions

from smsstatus.sql import StatusTable

TARGET_MS = 100.0
CASES = {
    "24 hourly slices": (timedelta(hours=23), timedelta(hours=1)),
    "30 daily slices": (timedelta(days=29), timedelta(days=1)),
}

# The latest states' mix, as cumulative shares, and how long the final ones took.
_STATES = (
    "CASE WHEN {r} < 0.55 THEN 'read' WHEN {r} < 0.75 THEN 'deliver'"
    " WHEN {r} < 0.80 THEN 'send' WHEN {r} < 0.85 THEN 'partly_deliver'"
    " WHEN {r} < 0.95 THEN 'not_deliver' ELSE 'expired' END"
)
_FINAL = "('read', 'not_deliver', 'expired')"

_POSTGRESQL_FILL = f"""
WITH g AS MATERIALIZED (
  SELECT i, %(now)s::timestamptz
           - (%(last)s - i + random()) * interval '30 days' / %(last)s AS seen,
         random() AS r, random() AS d
  FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i
), s AS MATERIALIZED (
  SELECT i, seen, {_STATES.format(r="r")} AS state,
         seen + (5 + d * d * 7200) * interval '1 second' AS done
  FROM g
)
INSERT INTO {{t}} (id_sms, time, state, changed_at, sent_at, tag, seen_at, final_at)
SELECT i, done, state, done, CASE WHEN mod(i, 10) = 0 THEN seen END,
       CASE WHEN mod(i, 10) = 0 THEN 'promo' END, seen,
       CASE WHEN state IN {_FINAL} THEN done END
FROM s
"""
_SQLITE_FILL = f"""
WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?),
g AS MATERIALIZED (
  SELECT i, ? - (? - i + (abs(random()) % 1000) / 1000.0) * 2592000.0 / ? AS seen,
         (abs(random()) % 1000000) / 1000000.0 AS r,
         (abs(random()) % 1000000) / 1000000.0 AS d
  FROM n
), s AS MATERIALIZED (
  SELECT i, seen, {_STATES.format(r="r")} AS state, seen + 5 + d * d * 7200 AS done
  FROM g
)
INSERT INTO {{t}} (id_sms, time, state, changed_at, sent_at, tag, seen_at, final_at)
SELECT i, {{clock_done}}, state, {{clock_done}},
       CASE WHEN i % 10 = 0 THEN {{clock_seen}} END,
       CASE WHEN i % 10 = 0 THEN 'promo' END, {{clock_seen}},
       CASE WHEN state IN {_FINAL} THEN {{clock_done}} END
FROM s
"""
_CLOCK = "strftime('%Y-%m-%d %H:%M:%f000', {0}, 'unixepoch')"
# Three events a message: send when first seen, then two later ones.
_EVENTS = """
INSERT INTO {t}_event (id_sms, time, time_offset, state, sms, viber, received_at,
                       source)
SELECT id_sms, {time}, NULL, {state}, NULL, NULL, {received}, 'push'
FROM {t} WHERE id_sms BETWEEN {mark} AND {mark}
"""


def fill(database: Database, connection: Any, count: int, now: datetime) -> None:
    first, last = 1, count
    table = StatusTable().name
    sqlite = database.kind == "sqlite"
    mark = "?" if sqlite else "%s"
    if sqlite:
        fill_sql = _SQLITE_FILL.format(
            t=table,
            clock_done=_CLOCK.format("done"),
            clock_seen=_CLOCK.format("seen"),
        )
        connection.execute(fill_sql, (first, last, now.timestamp(), last, last))
    else:
        connection.execute(
            _POSTGRESQL_FILL.format(t=table),
            {"now": now, "first": first, "last": last},
        )
    events = [
        ("NULL", "'send'", "seen_at"),
        ("changed_at", "'deliver'", "changed_at"),
        ("changed_at", "state", "changed_at"),
    ]
    for time_, state, received in events:
        connection.execute(
            _EVENTS.format(
                t=table, time=time_, state=state, received=received, mark=mark
            )
            + " ON CONFLICT DO NOTHING",
            (first, last),
        )
    connection.commit()
    if sqlite:
        connection.execute(f"ANALYZE {table}")
    else:  # VACUUM cannot run in a transaction; it also sets the visibility map.
        connection.commit()
        connection.autocommit = True
        connection.execute(f"VACUUM ANALYZE {table}")
        connection.autocommit = False
    connection.commit()


def measure(
    connection: Any, now: datetime, rounds: int
) -> dict[str, tuple[float, int]]:
    """Each case's median time in ms and the messages it counted."""
    table = StatusTable()
    found = {}
    for case, (back, size) in CASES.items():
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            buckets = table.stats(connection, since=now - back, until=now, bucket=size)
            times.append((time.perf_counter() - start) * 1000)
        found[case] = (statistics.median(times), sum(b.messages for b in buckets))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--dsn", help="a PostgreSQL database to use (it is emptied)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    now = datetime.now(timezone.utc).replace(microsecond=0)
    print(
        f"smsstatus stats benchmark: Python {sys.version.split()[0]}, {machine()},"
        f" load average {os.getloadavg()[1]:.1f} at the start"
    )
    verdicts = []
    with databases(args.databases.split(","), args.dsn) as found:
        for database in found:
            results: dict[int, dict[str, tuple[float, int]]] = {}
            for size in sizes:
                connection = database.connect()
                table = StatusTable()
                for suffix in ("", "_event", "_webhook", "_rejected"):
                    connection.execute(f"DROP TABLE IF EXISTS {table.name}{suffix}")
                connection.commit()
                table.create(connection)
                fill(database, connection, size, now)
                results[size] = measure(connection, now, args.rounds)
                connection.close()
            print(f"\n## {versions(database)}: ms a call (median of {args.rounds})\n")
            print(
                "| case | "
                + " | ".join(f"N={n:,}".replace(",", " ") for n in sizes)
                + " |"
            )
            print("|---" * (len(sizes) + 1) + "|")
            for case in CASES:
                cells = [
                    f"{results[n][case][0]:.1f} ({results[n][case][1]} counted)"
                    for n in sizes
                ]
                print(f"| {case} | " + " | ".join(cells) + " |")
            if database.kind == "postgresql":
                ms = results[sizes[-1]]["24 hourly slices"][0]
                verdicts.append(
                    f"{'PASS' if ms < TARGET_MS else 'FAIL'} PostgreSQL, 24 hourly"
                    f" slices over {sizes[-1]} messages: {ms:.1f} ms"
                    f" (target < {TARGET_MS:.0f} ms)"
                )
    print(f"\nLoad average at the end: {os.getloadavg()[1]:.1f}")
    print("\n## Targets\n")
    print("\n".join(verdicts) or "(PostgreSQL not measured)")


if __name__ == "__main__":
    main()
