"""Settings of the example project, read from the environment (see README.md).

- ``SMSSTATUS_TOKEN``: the secret part of the URL you give the gateway (required);
- ``SMSSTATUS_DATABASE``: the SQLite file (default ``statuses.sqlite3`` here);
- ``SMSSTATUS_TIMEZONE``: the zone of the gateway's times (default ``UTC``).
"""

import os
from pathlib import Path

import smsstatus

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "only-for-the-example")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = ["deliveries"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "statusproject.urls"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SMSSTATUS_DATABASE", BASE_DIR / "statuses.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# Django refuses (400) a body over DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB by default;
# a batch can be bigger, so allow smsstatus's own limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = smsstatus.Limits().max_bytes

SMSSTATUS_TOKEN = os.environ.get("SMSSTATUS_TOKEN", "")
SMSSTATUS_TIMEZONE = os.environ.get("SMSSTATUS_TIMEZONE", "UTC")
