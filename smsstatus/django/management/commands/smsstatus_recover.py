"""``manage.py smsstatus_recover``: pull the statuses the push channel gave up on.

Strategy.  The command is `smsstatus.pull.recover` with the app's own parts: the ids
come from `StatusTable.pending` on the table the `Delivery` model maps (or from the
command line), the credentials from the settings (never from the command line, where
other users of the machine could read them), and the answers are stored by the very
function the webhook view stores with, so rows, signals and time zones come out
exactly as if the push had brought them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections, router
from django.utils.dateparse import parse_duration

from smsstatus._errors import SmsStatusError
from smsstatus.django import conf
from smsstatus.django.models import Delivery
from smsstatus.django.views import _TABLE, _store
from smsstatus.pull import DEFAULT_BASE_URL, Credentials, recover

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_SHORT = re.compile(r"([0-9]+)([smhd])").fullmatch


def duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``2h``, ``1d``, or anything Django's `parse_duration` reads
    (``01:30:00``, ``P1DT2H``)."""
    short = _SHORT(text.strip())
    if short is not None:
        return timedelta(**{_UNITS[short.group(2)]: int(short.group(1))})
    parsed = parse_duration(text) if text.strip() else None
    if parsed is None or parsed < timedelta(0):
        raise ValueError(f"not a duration: {text!r} (try 30m, 2h or 1d)")
    return parsed


def credentials() -> Credentials:
    """The pull request's credentials, from the settings ``SMSSTATUS_API_TOKEN``, or
    ``SMSSTATUS_API_LOGIN`` and ``SMSSTATUS_API_PASSWORD``."""

    def setting(name: str) -> Any:
        return getattr(settings, f"SMSSTATUS_API_{name}", None) or None

    token = setting("TOKEN")
    try:
        return Credentials(
            login=None if token else setting("LOGIN"),
            password=None if token else setting("PASSWORD"),
            token=token,
        )
    except (TypeError, ValueError) as exc:
        raise CommandError(
            f"{exc}: set SMSSTATUS_API_TOKEN, or SMSSTATUS_API_LOGIN and "
            "SMSSTATUS_API_PASSWORD, in the settings"
        ) from None


class Command(BaseCommand):
    help = (
        "Ask the gateway for the statuses of the stored messages that are not final "
        "and have not changed for --older-than (or of the given ids), and store them "
        "as the webhook view does."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "ids", metavar="ID", type=int, nargs="*", help="ask about these ids only"
        )
        parser.add_argument(
            "--older-than",
            type=duration,
            default=timedelta(hours=1),
            metavar="DURATION",
            help="how long a message must have been unchanged (default: 1h)",
        )
        parser.add_argument(
            "--base-url",
            default=DEFAULT_BASE_URL,
            help=f"the gateway's address (default: {DEFAULT_BASE_URL})",
        )
        parser.add_argument(
            "--format",
            choices=["xml", "json"],
            default="xml",
            help="the request's format (default: xml)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        who = credentials()
        alias = router.db_for_write(Delivery)
        ids = options["ids"]
        if not ids:
            connection = connections[alias]
            connection.ensure_connection()
            ids = _TABLE.pending(connection.connection, options["older_than"])
        if not ids:
            self.stdout.write("nothing pending")
            return
        try:
            recovery = recover(
                ids,
                who,
                partial(_store, alias),
                base_url=options["base_url"],
                format=options["format"],
                tz=conf.gateway_timezone(),
            )
        except (SmsStatusError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"asked about {len(recovery.asked)}, stored {len(recovery.taken)}, "
            f"unanswered {len(recovery.unanswered)}"
        )
        if recovery.answer.batch.errors:
            errors = recovery.answer.batch.errors
            self.stderr.write(
                f"items of the answer that are not statuses: {len(errors)}"
            )
