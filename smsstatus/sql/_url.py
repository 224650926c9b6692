"""The database URL every command takes (``--db``): one rule, in one place.

``sqlite:///relative/path.sqlite3`` (relative to the working directory),
``sqlite:////absolute/path.sqlite3``, or a ``postgresql://`` (or ``postgres://``) URI
that psycopg reads as its conninfo.  `connect` opens it; `redacted` is how a message
names it, without its password (in the user part or in a ``password=`` parameter).

Strategy: an SQLite file that does not exist is an error unless the caller means to
create the tables (``create=True``): opening one would make an empty file, and the
command would then fail on the missing tables with a less useful message.  psycopg is
imported only for a PostgreSQL URL.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit

__all__ = ["DatabaseUnavailable", "connect", "driver_error", "first_line", "redacted"]

_SQLITE = "sqlite:///"
_POSTGRESQL = ("postgresql://", "postgres://")
_PASSWORD_PARAMETER = re.compile(r"(?i)([?&]password=)[^&]*")


class DatabaseUnavailable(Exception):
    """The URL could not be opened.  The message names it, without its password."""


def redacted(url: str) -> str:
    """`url` with its password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is not None:
        user, _, host = parts.netloc.rpartition("@")
        url = url.replace(parts.netloc, f"{user.partition(':')[0]}:***@{host}", 1)
    return _PASSWORD_PARAMETER.sub(r"\1***", url)


def connect(url: str, *, create: bool = False) -> Any:
    """A DB-API connection to the database at `url` (see the module), for
    `StatusTable`.  Raises `DatabaseUnavailable` when it cannot be opened."""
    if url.startswith(_SQLITE):
        from ._sqlite import connect_sqlite

        path = url[len(_SQLITE) :]
        if not path or not (create or os.path.isfile(path)):
            raise DatabaseUnavailable(f"{url}: no such SQLite database file")
        import sqlite3

        try:
            return connect_sqlite(path)
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(f"{url}: {exc}") from None
    if url.startswith(_POSTGRESQL):
        try:
            import psycopg
        except ImportError:
            raise DatabaseUnavailable(
                f"{redacted(url)}: PostgreSQL needs psycopg "
                "(pip install 'smsstatus[postgresql]')"
            ) from None
        try:
            return psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            # psycopg's message may quote the conninfo: never its password.
            reason = first_line(exc)
            password = urlsplit(url).password
            if password:
                reason = reason.replace(password, "***")
            raise DatabaseUnavailable(f"{redacted(url)}: {reason}") from None
    raise DatabaseUnavailable(
        f"{redacted(url)}: not a database URL (sqlite:///relative/path, "
        "sqlite:////absolute/path or postgresql://...)"
    )


def first_line(exc: BaseException) -> str:
    """The first line of a driver's message, for a one-line message of ours."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def driver_error(connection: Any) -> type[Exception]:
    """The base class of the errors `connection`'s driver raises (a missing table,
    a lost server...)."""
    if type(connection).__module__.startswith("sqlite3"):
        import sqlite3

        return sqlite3.Error
    import psycopg

    return psycopg.Error
