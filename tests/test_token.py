"""The token check every adapter shares, and the access-log filter."""

from __future__ import annotations

import io
import logging

import pytest

from smsstatus import RedactToken
from smsstatus._token import MIN_TOKEN_LENGTH, check_token, token_matches

TOKEN = "k" * 31 + "Z"


@pytest.mark.parametrize("bad", [None, "", "sh0rt", "x" * 31, 42, b"y" * 40])
def test_check_token_refuses_missing_short_and_non_text_tokens(bad: object) -> None:
    with pytest.raises(ValueError, match="SMSSTATUS_TOKEN") as refused:
        check_token(bad)
    if isinstance(bad, str) and bad:
        assert bad not in str(refused.value)  # the message never shows the token


def test_check_token_names_the_setting_and_accepts_a_long_token() -> None:
    with pytest.raises(ValueError, match=r"^token is missing"):
        check_token("", setting="token")
    assert check_token(TOKEN) is TOKEN
    assert len(TOKEN) == MIN_TOKEN_LENGTH


@pytest.mark.parametrize(
    ("given", "matches"),
    [
        (TOKEN, True),
        (TOKEN[:-1], False),
        (TOKEN + "Z", False),
        (TOKEN[:-1] + "z", False),
        ("", False),
        ("\u00e9" * 32, False),  # non-ASCII: compared as bytes, no TypeError
        ("\ud800" * 32, False),  # a lone surrogate from a mangled URL
    ],
)
def test_token_matches_only_the_exact_token(given: str, matches: bool) -> None:
    assert token_matches(given, TOKEN) is matches


@pytest.mark.parametrize("expected", ["", "short", "x" * 31])
def test_a_short_configured_token_matches_nothing_not_even_itself(
    expected: str,
) -> None:
    assert token_matches(expected, expected) is False


def log_through_filter(logger_name: str, msg: object, *args: object) -> str:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactToken())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        logger.info(msg, *args)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return out.getvalue()


def test_redacts_the_token_in_a_positional_access_log_line() -> None:
    # The shape of Django's runserver and werkzeug's lines: the request line is an
    # argument.
    line = log_through_filter(
        "test.redact.args",
        '"%s" %s %s',
        f"POST /sms/statuses/{TOKEN}/ HTTP/1.1",
        200,
        512,
    )
    assert TOKEN not in line
    assert line == '"POST /sms/statuses/***/ HTTP/1.1" 200 512\n'


def test_redacts_the_token_in_named_arguments_and_in_the_message() -> None:
    # gunicorn's access log: a format with %(name)s atoms and a dict of them.
    line = log_through_filter(
        "test.redact.dict",
        '%(r)s %(U)s %(s)s "%(a)s"',
        {
            "r": f"POST /statuses/{TOKEN}?x=1 HTTP/1.1",
            "U": f"/statuses/{TOKEN}",
            "s": "200",
            "a": "curl",
        },
    )
    assert line == 'POST /statuses/***?x=1 HTTP/1.1 /statuses/*** 200 "curl"\n'
    line = log_through_filter("test.redact.msg", f"GET /statuses/{TOKEN} 404")
    assert line == "GET /statuses/*** 404\n"


def test_redacts_the_token_in_a_traceback_and_a_stack() -> None:
    # gunicorn's error log when a worker is aborted mid-request: the message, and
    # an exception whose text quotes the URL.
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactToken())
    logger = logging.getLogger("test.redact.traceback")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise RuntimeError(f"cannot handle /sms/statuses/{TOKEN}")
        except RuntimeError:
            logger.exception("Error handling request %s", f"/sms/statuses/{TOKEN}")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    log = out.getvalue()
    assert TOKEN not in log
    assert "Error handling request /sms/statuses/***\nTraceback" in log
    assert "RuntimeError: cannot handle /sms/statuses/***" in log


def test_redacts_the_token_in_a_formatted_traceback_and_a_stack() -> None:
    record = logging.LogRecord("x", logging.ERROR, "f", 1, "failed", None, None)
    record.exc_text = f'File "v.py", in post\nKeyError: "/statuses/{TOKEN}"'
    record.stack_info = f"Stack:\n  handle('/statuses/{TOKEN}/')"
    assert RedactToken().filter(record) is True
    assert record.exc_text == 'File "v.py", in post\nKeyError: "/statuses/***"'
    assert record.stack_info == "Stack:\n  handle('/statuses/***/')"


def test_redacts_the_token_in_arguments_that_are_not_text() -> None:
    # uvicorn's trace of each ASGI scope, a dict; a path as bytes.
    scope = {"path": f"/statuses/{TOKEN}", "raw_path": f"/statuses/{TOKEN}".encode()}
    line = log_through_filter("test.redact.objects", "%s [%d] %s", scope, 7, b"ok")
    assert TOKEN not in line
    assert line.endswith(
        "'path': '/statuses/***', 'raw_path': b'/statuses/***'} [7] b'ok'\n"
    )


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")


def test_an_argument_that_cannot_be_shown_is_left_to_the_handler() -> None:
    record = logging.LogRecord("x", logging.INFO, "f", 1, "%s", (Unprintable(),), None)
    assert RedactToken().filter(record) is True
    assert isinstance(record.args, tuple)
    assert isinstance(record.args[0], Unprintable)


def test_leaves_other_records_alone() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, "f", 1, "%s %d", ("/other/a", 3), None
    )
    assert RedactToken().filter(record) is True
    assert record.getMessage() == "/other/a 3"
    record = logging.LogRecord(
        "x", logging.INFO, "f", 1, ValueError("boom"), None, None
    )
    assert RedactToken().filter(record) is True
    assert record.getMessage() == "boom"


def test_dict_config_builds_the_filter_from_its_dotted_name() -> None:
    import logging.config

    out = io.StringIO()
    logging.config.dictConfig(
        {
            "version": 1,
            "incremental": False,
            "disable_existing_loggers": False,
            "filters": {"redact": {"()": "smsstatus.RedactToken"}},
            "handlers": {
                "out": {
                    "class": "logging.StreamHandler",
                    "stream": out,
                    "filters": ["redact"],
                }
            },
            "loggers": {
                "test.redact.config": {"handlers": ["out"], "propagate": False}
            },
        }
    )
    logger = logging.getLogger("test.redact.config")
    try:
        logger.warning("POST %s", f"/statuses/{TOKEN}")
    finally:
        for handler in logger.handlers[:]:
            logger.removeHandler(handler)
            handler.close()
    assert out.getvalue() == "POST /statuses/***\n"
