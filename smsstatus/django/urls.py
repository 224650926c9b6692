"""``path("sms/", include("smsstatus.django.urls"))`` gives ``sms/statuses/<token>``,
with or without a trailing slash, and ``sms/statuses/health`` (readiness).

Both forms are routes of their own, not an ``APPEND_SLASH`` redirect: a redirected
POST loses its body with most clients, the gateway's among them.  ``health`` comes
first; it can never be a token (tokens have at least 32 characters).
"""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "smsstatus"

urlpatterns = [
    path("statuses/health", views.health, name="health"),
    path("statuses/<str:token>", views.statuses, name="statuses"),
    path("statuses/<str:token>/", views.statuses),
]
