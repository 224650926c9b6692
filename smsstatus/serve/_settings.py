"""What a worker process needs to know, passed from the command to each worker.

Strategy.  uvicorn starts its worker processes fresh (``spawn``), so the settings
travel in one environment variable, as JSON, beside ``SMSSTATUS_TOKEN``.  They hold
no secret: the dashboard's password travels as the name of its file, read by each
worker.
"""

from __future__ import annotations

import json
import os
from datetime import tzinfo
from zoneinfo import ZoneInfo

import attrs

__all__ = ["ENVIRONMENT", "Settings", "read_secret"]

#: The environment variable that carries the settings to the workers.
ENVIRONMENT = "SMSSTATUS_SERVE_SETTINGS"


@attrs.frozen
class Settings:
    """The receiver's settings: the database's URL (`db`), the gateway's time zone
    (`tz`, an IANA name) and the dashboard's password file (None: no dashboard)."""

    db: str
    tz: str = "UTC"
    dashboard_password_file: str | None = None

    def zone(self) -> tzinfo:
        """The gateway's time zone."""
        return ZoneInfo(self.tz)

    def dashboard_password(self) -> str | None:
        """The first line of the password file, or None without one (`OSError` when
        it cannot be read, `ValueError` when the line is empty)."""
        if self.dashboard_password_file is None:
            return None
        return read_secret(self.dashboard_password_file)

    def to_environment(self) -> None:
        """Put the settings where `from_environment` finds them."""
        os.environ[ENVIRONMENT] = json.dumps(attrs.asdict(self))

    @classmethod
    def from_environment(cls) -> Settings:
        """The settings `to_environment` left."""
        return cls(**json.loads(os.environ[ENVIRONMENT]))


def read_secret(path: str) -> str:
    """The first line of the file at `path`, without its line end: how a secret is
    read from a file.  `OSError` when it cannot be read, `ValueError` when empty."""
    with open(path, encoding="utf-8") as file:
        line = file.readline().rstrip("\r\n")
    if not line:
        raise ValueError(f"{path}: the first line is empty")
    return line
