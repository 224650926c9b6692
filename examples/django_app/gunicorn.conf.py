"""gunicorn's settings for the example (read from the current directory): two worker
processes on 127.0.0.1:8000, and an access log on stdout in which the secret token of
``/sms/statuses/<token>`` shows as ``***`` (the filter smsstatus.RedactToken)."""

bind = "127.0.0.1:8000"
workers = 2
wsgi_app = "statusproject.wsgi"
# Merged into gunicorn's own logging configuration: its "console" handler (the
# access log) gets the filter.
logconfig_dict = {
    "filters": {"redact_token": {"()": "smsstatus.RedactToken"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "stream": "ext://sys.stdout",
            "filters": ["redact_token"],
        },
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "stream": "ext://sys.stderr",
        },
    },
    "loggers": {
        "gunicorn.access": {
            "level": "INFO",
            "handlers": ["console"],
            "propagate": False,
        },
        "gunicorn.error": {
            "level": "INFO",
            "handlers": ["error_console"],
            "propagate": False,
        },
    },
}
