"""The Flask example app (examples/flask_app), driven by Flask's test client.

The blueprint itself is tested in test_flask.py; here, that the example wires it
as its README says."""

from __future__ import annotations

import logging
import sys
from contextlib import closing
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("flask")

import smsstatus
from smsstatus.sql import StatusTable, connect_sqlite

sys.path.insert(0, str(Path(__file__).parents[1] / "examples" / "flask_app"))
import flask_statuses

# The example keeps a connection per_thread, here on this thread (see the fixture).
pytestmark = pytest.mark.usefixtures("collect_on_this_thread")

EXAMPLES = Path(__file__).parents[1] / "examples"

TOKEN = "flask-example-token-0123456789abcdef"


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "statuses.sqlite3"


def make_app(database: Path, token: str = TOKEN):  # type: ignore[no-untyped-def]
    return flask_statuses.create_app(
        {
            "SMSSTATUS_TOKEN": token,
            "SMSSTATUS_DATABASE": str(database),
            "SMSSTATUS_TIMEZONE": "Europe/Moscow",
        }
    )


@pytest.mark.parametrize("name", ["statuses.xml", "statuses.json"])
def test_stores_the_example_payloads(database: Path, name: str) -> None:
    body = (EXAMPLES / name).read_bytes()
    client = make_app(database).test_client()
    response = client.post(f"/statuses/{TOKEN}", data=body)
    assert response.status_code == 200
    good = smsstatus.decode(body, tz=ZoneInfo("Europe/Moscow")).reports
    # Eleven good items; the twelfth is invalid, kept and so acknowledged too.
    (bad,) = smsstatus.decode(body).errors
    assert smsstatus.decode_ack(response.data, name.split(".")[1]) == (
        *(r.id_sms for r in good),
        bad.id_sms,
    )
    with closing(connect_sqlite(database)) as connection:
        assert StatusTable().load(connection, [r.id_sms for r in good]) == {
            r.id_sms: r for r in good
        }
    assert client.post("/statuses/wrong", data=body).status_code == 404


def test_needs_a_token(database: Path) -> None:
    with pytest.raises(ValueError, match="SMSSTATUS_TOKEN"):
        make_app(database, token="")


def test_a_request_that_fails_is_logged_without_the_token(
    database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The database goes away after start-up: the blueprint answers 503 (the
    # gateway retries) and logs one line on the smsstatus logger; Flask logs no
    # "Exception on <path>" (which would name the token).
    app = make_app(database)
    database.unlink()
    database.mkdir()  # a directory where the file was: SQLite cannot open it
    with caplog.at_level(logging.INFO):
        answer = app.test_client().post(
            f"/statuses/{TOKEN}", data=(EXAMPLES / "statuses.xml").read_bytes()
        )
    assert answer.status_code == 503
    (record,) = caplog.records
    assert record.name == "smsstatus"
    assert record.getMessage().startswith("delivery not stored, answered 503")
    assert TOKEN not in caplog.text
