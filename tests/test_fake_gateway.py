"""smsstatus.testing.FakeGateway: the gateway's endpoints as a client meets them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

import pytest

from smsstatus import Status, StatusReport, build_ack, decode
from smsstatus.pull import Credentials, decode_state_answer, state_request
from smsstatus.testing import FakeGateway

SENT = StatusReport(1, None, Status.SEND)
DELIVERED = StatusReport(1, datetime(2026, 1, 2, 3, 4, 5), Status.DELIVER)
READ = StatusReport(2, datetime(2026, 1, 2, 3, 4, 6), Status.READ, viber=Status.READ)


def post(url: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


@pytest.fixture
def gateway() -> Any:
    with FakeGateway() as running:
        yield running


def test_it_answers_each_message_latest_status(gateway: FakeGateway) -> None:
    gateway.add(SENT, READ)
    gateway.add(DELIVERED)
    assert gateway.history(1) == (SENT, DELIVERED)
    assert gateway.latest() == {1: DELIVERED, 2: READ}
    for format in ("xml", "json"):
        request = state_request([2, 1, 3], gateway.credentials, format=format)
        status, body = post(gateway.url + request.path, request.body)
        assert status == 200
        assert decode_state_answer(body).batch.reports == (READ, DELIVERED)
    assert [p.ids for p in gateway.pulled] == [(2, 1, 3), (2, 1, 3)]


def test_the_json_answer_is_the_gateway_shape(gateway: FakeGateway) -> None:
    gateway.add(DELIVERED, parts=3, price="10.6000000")
    request = state_request([1], gateway.credentials, format="json", detail=True)
    status, body = post(gateway.url + request.path, request.body)
    assert status == 200
    assert body == (
        b'[{"id_sms": 1, "state": "deliver", "time_change_state": '
        b'"2026-01-02 03:04:05", "num_parts": 3, "price": 10.6000000}]'
    )


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("/xml/state.php", b"", 200, "POST data is missing"),
        ("/xml/state.php", b"  \n", 200, "POST data is missing"),
        (
            "/xml/state.php",
            b"<request><security>",
            200,
            "Incorrect XML document format",
        ),
        ("/json/state.php", b"", 400, "POST data is missing"),
        ("/json/state.php", b"[{", 400, "Incorrect JSON document format"),
        ("/json/state.php", b"[]", 400, "Incorrect JSON document format"),
        ("/json/state.php", b"[1]", 400, "Incorrect JSON document format"),
        ("/json/state.php", b'"x"', 400, "Incorrect JSON document format"),
    ],
)
def test_malformed_requests_get_the_error_documents(
    gateway: FakeGateway, path: str, body: bytes, status: int, error: str
) -> None:
    answer_status, answer = post(gateway.url + path, body)
    assert answer_status == status
    if path.startswith("/xml"):
        assert answer.endswith(
            f"<response>\n  <error>{error}</error>\n</response>\n".encode()
        )
    else:
        assert json.loads(answer) == {"error": error}
    assert gateway.pulled[-1].ids is None


def test_requests_that_read_but_ask_wrongly(gateway: FakeGateway) -> None:
    good = gateway.credentials.fields()
    cases = [
        ("/json/state.php", {**good, "id_sms": "1"}, "Incorrect JSON document format"),
        (
            "/json/state.php",
            {**good, "id_sms": 1, "detail": 2},
            "Incorrect JSON document format",
        ),
        ("/json/state.php", {"token": "x", "id_sms": 1}, "Incorrect login or password"),
    ]
    for path, item, error in cases:
        _, answer = post(gateway.url + path, json.dumps(item).encode())
        assert json.loads(answer) == {"error": error}
    login = state_request([1], gateway.credentials).body
    no_ids = login.replace(b"<id_sms>1</id_sms>", b"")
    bad_id = login.replace(b"<id_sms>1</id_sms>", b"<id_sms>one</id_sms>")
    for body in (no_ids, bad_id):
        _, answer = post(gateway.url + "/xml/state.php", body)
        assert b"<error>Incorrect XML document format</error>" in answer
    wrong = state_request([1], Credentials(login="test", password="wrong")).body
    _, answer = post(gateway.url + "/xml/state.php", wrong)
    assert b"<error>Incorrect login or password</error>" in answer


def test_other_paths_and_huge_requests_are_refused(gateway: FakeGateway) -> None:
    assert post(gateway.url + "/send.php", b"x")[0] == 404
    request = urllib.request.Request(
        gateway.url + "/xml/state.php",
        data=b"x",
        headers={"Content-Length": str(2 << 20)},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    info.value.close()
    assert info.value.code == 413


def test_the_url_exists_only_while_running() -> None:
    gateway = FakeGateway("json", credentials=Credentials(token="t"))
    with pytest.raises(RuntimeError):
        gateway.url  # noqa: B018
    with gateway:
        assert gateway.base_url.startswith("http://127.0.0.1:")
        assert gateway.format.value == "json"
    with pytest.raises(RuntimeError):
        gateway.base_url  # noqa: B018


def test_push_delivers_with_the_retry_rule_and_remembers_the_lost(
    gateway: FakeGateway, serve: Any
) -> None:
    taken: list[int] = []
    refuse = {2}

    def app(environ: Any, start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        ids = [r.id_sms for r in decode(body).reports if r.id_sms not in refuse]
        taken.extend(ids)
        ack = build_ack(ids, "xml")
        start_response("200 OK", [("Content-Type", ack.content_type)])
        return [ack.body]

    url = serve(app)
    gateway.add(SENT, READ)
    delivery = gateway.push(url)
    assert delivery.lost == {2} == gateway.lost
    assert len(delivery.attempts) == 5  # the first, then 4 retries of id 2
    assert taken == [1]
    refuse.clear()
    gateway.add(DELIVERED)
    assert gateway.push(url).lost == frozenset()
    assert gateway.lost == {2}  # what was lost stays lost
    assert taken == [1, 1]
    assert gateway.push(url).attempts == ()  # nothing new to push


def test_a_slow_answer_ends_when_the_gateway_closes() -> None:
    with FakeGateway() as gateway:
        gateway.misbehave("slow", delay=60)
        request = state_request([1], gateway.credentials)
        with pytest.raises(TimeoutError):
            urllib.request.urlopen(
                urllib.request.Request(gateway.url + request.path, data=request.body),
                timeout=0.2,
            )
    # Closing woke the slow handler up instead of waiting a minute for it.


def test_a_request_without_a_readable_length_is_refused(gateway: FakeGateway) -> None:
    import http.client

    connection = http.client.HTTPConnection(
        "127.0.0.1", int(gateway.url.rsplit(":", 1)[1])
    )
    try:
        connection.putrequest("POST", "/xml/state.php")
        connection.putheader("Content-Length", "many")
        connection.endheaders()
        assert connection.getresponse().status == 413
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("kind", "options", "match"),
    [
        ("5xx", {"status": 999}, "status must be an int from 500 to 599"),
        ("5xx", {"status": 404}, "status must be an int from 500 to 599"),
        ("answer", {"status": 99}, "status must be an int from 100 to 599"),
        ("answer", {"status": "200"}, "status must be an int"),
        ("slow", {"delay": -1}, "delay"),
        ("slow", {"delay": float("nan")}, "delay"),
        ("drop", {"times": 0}, "times"),
        ("sloww", {}, "kind must be one of"),
    ],
)
def test_misbehave_refuses_what_cannot_be_done(
    gateway: FakeGateway, kind: Any, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        gateway.misbehave(kind, **options)
    with pytest.raises(TypeError, match="body must be bytes"):
        gateway.misbehave("answer", body="text")  # type: ignore[arg-type]
    # Nothing was queued: the next request is answered as it should be.
    status, _ = post(gateway.url + "/xml/state.php", b"")
    assert status == 200


def test_misbehave_sends_any_status_it_accepts(gateway: FakeGateway) -> None:
    gateway.misbehave("5xx", status=599, body=b"odd")
    gateway.misbehave("answer", status=299, body=b"odder")
    assert post(gateway.url + "/xml/state.php", b"") == (599, b"odd")
    assert post(gateway.url + "/xml/state.php", b"") == (299, b"odder")
