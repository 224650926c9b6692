"""gunicorn's settings for the example (read from the current directory): two worker
processes on 127.0.0.1:8000, an access log on stdout and an error log on stderr, in
both of which the secret token of ``/sms/statuses/<token>`` shows as ``***`` (the
filter smsstatus.RedactToken)."""

bind = "127.0.0.1:8000"
workers = 2
wsgi_app = "statusproject.wsgi"
# Merged into gunicorn's own logging configuration.  Both of its handlers get the
# filter: "console" writes the access log and what reaches the root logger (Django's
# request errors among it), "error_console" the error log, where a request that
# fails or whose worker is killed is logged with its URL and traceback.
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
            "filters": ["redact_token"],
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
