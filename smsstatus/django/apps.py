"""The app's configuration: label ``smsstatus``, system checks registered and the
observability settings applied when Django is ready."""

from __future__ import annotations

from django.apps import AppConfig


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

        enable_from_settings()
