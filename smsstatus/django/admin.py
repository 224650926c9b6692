"""The ledger's models in the admin, read-only: statuses come from the gateway only.

The lists show states by their labels, times to the second with their zone (in the
project's current zone), and find a message by the first digits of its id.  A
message's page shows its history as a timeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import reduce
from operator import or_
from typing import Any

from django.contrib import admin
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from smsstatus._model import _RANK

from .dashboard import add_to
from .models import FINAL_STATES, Delivery, RejectedItem, StatusEvent, Webhook

# The states' labels (docs/wire-format.md), in the order a message moves.
STATE_LABELS = {
    "send": "Sent",
    "partly_deliver": "Sent, no report",
    "deliver": "Delivered",
    "read": "Read",
    "not_deliver": "Not delivered",
    "expired": "Expired",
}
_MAX_ID = 2**63 - 1


def _label(state: str | None) -> str | None:
    return None if state is None else STATE_LABELS.get(state, state)


def _when(value: datetime | None) -> str | None:
    if value is None:
        return None
    if timezone.is_naive(value):  # USE_TZ = False
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")


def _column(
    field: str, description: str, show: Callable[[Any], str | None]
) -> Callable[[admin.ModelAdmin[Any], Any], str]:
    """A column (of the list and of the page) showing `field` through `show`, sorted
    by the field."""

    @admin.display(description=description, ordering=field)
    def column(model_admin: admin.ModelAdmin[Any], row: Any) -> str:
        shown = show(getattr(row, field))
        return model_admin.get_empty_value_display() if shown is None else shown

    return column


def _id_prefix(term: str) -> Q | None:
    """The ids whose decimal digits start with `term`, as index-friendly ranges (one
    per length: 51 is 51, 510-519, 5100-5199...); None when no id can match."""
    # 19 digits at most: int() of thousands would raise, and no id is that long.
    if not (term.isascii() and term.isdecimal()) or len(term) > 19:
        return None
    if int(term) > _MAX_ID:
        return None
    if term.startswith("0"):
        return Q(id_sms=0) if term == "0" else None
    low, high = int(term), int(term)
    ranges = []
    while low <= _MAX_ID:
        ranges.append(Q(id_sms__range=(low, min(high, _MAX_ID))))
        low, high = low * 10, high * 10 + 9
    return reduce(or_, ranges)


class StateFilter(admin.SimpleListFilter):
    """By state, named by its label (the parameter Django's own filter would use)."""

    title = "state"
    parameter_name = "state__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(STATE_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        state = self.value()
        return queryset.filter(state=state) if state in STATE_LABELS else queryset


# The delivery dashboard at admin/smsstatus/dashboard/ (see dashboard.py).
add_to(admin.site)


class FinalFilter(admin.SimpleListFilter):
    """Final (not_deliver, expired, read) or still moving."""

    title = "final"
    parameter_name = "final"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        final = queryset.filter(state__in=FINAL_STATES)
        choices: dict[str | None, QuerySet[Any]] = {
            "yes": final,
            "no": queryset.exclude(state__in=FINAL_STATES),
        }
        return choices.get(self.value(), queryset)


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Viewing only: no add, change or delete (and so no delete action)."""

    search_fields = ("=id_sms",)
    search_help_text = "An id_sms, or its first digits"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        # Ids are numbers: any other term finds nothing (instead of an error).
        term = search_term.strip()
        if not term:
            return queryset, False
        ids = _id_prefix(term)
        return (queryset.none() if ids is None else queryset.filter(ids)), False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """The latest status of each message."""

    list_display = ("id_sms", "state_", "final", "sms_", "viber_", "time_", "changed")
    list_filter = (StateFilter, FinalFilter)
    date_hierarchy = "changed_at"

    state_ = _column("state", "state", _label)
    sms_ = _column("sms", "sms", _label)
    viber_ = _column("viber", "viber", _label)
    time_ = _column("time", "time", _when)
    changed = _column("changed_at", "changed at", _when)
    # The page of one message shows the same columns.
    fields = readonly_fields = (
        "id_sms",
        "state_",
        "sms_",
        "viber_",
        "time_",
        "time_offset",
        "changed",
        "timeline",
    )

    @admin.display(description="history")
    def timeline(self, delivery: Delivery) -> SafeString:
        """Every status the message went through, in the gateway's order."""
        return timeline(StatusEvent.objects.filter(id_sms=delivery.id_sms))

    @admin.display(boolean=True, ordering="state", description="final")
    def final(self, delivery: Delivery) -> bool:
        return delivery.is_final


@admin.register(RejectedItem)
class RejectedItemAdmin(ReadOnlyAdmin):
    """The items that were not valid statuses, as the gateway sent them."""

    list_display = ("received", "id_sms_", "reason")
    date_hierarchy = "received_at"

    received = _column("received_at", "received at", _when)
    # The header Delivery's list shows (this field's verbose name is "id sms").
    id_sms_ = _column(
        "id_sms", "id_sms", lambda value: None if value is None else str(value)
    )
    fields = readonly_fields = ("received", "id_sms_", "reason", "raw")


# The ledger's history order: the report's time (none first), its progress rank,
# then arrival.
_BY_RANK = Case(
    *(When(state=status.value, then=Value(rank)) for status, rank in _RANK.items()),
    output_field=IntegerField(),
)


def timeline(events: QuerySet[StatusEvent]) -> SafeString:
    """The events as an HTML table, in the ledger's history order."""
    ordered = events.order_by(
        F("time").asc(nulls_first=True), _BY_RANK, "received_at", "id"
    )
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>",
        (
            (
                _when(event.time) or "",
                _label(event.state),
                _label(event.sms) or "",
                _label(event.viber) or "",
                _when(event.received_at),
                event.source,
                _webhook_link(event.webhook_id),
            )
            for event in ordered
        ),
    )
    if not rows:
        return format_html("<p>{}</p>", "No status received yet.")
    return format_html(
        "<table><thead><tr><th>time</th><th>state</th><th>sms</th><th>viber</th>"
        "<th>received at</th><th>source</th><th>webhook</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        rows,
    )


def _webhook_link(webhook_id: int | None) -> str:
    if webhook_id is None:
        return ""
    url = reverse("admin:smsstatus_webhook_change", args=[webhook_id])
    return format_html('<a href="{}">#{}</a>', url, webhook_id)


@admin.register(StatusEvent)
class StatusEventAdmin(ReadOnlyAdmin):
    """Every distinct status each message went through."""

    list_display = ("id_sms", "state_", "sms_", "viber_", "time_", "received", "source")
    list_filter = ("source", StateFilter)
    date_hierarchy = "received_at"

    state_ = _column("state", "state", _label)
    sms_ = _column("sms", "sms", _label)
    viber_ = _column("viber", "viber", _label)
    time_ = _column("time", "time", _when)
    received = _column("received_at", "received at", _when)


class RefusedFilter(admin.SimpleListFilter):
    """Deliveries refused (400), or read."""

    title = "refused"
    parameter_name = "refused"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        choices: dict[str | None, QuerySet[Any]] = {
            "yes": queryset.filter(refused__isnull=False),
            "no": queryset.filter(refused__isnull=True),
        }
        return choices.get(self.value(), queryset)


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    """Every delivery the gateway made, as answered; refused ones with their body."""

    list_display = (
        "id",
        "received",
        "remote",
        "format",
        "size",
        "code",
        "reports",
        "taken",
        "rejected",
        "refused",
    )
    list_filter = ("code", RefusedFilter, "format")
    date_hierarchy = "received_at"
    exclude = ("body",)
    readonly_fields = ("body_text",)

    received = _column("received_at", "received at", _when)

    def get_search_fields(self, request: HttpRequest) -> tuple[()]:
        return ()  # a delivery has no id_sms; the filters find it

    @admin.display(description="body")
    def body_text(self, webhook: Webhook) -> str:
        """The kept body as text (undecodable bytes replaced), or a dash."""
        if webhook.body is None:
            return "-"
        return bytes(webhook.body).decode("utf-8", "replace")
