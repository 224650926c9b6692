"""The app's settings, read from ``django.conf.settings`` each time (so tests can
override them): ``SMSSTATUS_TOKEN``, ``SMSSTATUS_TIMEZONE``,
``SMSSTATUS_KEEP_BODIES`` and ``SMSSTATUS_DB_TIMEOUT``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings

from smsstatus._unavailable import DEFAULT_TIMEOUT


def token() -> str:
    """``SMSSTATUS_TOKEN``, or ``""`` when it is not set."""
    value = getattr(settings, "SMSSTATUS_TOKEN", "")
    return value if isinstance(value, str) else ""


def timezone_name() -> str:
    """``SMSSTATUS_TIMEZONE``, the zone of the gateway's times; ``TIME_ZONE`` by
    default."""
    name = getattr(settings, "SMSSTATUS_TIMEZONE", None) or settings.TIME_ZONE
    return str(name)


def gateway_timezone() -> ZoneInfo:
    """The zone of the gateway's times, as a `~zoneinfo.ZoneInfo`."""
    return ZoneInfo(timezone_name())


def keep_bodies() -> bool:
    """``SMSSTATUS_KEEP_BODIES``: keep every delivery's body in its `Webhook` row,
    not only refused ones and ones with rejected items (default False)."""
    return bool(getattr(settings, "SMSSTATUS_KEEP_BODIES", False))


def db_timeout() -> float | None:
    """``SMSSTATUS_DB_TIMEOUT``: the seconds a delivery's statements may wait for a
    lock or run on PostgreSQL (default 10; None: no bound of ours)."""
    value = getattr(settings, "SMSSTATUS_DB_TIMEOUT", DEFAULT_TIMEOUT)
    return None if value is None else float(value)
