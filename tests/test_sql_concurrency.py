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

from _histories import histories, shuffled_with_duplicates
from _postgres import Database

from smsstatus import Status, StatusReport
from smsstatus.sql import StatusTable

PROCESSES = 4
MESSAGES = 300
TOO_BIG = StatusReport(2**63, None, Status.READ)  # no table can hold it


def save_all(database: Database, reports: list[StatusReport], seed: int) -> set[int]:
    """One process's work: save `reports` in random batches; the ids taken."""
    rng = random.Random(seed)
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
    history, latest = histories(MESSAGES, seed=11)
    connection = database.connect()
    table = StatusTable()
    table.create(connection)
    work = [
        (database, shuffled_with_duplicates([*history, TOO_BIG], seed=n), n)
        for n in range(PROCESSES)
    ]
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        results = pool.starmap(save_all, work, chunksize=1)
    ids = {report.id_sms for report in latest}
    assert all(taken == ids for taken in results)
    try:
        stored = table.load(connection, [*ids, TOO_BIG.id_sms])
        assert stored == {report.id_sms: report for report in latest}
    finally:
        connection.close()
