"""Several processes save the same messages' histories into one database at once.

Each process saves its own shuffled, duplicated copy of every message's history,
in batches of random sizes (some through `StatusTable.update`), all at the same
time.  Whatever the interleaving, every row must end as the message's latest report,
every id a save returned must be in the table, and no save may fail (on SQLite:
no "database is locked").
"""

from __future__ import annotations

import multiprocessing
import random

from _postgres import Database

from smsstatus import Status, StatusReport
from smsstatus.sql import StatusTable
from smsstatus.testing import sample_histories

PROCESSES = 4
MESSAGES = 300
TOO_BIG = StatusReport(2**63, None, Status.READ)  # no table can hold it


def save_all(database: Database, history: list[StatusReport], seed: int) -> set[int]:
    """One process's work: save `history` shuffled, a third of it twice, in random
    batches; the ids taken."""
    rng = random.Random(seed)
    reports = history + [report for report in history if rng.random() < 0.3]
    rng.shuffle(reports)
    table = StatusTable()
    connection = database.connect()
    taken: set[int] = set()
    try:
        start = 0
        while start < len(reports):
            batch = reports[start : start + rng.randint(1, 60)]
            start += len(batch)
            if rng.random() < 0.25:
                taken |= table.update(connection, batch).taken
            else:
                taken |= table.save(connection, batch)
    finally:
        connection.close()
    return taken


def test_concurrent_savers_end_with_the_latest_report(database: Database) -> None:
    histories = sample_histories(MESSAGES, seed=11)
    connection = database.connect()
    table = StatusTable()
    table.create(connection)
    work = [(database, [*histories.reports, TOO_BIG], n) for n in range(PROCESSES)]
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        # Bounded: a worker that dies (say, on import) would leave starmap waiting.
        results = pool.starmap_async(save_all, work, chunksize=1).get(timeout=120)
    assert all(taken == histories.latest.keys() for taken in results)
    try:
        stored = table.load(connection, [*histories.latest, TOO_BIG.id_sms])
        assert stored == histories.latest
    finally:
        connection.close()
