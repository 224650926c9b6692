"""The app's models: the ledger's four tables, as `smsstatus.sql.StatusTable`
makes and writes them.

`Delivery` is the latest status of each message (``smsstatus_delivery``),
`StatusEvent` every distinct status each message went through, `Webhook` every
delivery the gateway made (refused ones included), `RejectedItem` each item that was
not a valid status, kept with its text so it is acknowledged (not re-sent in vain)
and can be looked at later.  The layout is defined once, by `StatusTable.create`,
which the migrations run; the models only describe it (column for column), and the
app never saves them through the ORM, it only reads them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.db import models
from django.utils import timezone

from smsstatus._model import Status, StatusReport

_STATES = [(status.value, status.value) for status in Status]
# The wire strings of the final states, for the admin's filter.
FINAL_STATES = frozenset(status.value for status in Status if status.is_final)


class _Status(models.Model):
    """The report's own fields, as `Delivery` and `StatusEvent` both store them."""

    # Annotated for type checkers (django-stubs); Django never reads annotations.
    id_sms: models.BigIntegerField[int, int]
    time: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, help_text="When the gateway says the status changed."
    )
    time_offset: models.IntegerField[int | None, int | None] = models.IntegerField(
        null=True, help_text="Seconds east of UTC of the gateway's time, if known."
    )
    state: models.CharField[str, str] = models.CharField(max_length=14, choices=_STATES)
    sms: models.CharField[str | None, str | None] = models.CharField(
        max_length=14, choices=_STATES, null=True
    )
    viber: models.CharField[str | None, str | None] = models.CharField(
        max_length=14, choices=_STATES, null=True
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.id_sms}: {self.state}"

    def report(self) -> StatusReport:
        """The stored status as a `~smsstatus.StatusReport`, as the gateway sent it:
        an aware time with its own offset, a naive one naive."""
        return StatusReport(
            self.id_sms,
            time=_gateway_time(self.time, self.time_offset),
            state=Status(self.state),
            sms=None if self.sms is None else Status(self.sms),
            viber=None if self.viber is None else Status(self.viber),
        )


class Delivery(_Status):
    """The latest status of one message (written by the view, read-only here)."""

    id_sms: models.BigIntegerField[int, int] = models.BigIntegerField(
        "id_sms", primary_key=True
    )
    changed_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        help_text="When this row last changed."
    )
    sent_at: models.DateTimeField[datetime | None, datetime | None] = (
        models.DateTimeField(
            null=True, help_text="When the application sent it (register_sent)."
        )
    )
    tag: models.CharField[str | None, str | None] = models.CharField(
        max_length=64,
        null=True,
        help_text="The application's label (campaign, template), from register_sent.",
    )
    seen_at: models.DateTimeField[datetime | None, datetime | None] = (
        models.DateTimeField(
            null=True, help_text="First seen: when sent, else its first status."
        )
    )
    final_at: models.DateTimeField[datetime | None, datetime | None] = (
        models.DateTimeField(null=True, help_text="When its first final status came.")
    )

    class Meta:
        db_table = "smsstatus_delivery"
        verbose_name_plural = "deliveries"
        ordering = ("-changed_at",)

    @property
    def is_final(self) -> bool:
        """Whether the state is final (`Status.is_final`)."""
        return self.state in FINAL_STATES


def _gateway_time(value: datetime | None, offset: int | None) -> datetime | None:
    if value is None:
        return None
    # Aware with USE_TZ; naive (the stored UTC wall clock) without.
    utc = value.astimezone(dt_timezone.utc) if timezone.is_aware(value) else value
    utc = utc.replace(tzinfo=dt_timezone.utc)
    if offset is None:
        return utc.replace(tzinfo=None)
    return utc.astimezone(dt_timezone(timedelta(seconds=offset)))


_SOURCES = [("push", "push"), ("pull", "pull")]
_FORMATS = [("xml", "xml"), ("json", "json")]


class Webhook(models.Model):
    """One POST the gateway made, as it was answered (refused ones included)."""

    received_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    remote: models.CharField[str | None, str | None] = models.CharField(
        max_length=255, null=True, help_text="The peer address the receiver saw."
    )
    format: models.CharField[str | None, str | None] = models.CharField(
        max_length=4, choices=_FORMATS, null=True
    )
    size: models.BigIntegerField[int, int] = models.BigIntegerField(
        help_text="Bytes of the body."
    )
    sha256: models.CharField[str, str] = models.CharField(max_length=64)
    code: models.IntegerField[int, int] = models.IntegerField(
        help_text="The HTTP status answered."
    )
    reports: models.IntegerField[int, int] = models.IntegerField(
        help_text="Valid reports in the document."
    )
    taken: models.IntegerField[int, int] = models.IntegerField(
        help_text="Distinct ids acknowledged."
    )
    rejected: models.IntegerField[int, int] = models.IntegerField(
        help_text="Items that were not valid statuses."
    )
    refused: models.TextField[str | None, str | None] = models.TextField(
        null=True, help_text="Why the document was refused (400)."
    )
    body: models.BinaryField[bytes | None, bytes | None] = models.BinaryField(
        null=True,
        help_text="Kept when refused or with rejected items, or always with "
        "SMSSTATUS_KEEP_BODIES.",
    )

    class Meta:
        db_table = "smsstatus_delivery_webhook"
        ordering = ("-id",)

    def __str__(self) -> str:
        return f"#{self.pk} {self.received_at:%Y-%m-%d %H:%M:%S}: {self.code}"


def _webhook() -> models.ForeignKey[Webhook | None, Webhook | None]:
    # The ledger declares no foreign keys (prune deletes events, webhooks and
    # rejected items independently): a link for the ORM only.
    return models.ForeignKey(
        Webhook,
        null=True,
        db_constraint=False,
        on_delete=models.DO_NOTHING,
        related_name="+",
    )


class StatusEvent(_Status):
    """One distinct status a message went through (its history)."""

    id_sms: models.BigIntegerField[int, int] = models.BigIntegerField("id_sms")
    received_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    source: models.CharField[str, str] = models.CharField(
        max_length=4,
        choices=_SOURCES,
        help_text="push: a webhook; pull: recovery.",
    )
    webhook = _webhook()

    class Meta:
        db_table = "smsstatus_delivery_event"
        verbose_name = "status event"
        ordering = ("-received_at", "-id")


class RejectedItem(models.Model):
    """An item of a delivery that was not a valid status (a `~smsstatus.ReportError`):
    kept, with its text, and acknowledged.  A repeat of the same item for the same
    id adds no row."""

    webhook = _webhook()
    id_sms: models.BigIntegerField[int | None, int | None] = models.BigIntegerField(
        null=True
    )
    reason: models.TextField[str, str] = models.TextField()
    raw: models.TextField[str, str] = models.TextField(
        help_text="The item as the gateway sent it."
    )
    received_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        default=timezone.now
    )
    raw_sha256: models.CharField[str, str] = models.CharField(
        max_length=64, help_text="The hex digest of raw."
    )

    class Meta:
        db_table = "smsstatus_delivery_rejected"
        ordering = ("-received_at", "-id")

    def __str__(self) -> str:
        return f"{self.id_sms}: {self.reason}"
