"""System checks: ``manage.py check``, ``migrate`` and ``runserver`` refuse to start
with a missing or guessable token or an unknown time zone, instead of the view
answering 404 to every delivery."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from smsstatus._token import check_token

from . import conf


@checks.register(checks.Tags.security)
def check_token_setting(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """``smsstatus.E001``: ``SMSSTATUS_TOKEN`` is missing or shorter than 32."""
    try:
        check_token(getattr(settings, "SMSSTATUS_TOKEN", None))
    except ValueError as exc:
        return [checks.Error(str(exc), id="smsstatus.E001")]
    return []


@checks.register()
def check_timezone_setting(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """``smsstatus.E002``: ``SMSSTATUS_TIMEZONE`` is not a zone Python knows;
    ``smsstatus.W001``: ``USE_TZ`` is off, so times read back naive."""
    found: list[checks.CheckMessage] = []
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
