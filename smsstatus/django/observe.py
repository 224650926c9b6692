"""Metrics, tracing and the log line turned on from the settings when Django is
ready: ``SMSSTATUS_METRICS``, ``SMSSTATUS_TRACING`` and ``SMSSTATUS_WEBLOG``, each
False by default (and then its package is never imported)."""

from __future__ import annotations

from django.conf import settings


def enable_from_settings() -> None:
    """Call the `enable` of each of `smsstatus.metrics`, `smsstatus.tracing` and
    `smsstatus.weblog` whose setting is true."""
    if getattr(settings, "SMSSTATUS_METRICS", False):
        from smsstatus import metrics

        metrics.enable()
    if getattr(settings, "SMSSTATUS_TRACING", False):
        from smsstatus import tracing

        tracing.enable()
    if getattr(settings, "SMSSTATUS_WEBLOG", False):
        from smsstatus import weblog

        weblog.enable()
