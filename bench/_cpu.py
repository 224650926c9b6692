"""The CPU time a server's processes spent, from the kernel's counters (Linux).

Strategy.  `/proc/<pid>/stat` holds a process's user and system time (all its
threads, the ended ones included) and the time of its children that ended and
that it waited for, in clock ticks.  `tree` sums them over a process and all its
descendants (gunicorn's and uvicorn's workers, PostgreSQL's backends): a
descendant that ends moves its time into its parent's children's time, so the sum
never loses it, and the difference of two readings is what the whole tree spent in
between, processes started and ended meanwhile included (a connection's backend).
"""

from __future__ import annotations

import os

TICK = 1 / os.sysconf("SC_CLK_TCK")


def tree(root: int) -> float:
    """CPU seconds (user + system) of `root` and its descendants, the ended ones
    they waited for included."""
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                # The command's name is in parentheses and may hold anything.
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        pid = int(entry)
        parents[pid] = int(fields[1])
        # utime, stime, cutime, cstime: fields 14 to 17 of proc(5)
        times[pid] = sum(int(field) for field in fields[11:15])
    found = {root} & times.keys()
    while more := {pid for pid, parent in parents.items() if parent in found} - found:
        found |= more
    return sum(times[pid] for pid in found) * TICK
