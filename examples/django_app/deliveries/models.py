from __future__ import annotations

from django.db import models, transaction

from smsstatus import Status, StatusReport

STATUS_CHOICES = [(status.value, status.value) for status in Status]


class DeliveryManager(models.Manager["Delivery"]):
    def record(self, report: StatusReport) -> None:
        """Store `report` unless the stored report of its message is as far along.

        Duplicates and late arrivals are dropped here, and a final state is never
        replaced.  The row is locked for the read-compare-write (SELECT ... FOR
        UPDATE where the database has it; SQLite lets one writer at a time).
        """
        with transaction.atomic():
            stored = self.select_for_update().filter(id_sms=report.id_sms).first()
            if report.supersedes(stored and stored.report()):
                self.model(
                    id_sms=report.id_sms,
                    time=report.time,
                    state=report.state.value,
                    sms=None if report.sms is None else report.sms.value,
                    viber=None if report.viber is None else report.viber.value,
                ).save()


class Delivery(models.Model):
    """The latest status of one message."""

    id_sms = models.BigIntegerField(primary_key=True)
    time = models.DateTimeField(null=True)
    state = models.CharField(max_length=16, choices=STATUS_CHOICES)
    sms = models.CharField(max_length=16, choices=STATUS_CHOICES, null=True)
    viber = models.CharField(max_length=16, choices=STATUS_CHOICES, null=True)

    objects = DeliveryManager()

    def report(self) -> StatusReport:
        """The stored status as a `StatusReport`, to compare with a new one."""
        return StatusReport(
            self.id_sms,
            time=self.time,
            state=Status(self.state),
            sms=None if self.sms is None else Status(self.sms),
            viber=None if self.viber is None else Status(self.viber),
        )
