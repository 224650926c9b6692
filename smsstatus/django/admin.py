"""Both models in the admin, read-only: statuses come from the gateway only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .dashboard import add_to
from .models import FINAL_STATES, Delivery, RejectedItem

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
        return queryset.filter(id_sms=int(term)), False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """The latest status of each message."""

    list_display = ("id_sms", "state", "final", "sms", "viber", "time", "changed_at")
    list_filter = ("state", FinalFilter)
    date_hierarchy = "changed_at"

    @admin.display(boolean=True, ordering="state")
    def final(self, delivery: Delivery) -> bool:
        return delivery.is_final


@admin.register(RejectedItem)
class RejectedItemAdmin(ReadOnlyAdmin):
    """The items that were not valid statuses, as the gateway sent them."""

    list_display = ("received_at", "id_sms", "reason")
    date_hierarchy = "received_at"
