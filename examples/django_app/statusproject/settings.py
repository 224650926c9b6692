"""Settings of the example project, read from the environment (see README.md).

Everything smsstatus needs is the two lines marked "smsstatus" below (the app in
INSTALLED_APPS and SMSSTATUS_TOKEN); the database's settings are the ones
docs/django.md recommends (persistent connections, WAL on SQLite); the rest is an
ordinary small project.

- ``SMSSTATUS_TOKEN``: the secret part of the URL you give the gateway (required,
  at least 32 characters: ``manage.py check`` says so otherwise);
- ``SMSSTATUS_TIMEZONE``: the zone of the gateway's times (default ``TIME_ZONE``);
- ``SMSSTATUS_DATABASE``: the SQLite file (default ``statuses.sqlite3`` here), or
  ``DATABASE_URL``: a PostgreSQL database, ``postgresql://user@host:port/name``
  (the host may be a socket directory, percent-encoded).
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import django

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "only-for-the-example")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "smsstatus.django",  # smsstatus
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "statusproject.urls"
WSGI_APPLICATION = "statusproject.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "static/"

if os.environ.get("DATABASE_URL"):
    url = urlsplit(os.environ["DATABASE_URL"])
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": url.path.lstrip("/"),
            "HOST": unquote(url.hostname or ""),
            "PORT": url.port or "",
            "USER": url.username or "",
            "PASSWORD": unquote(url.password or ""),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SMSSTATUS_DATABASE", BASE_DIR / "statuses.sqlite3"),
            # Several server processes write: wait up to 20 s for SQLite's lock.
            "OPTIONS": {"timeout": 20},
        }
    }
    if django.VERSION >= (5, 1):  # the WAL journal (older: see docs/django.md)
        DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA journal_mode=WAL"
# Keep each worker's connection between requests, checked before it is reused.
DATABASES["default"].update(CONN_MAX_AGE=600, CONN_HEALTH_CHECKS=True)
# On PostgreSQL, prepare the statements a connection repeats (Django does not by
# default, for poolers; docs/django.md says when to leave this out).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

SMSSTATUS_TOKEN = os.environ.get("SMSSTATUS_TOKEN", "")  # smsstatus
SMSSTATUS_TIMEZONE = os.environ.get("SMSSTATUS_TIMEZONE", TIME_ZONE)
