"""The models in the admin, read-only: statuses come from the gateway only.  A
message's page shows its history as a timeline."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Case, F, IntegerField, QuerySet, Value, When
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from smsstatus._model import _RANK

from .models import FINAL_STATES, Delivery, RejectedItem, StatusEvent, Webhook


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
    search_help_text = "An id_sms"

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
        if not term.isdecimal() or int(term) >= 2**63:
            return queryset.none(), False
        field = self.search_fields[0].lstrip("=")
        return queryset.filter(**{field: int(term)}), False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """The latest status of each message."""

    list_display = ("id_sms", "state", "final", "sms", "viber", "time", "changed_at")
    list_filter = ("state", FinalFilter)
    date_hierarchy = "changed_at"
    readonly_fields = ("timeline",)

    @admin.display(description="history")
    def timeline(self, delivery: Delivery) -> SafeString:
        """Every status the message went through, in the gateway's order."""
        return timeline(StatusEvent.objects.filter(id_sms=delivery.id_sms))

    @admin.display(boolean=True, ordering="state")
    def final(self, delivery: Delivery) -> bool:
        return delivery.is_final


@admin.register(RejectedItem)
class RejectedItemAdmin(ReadOnlyAdmin):
    """The items that were not valid statuses, as the gateway sent them."""

    list_display = ("received_at", "id_sms", "reason")
    date_hierarchy = "received_at"


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
                event.report().time or "",
                event.state,
                event.sms or "",
                event.viber or "",
                event.received_at,
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
        "<th>received</th><th>source</th><th>webhook</th></tr></thead>"
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

    list_display = ("id_sms", "state", "sms", "viber", "time", "received_at", "source")
    list_filter = ("source", "state")
    date_hierarchy = "received_at"


class RefusedFilter(admin.SimpleListFilter):
    """Deliveries refused (400) or read."""

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

    search_fields = ("=id",)
    search_help_text = "A webhook's id"
    list_display = (
        "id",
        "received_at",
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

    @admin.display(description="body")
    def body_text(self, webhook: Webhook) -> str:
        """The kept body as text (undecodable bytes replaced), or a dash."""
        if webhook.body is None:
            return "-"
        return bytes(webhook.body).decode("utf-8", "replace")
