"""``manage.py smsstatus_recover``: pull the statuses the push channel gave up on.

Strategy.  The command is `smsstatus.pull.recover` with the app's own parts: the ids
come from `StatusTable.pending` on the table the `Delivery` model maps, a chunk at a
time (``limit``), so that a million pending messages are walked in bounded memory
(or from the command line); the credentials from the settings (never from the
command line, where other users of the machine could read them); and the answers are
stored with `StatusTable.update` as "pull" events of the history, with the same
``status_changed`` signal and time zone as the webhook view.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import router
from django.utils import dateparse

from smsstatus._duration import parse_duration
from smsstatus._errors import SmsStatusError
from smsstatus._model import StatusReport
from smsstatus.django import conf
from smsstatus.django.ledger import TABLE, announce, table_connection
from smsstatus.django.models import Delivery
from smsstatus.django.signals import status_changed
from smsstatus.pull import DEFAULT_BASE_URL, Credentials, recover

#: Ids asked about per request to the gateway (and per read of the pending ones).
CHUNK = 100


def duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``2h``, ``1d`` (as in every command), or 0.2's other forms,
    those Django's `~django.utils.dateparse.parse_duration` reads (``01:30:00``,
    ``P1DT2H``)."""
    try:
        return parse_duration(text)
    except ValueError:
        parsed = dateparse.parse_duration(text) if text.strip() else None
    if parsed is None or parsed < timedelta(0):
        raise ValueError(f"not a duration: {text!r} (try 30m, 2h or 1d)")
    return parsed


def store_pulled(alias: str, reports: tuple[StatusReport, ...]) -> frozenset[int]:
    """Store pulled reports as the view stores pushed ones, marked "pull" in the
    history; ``status_changed`` goes out for each changed row."""
    with table_connection(alias) as connection:
        if not status_changed.has_listeners(Delivery):
            return TABLE.save(connection, reports, source="pull")
        update = TABLE.update(connection, reports, source="pull")
    announce(alias, update.changes)
    return update.taken


def pending(alias: str, older_than: timedelta) -> Iterator[list[int]]:
    """The pending ids, `CHUNK` at a time, each read after the previous chunk was
    stored.  Those asked about that are still pending (no answer, or no progress)
    stay at the head of `StatusTable.pending`'s order (oldest change first), so each
    read asks for that many more; the walk ends when a read brings no new id."""
    asked: set[int] = set()
    still = 0
    while True:
        with table_connection(alias) as connection:
            found = TABLE.pending(connection, older_than, limit=still + CHUNK)
        fresh = [id_sms for id_sms in found if id_sms not in asked][:CHUNK]
        if not fresh:
            return
        yield fresh
        asked.update(fresh)
        still = sum(id_sms in asked for id_sms in found)


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
        given = options["ids"]
        chunks = [given] if given else pending(alias, options["older_than"])
        asked = taken = unanswered = errors = 0
        for ids in chunks:
            try:
                recovery = recover(
                    ids,
                    who,
                    partial(store_pulled, alias),
                    base_url=options["base_url"],
                    format=options["format"],
                    chunk_size=CHUNK,
                    tz=conf.gateway_timezone(),
                )
            except (SmsStatusError, ValueError) as exc:
                raise CommandError(str(exc)) from None
            asked += len(recovery.asked)
            taken += len(recovery.taken)
            unanswered += len(recovery.unanswered)
            errors += len(recovery.answer.batch.errors)
        if not asked:
            self.stdout.write("nothing pending")
            return
        self.stdout.write(
            f"asked about {asked}, stored {taken}, unanswered {unanswered}"
        )
        if errors:
            self.stderr.write(f"items of the answer that are not statuses: {errors}")
