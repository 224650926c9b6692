"""Django settings for ``bench/load.py``'s ``django`` receivers: the example project's
(examples/django_app: ``startproject``'s plus the README's lines: persistent
connections with health checks, the WAL journal on SQLite, prepared statements on
PostgreSQL), on the database the load run names in its environment; with
``SMSSTATUS_LOAD_DJANGO=per-request``, as 0.2 and 0.3 documented it before: a
connection per request, SQLite's own journal, no prepared statements."""

import os

from statusproject.settings import *  # noqa: F403

kind, target, schema = os.environ["SMSSTATUS_LOAD_DATABASE"].split("\t")
documented = DATABASES["default"]  # noqa: F405
if kind == "sqlite":
    DATABASES = {"default": {**documented, "NAME": target}}
else:
    fields = dict(field.split("=", 1) for field in target.split())
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": fields.get("dbname", "postgres"),
            "HOST": fields.get("host", ""),
            "PORT": fields.get("port", ""),
            "USER": fields.get("user", ""),
            # prepare_threshold as the README's lines set it on PostgreSQL.
            "OPTIONS": {"options": f"-c search_path={schema}", "prepare_threshold": 5},
            "CONN_MAX_AGE": documented["CONN_MAX_AGE"],
            "CONN_HEALTH_CHECKS": documented["CONN_HEALTH_CHECKS"],
        }
    }
if os.environ.get("SMSSTATUS_LOAD_DJANGO") == "per-request":
    DATABASES["default"].update(CONN_MAX_AGE=0, CONN_HEALTH_CHECKS=False)
    DATABASES["default"]["OPTIONS"].pop("init_command", None)
    DATABASES["default"]["OPTIONS"].pop("prepare_threshold", None)
