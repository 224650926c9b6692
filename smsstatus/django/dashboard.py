"""The dashboard in the Django admin: ``admin/smsstatus/dashboard/``, for staff with
the view permission on `Delivery`, linked from the app's admin index.

Strategy: the admin site has no hook for a page of an app's own that is not a
model's, so `add_to` wraps the site's ``get_urls`` with one more URL (before the
site's own, whose catch-all would answer 404).  The page itself is
`smsstatus.dashboard`'s, made from the ledger through the raw connection of the
database `Delivery` is read from, inside the admin's template (its header, its
breadcrumbs and its light or dark theme, whose colour variables the page uses).
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.db import connections, router
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, URLResolver, path, reverse
from django.utils.safestring import mark_safe

from smsstatus.dashboard import Problem, collect, render
from smsstatus.sql import StatusTable

from .models import Delivery

__all__ = ["add_to"]

# The admin pages of a problem's row, by its kind.
_MODELS = {"rejected": "rejecteditem", "refused": "webhook"}


def _link(site: AdminSite, problem: Problem) -> str | None:
    try:
        return reverse(
            f"{site.name}:smsstatus_{_MODELS[problem.kind]}_change", args=[problem.id]
        )
    except NoReverseMatch:  # that model is not in this site
        return None


def _view(site: AdminSite) -> Any:
    def dashboard(request: HttpRequest) -> HttpResponse:
        # admin_view let in active staff only: an authenticated user.
        user: Any = request.user
        if not user.has_perm("smsstatus.view_delivery"):
            raise PermissionDenied
        connection = connections[router.db_for_read(Delivery)]
        connection.ensure_connection()
        overview = collect(connection.connection, StatusTable())
        html = render(overview, link=lambda problem: _link(site, problem))
        context = {
            **site.each_context(request),
            "title": "Delivery dashboard",
            "app_label": "smsstatus",
            "app_name": Delivery._meta.app_config.verbose_name,
            # Made, and escaped where needed, by render.
            "dashboard": mark_safe(html),
        }
        return TemplateResponse(request, "admin/smsstatus/dashboard.html", context)

    return site.admin_view(dashboard)


def add_to(site: AdminSite) -> None:
    """Serve the dashboard at ``<site>/smsstatus/dashboard/`` (URL name
    ``<site.name>:smsstatus_dashboard``)."""
    get_urls = site.get_urls

    def get_urls_with_dashboard() -> list[URLResolver | URLPattern]:
        dashboard = path(
            "smsstatus/dashboard/", _view(site), name="smsstatus_dashboard"
        )
        return [dashboard, *get_urls()]

    site.get_urls = get_urls_with_dashboard  # type: ignore[method-assign]
