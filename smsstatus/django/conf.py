"""The app's settings, read from ``django.conf.settings`` each time (so tests can
override them): ``SMSSTATUS_TOKEN`` and ``SMSSTATUS_TIMEZONE``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings


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
