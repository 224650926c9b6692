"""The app's configuration: label ``smsstatus``; when Django is ready, the system
checks registered, the token kept out of Django's own request logs, and metrics,
tracing and the log line turned on as the settings say."""

from __future__ import annotations

import logging

from django.apps import AppConfig

from smsstatus import RedactToken

# Django's loggers that name a request's path, and so the token: "Bad Request:
# /sms/statuses/<token>" (django.request) and runserver's access log (django.server).
_REQUEST_LOGGERS = ("django.request", "django.server")


class SmsStatusConfig(AppConfig):
    """``INSTALLED_APPS += ["smsstatus.django"]`` picks this configuration."""

    name = "smsstatus.django"
    label = "smsstatus"
    verbose_name = "SMS delivery statuses"
    # Fixed here, so the shipped migration does not depend on the project's
    # DEFAULT_AUTO_FIELD.
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
        from .observe import enable_from_settings

        # On the loggers themselves, so every handler (Django's, the project's,
        # a test's) gets the redacted record, with or without the LOGGING recipe.
        for name in _REQUEST_LOGGERS:
            logging.getLogger(name).addFilter(RedactToken())
        enable_from_settings()
