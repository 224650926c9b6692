"""The app's two models.

`Delivery` is the table `smsstatus.sql.StatusTable` writes (``smsstatus_delivery``,
column for column): the view never saves it through the ORM, it only reads it.
`RejectedItem` keeps each item the gateway sent that was not a valid status, with
its text, so it is acknowledged (not re-sent in vain) and can be looked at later.
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


class Delivery(models.Model):
    """The latest status of one message (written by the view, read-only here)."""

    # Annotated for type checkers (django-stubs); Django never reads annotations.
    id_sms: models.BigIntegerField[int, int] = models.BigIntegerField(
        "id_sms", primary_key=True
    )
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
    changed_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        help_text="When this row last changed."
    )

    class Meta:
        db_table = "smsstatus_delivery"
        verbose_name_plural = "deliveries"
        ordering = ("-changed_at",)

    def __str__(self) -> str:
        return f"{self.id_sms}: {self.state}"

    @property
    def is_final(self) -> bool:
        """Whether the state is final (`Status.is_final`)."""
        return self.state in FINAL_STATES

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


def _gateway_time(value: datetime | None, offset: int | None) -> datetime | None:
    if value is None:
        return None
    # Aware with USE_TZ; naive (the stored UTC wall clock) without.
    utc = value.astimezone(dt_timezone.utc) if timezone.is_aware(value) else value
    utc = utc.replace(tzinfo=dt_timezone.utc)
    if offset is None:
        return utc.replace(tzinfo=None)
    return utc.astimezone(dt_timezone(timedelta(seconds=offset)))


class RejectedItem(models.Model):
    """An item of a delivery that was not a valid status (a `~smsstatus.ReportError`):
    kept, with its text, and acknowledged."""

    id_sms: models.BigIntegerField[int | None, int | None] = models.BigIntegerField(
        null=True, db_index=True
    )
    reason: models.TextField[str, str] = models.TextField()
    raw: models.TextField[str, str] = models.TextField(
        help_text="The item as the gateway sent it."
    )
    received_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        default=timezone.now, db_index=True
    )

    class Meta:
        ordering = ("-received_at", "-id")

    def __str__(self) -> str:
        return f"{self.id_sms}: {self.reason}"
