"""A throwaway PostgreSQL server, and the databases the `StatusTable` tests run on.

`throwaway_server()` finds the server's programs (``initdb`` and ``pg_ctl`` on the
PATH, else the newest ``/usr/lib/postgresql/*/bin``, where Debian puts them), makes a
cluster in a new temporary directory, starts it listening only on a Unix socket in
that directory, and stops and removes it all at the end.  PostgreSQL refuses to run as
root, so when the tests run as root (as CI does) the cluster belongs to the
``postgres`` system user and the programs run as that user.

`Database` says how to connect to one test's database, in a form that survives
pickling, so that processes started by `multiprocessing` connect to it too.  The
benchmarks in ``bench/`` use this module as well.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs

from smsstatus.sql import connect_sqlite

__all__ = [
    "Database",
    "Server",
    "controlled_server",
    "find_programs",
    "throwaway_server",
]

PROGRAMS = ("initdb", "pg_ctl")


def find_programs() -> dict[str, Path] | None:
    """``initdb`` and ``pg_ctl`` from one place, or None when there are none."""
    found = {name: shutil.which(name) for name in PROGRAMS}
    if all(found.values()):
        return {name: Path(str(path)) for name, path in found.items()}

    def version(bin: Path) -> tuple[int, ...]:
        name = bin.parent.name
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    for bin in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version)[::-1]:
        if all((bin / name).is_file() for name in PROGRAMS):
            return {name: bin / name for name in PROGRAMS}
    return None


def missing_reason() -> str | None:
    """Why no server can be started here, or None when one can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    if find_programs() is None:
        return (
            "no PostgreSQL server programs (initdb, pg_ctl) on the PATH or in "
            "/usr/lib/postgresql/*/bin; install them (Debian: apt-get install "
            "postgresql) to run the PostgreSQL tests"
        )
    return None


@attrs.frozen
class Server:
    """A running throwaway cluster: its connection string, and ``pg_ctl`` on its data
    directory, for the fault tests to stop, start and restart it:
    ``server.ctl("stop", "-m", "fast")``, ``server.ctl("start")``,
    ``server.ctl("restart", "-m", "immediate")``."""

    conninfo: str
    ctl: Any  # ctl(*arguments): runs pg_ctl -D <data> -w <arguments>


@contextmanager
def throwaway_server(*, durable: bool = False) -> Iterator[str]:
    """Start a new PostgreSQL cluster and yield its connection string (user
    ``postgres``, database ``postgres``, trusted).  With `durable` False (for the
    tests) it skips fsync and commits without waiting for the log to be written: a
    power cut, or an immediate stop (``pg_ctl stop -m immediate``), may lose the last
    commits."""
    with controlled_server(durable=durable) as server:
        yield server.conninfo


@contextmanager
def controlled_server(*, durable: bool = False) -> Iterator[Server]:
    """`throwaway_server`, yielding a `Server` that can be stopped and restarted; it
    may be left stopped."""
    programs = find_programs()
    if programs is None:
        raise RuntimeError(missing_reason())
    root = Path(tempfile.mkdtemp(prefix="smsstatus-pg-"))
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = {"user": "postgres", "group": "postgres", "extra_groups": []}
    data, log = root / "data", root / "server.log"
    options = f"-c listen_addresses='' -k {root} -c max_connections=100"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"

    def run(*argv: object, check: bool = True) -> int:
        return subprocess.run(
            [str(arg) for arg in argv],
            cwd=root,
            check=check,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
            **as_user,
        ).returncode

    def ctl(*argv: object) -> None:
        run(programs["pg_ctl"], "-D", data, "-l", log, "-w", "-o", options, *argv)

    try:
        run(programs["initdb"], "-D", data, "-U", "postgres", "-A", "trust")
        ctl("start")
        try:
            yield Server(f"host={root} port=5432 user=postgres dbname=postgres", ctl)
        finally:
            # pg_ctl status: 0 while it runs, 3 once a test left it stopped.
            if run(programs["pg_ctl"], "-D", data, "status", check=False) == 0:
                run(programs["pg_ctl"], "-D", data, "-m", "fast", "-w", "stop")
    except subprocess.CalledProcessError as exc:
        server_log = log.read_text(errors="replace") if log.exists() else ""
        raise RuntimeError(
            f"{exc.cmd[0]} failed: {exc.stderr.decode(errors='replace')}{server_log}"
        ) from exc
    finally:
        shutil.rmtree(root, ignore_errors=True)


@attrs.frozen
class Database:
    """One test's database: a SQLite file, or a schema of the throwaway server.

    `connect()` opens a new connection to it, in this process or another.
    """

    kind: str  # "sqlite" or "postgresql"
    target: str  # the file's path, or the server's connection string
    schema: str = ""

    def url(self) -> str:
        """The database as the commands' ``--db`` takes it."""
        if self.kind == "sqlite":
            return f"sqlite:///{Path(self.target).resolve()}"
        fields = dict(field.split("=", 1) for field in self.target.split())
        query = "&".join(
            f"{key}={quote(value)}" for key, value in fields.items() if key != "dbname"
        )
        if self.schema:
            query += "&options=" + quote(f"-c search_path={self.schema}")
        return f"postgresql:///{fields.get('dbname', '')}?{query}"

    def connect(self) -> Any:
        if self.kind == "sqlite":
            return connect_sqlite(self.target)
        import psycopg

        return psycopg.connect(self.target, options=f"-c search_path={self.schema}")
