"""System checks: ``manage.py check``, ``migrate`` and ``runserver`` refuse to start
with a missing or guessable token or an unknown time zone, instead of the view
answering 404 to every delivery, and warn when the gateway's zone is left to a
default that is probably not the gateway's."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from smsstatus._token import check_token

from . import conf

# The names of UTC itself: as the gateway's zone, a default nobody chose.
_UTC = frozenset(
    {"UTC", "Etc/UTC", "UCT", "Etc/UCT", "GMT", "Etc/GMT", "Universal", "Zulu"}
)


@checks.register(checks.Tags.security)
def check_token_setting(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """``smsstatus.E001``: ``SMSSTATUS_TOKEN`` is missing or shorter than 32."""
    try:
        check_token(getattr(settings, "SMSSTATUS_TOKEN", None))
    except ValueError as exc:
        return [
            checks.Error(
                str(exc),
                hint="the documented settings.py line reads it from the environment:"
                " export SMSSTATUS_TOKEN before running manage.py or the server",
                id="smsstatus.E001",
            )
        ]
    return []


@checks.register()
def check_timezone_setting(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """``smsstatus.E002``: ``SMSSTATUS_TIMEZONE`` is not a zone Python knows;
    ``smsstatus.W001``: ``USE_TZ`` is off, so times read back naive;
    ``smsstatus.W002``: ``SMSSTATUS_TIMEZONE`` is left to a ``TIME_ZONE`` that is
    UTC (``startproject``'s) or Django's own default, not one the project chose for
    the gateway."""
    found: list[checks.CheckMessage] = []
    if not getattr(settings, "SMSSTATUS_TIMEZONE", None) and (
        settings.TIME_ZONE in _UTC or not settings.is_overridden("TIME_ZONE")
    ):
        found.append(
            checks.Warning(
                "SMSSTATUS_TIMEZONE is not set, so the gateway's times are read in"
                f" TIME_ZONE {settings.TIME_ZONE!r}, probably not the zone they are"
                " written in",
                hint="set SMSSTATUS_TIMEZONE to the zone of your account's times (ask"
                " the gateway's manager), e.g. 'Europe/Moscow'; 'UTC' if it is UTC",
                id="smsstatus.W002",
            )
        )
    try:
        conf.gateway_timezone()
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        found.append(
            checks.Error(
                f"SMSSTATUS_TIMEZONE {conf.timezone_name()!r} is not a time zone:"
                f" {exc}",
                hint="use an IANA name such as 'Europe/Moscow' (pip install tzdata "
                "where the system has no zone database)",
                id="smsstatus.E002",
            )
        )
    if not settings.USE_TZ:
        found.append(
            checks.Warning(
                "USE_TZ is False: smsstatus stores times as UTC instants, which "
                "Delivery.time then shows naive",
                hint="set USE_TZ = True (Django's default)",
                id="smsstatus.W001",
            )
        )
    return found


@checks.register()
def check_database(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``smsstatus.E003``: the database `Delivery` is written to is not one
    `StatusTable` can write (SQLite, or PostgreSQL through psycopg 3)."""
    from django.db import connections, router

    from .models import Delivery

    alias = router.db_for_write(Delivery)
    vendor = connections[alias].vendor
    if vendor == "sqlite":
        return []
    if vendor == "postgresql":
        from django.db.backends.postgresql.psycopg_any import is_psycopg3

        if is_psycopg3:
            return []
        problem = "PostgreSQL through psycopg2"
    else:
        problem = vendor
    return [
        checks.Error(
            f"smsstatus.django stores statuses on SQLite or on PostgreSQL through "
            f"psycopg 3, but the database {alias!r} is {problem}",
            hint="pip install 'psycopg[binary]' (Django uses psycopg 3 when it is "
            "installed), or route smsstatus's models to another database",
            id="smsstatus.E003",
        )
    ]
