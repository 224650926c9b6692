"""``manage.py smsstatus_prune --older-than DURATION``: delete the ledger's history,
deliveries and rejected items received before that age.

Strategy: `StatusTable.prune` on the table the `Delivery` model maps, through the
app's own connection; it deletes in batches, each in its own transaction, so that
deliveries arriving meanwhile are never blocked for long, and it never touches the
latest statuses.  Run it from cron (or a scheduler) as often as you like.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import router

from smsstatus._duration import duration
from smsstatus.django.ledger import TABLE, table_connection
from smsstatus.django.models import Delivery


class Command(BaseCommand):
    help = (
        "Delete the status history, the delivery log and the rejected items "
        "received more than --older-than ago (the latest statuses stay)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=duration,
            required=True,
            metavar="DURATION",
            help="the age past which rows go: <n>s, <n>m, <n>h or <n>d (e.g. 90d)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        alias = router.db_for_write(Delivery)
        with table_connection(alias) as connection:
            pruned = TABLE.prune(connection, older_than=options["older_than"])
        self.stdout.write(
            f"deleted {pruned.events} events, {pruned.webhooks} webhooks, "
            f"{pruned.rejected} rejected items"
        )
