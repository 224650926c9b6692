"""Django settings for ``bench/load.py``'s ``django`` receivers: the example project's
(examples/django_app: ``startproject``'s plus the README's lines), on the database the
load run names in its environment; with ``SMSSTATUS_LOAD_DJANGO=persistent``, plus the
persistent connections and health checks that docs/production.md recommends."""

import os

from statusproject.settings import *  # noqa: F403

kind, target, schema = os.environ["SMSSTATUS_LOAD_DATABASE"].split("\t")
if kind == "sqlite":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": target,
            "OPTIONS": {"timeout": 20},
        }
    }
else:
    fields = dict(field.split("=", 1) for field in target.split())
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": fields.get("dbname", "postgres"),
            "HOST": fields.get("host", ""),
            "PORT": fields.get("port", ""),
            "USER": fields.get("user", ""),
            "OPTIONS": {"options": f"-c search_path={schema}"},
        }
    }
if os.environ.get("SMSSTATUS_LOAD_DJANGO") == "persistent":
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
