"""The reusable Django app: receive the gateway's statuses into your database.

Needs the extra ``smsstatus[django]``.  The whole integration::

    # settings.py
    INSTALLED_APPS = [..., "smsstatus.django"]
    SMSSTATUS_TOKEN = "a long random string, at least 32 characters"

    # urls.py
    urlpatterns = [..., path("sms/", include("smsstatus.django.urls"))]

then ``python3 manage.py migrate``, and give the gateway the URL
``https://your.host/sms/statuses/<SMSSTATUS_TOKEN>``.

Strategy: the app owns the ledger's tables (``smsstatus_delivery`` and its
``_event``, ``_webhook`` and ``_rejected`` tables), with the very layout that
`smsstatus.sql.StatusTable` creates and writes: the migrations run its ``create``,
the models (`~smsstatus.django.models.Delivery`, ``StatusEvent``, ``Webhook``,
``RejectedItem``) read them and the admin shows them, and the view writes each
delivery with one `StatusTable.receive` on Django's own connection, so the rule
that a status never goes backwards is applied by the database, in the writing
statement, however many processes receive at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smsstatus.sql import Sent

__all__ = ["register_sent"]


def register_sent(
    sent: Iterable[Sent | int], *, using: str | None = None
) -> frozenset[int]:
    """Record messages the application has sent (`StatusTable.register` on the
    database `~smsstatus.django.models.Delivery` is written to, or the alias
    `using`), so that a message the gateway never reports on is still known (and
    recovered).  Bare ints mean ``Sent(id)``.  Returns the ids recorded; inside a
    transaction of yours, it joins it (the rows are there once you commit)."""
    # Imported here: this package is imported before Django's apps are ready.
    from .ledger import register_sent as register

    return register(sent, using=using)
