"""smsstatus.pull: the request, the answer and the HTTP, against a real local server.

Every HTTP test talks to a `FakeGateway` on 127.0.0.1; the secrets are checked for in
every message, repr, exception chain and log record the code produces.
"""

from __future__ import annotations

import http.server
import json
import logging
import pickle
import re
import ssl
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

import pytest
from _raw_server import RawServer, dripping
from hypothesis import given
from hypothesis import strategies as st

import smsstatus
from smsstatus import (
    DecodeError,
    Format,
    Limits,
    PayloadTooLarge,
    Status,
    StatusReport,
    UnsafePayload,
    decode,
    encode_json,
    encode_xml,
)
from smsstatus.pull import (
    Answer,
    Credentials,
    Detail,
    GatewayRefused,
    GatewayUnavailable,
    StateRequest,
    decode_state_answer,
    fetch_states,
    state_request,
)
from smsstatus.strategies import hostile_payloads, json_payloads, xml_payloads
from smsstatus.testing import FakeGateway, sample_reports

DATA = Path(__file__).parent / "data"
PASSWORD = "pa$$-W0rd&<\"'"
TOKEN = "tok-1f2e3d4c5b6a"
BY_LOGIN = Credentials(login="shop", password=PASSWORD)
BY_TOKEN = Credentials(token=TOKEN)
SECRETS = (PASSWORD, TOKEN)


def assert_no_secret(*texts: object) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in str(text)


def assert_clean_exception(exc: BaseException) -> None:
    """No secret in the exception, its args, its repr, or anything chained to it."""
    seen: BaseException | None = exc
    while seen is not None:
        assert_no_secret(str(seen), repr(seen), *map(repr, seen.args))
        assert_no_secret(*(repr(v) for v in vars(seen).values()))
        seen = seen.__cause__ or seen.__context__


# --- Credentials ----------------------------------------------------------------


def test_credentials_never_show_a_secret() -> None:
    assert (
        repr(BY_LOGIN) == str(BY_LOGIN) == "Credentials(login='shop', password='***')"
    )
    assert repr(BY_TOKEN) == "Credentials(token='***')"
    assert_no_secret(repr(BY_LOGIN), repr(BY_TOKEN), f"{BY_LOGIN} {BY_TOKEN!r}")
    assert Credentials(login="shop", password=PASSWORD) == BY_LOGIN
    assert BY_LOGIN.fields() == {"login": "shop", "password": PASSWORD}
    assert BY_TOKEN.fields() == {"token": TOKEN}


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"login": "shop"},
        {"password": PASSWORD},
        {"login": "shop", "password": PASSWORD, "token": TOKEN},
        {"password": PASSWORD, "token": TOKEN},
        {"login": "shop", "token": TOKEN},
        {"token": ""},
        {"login": "shop", "password": ""},
        {"token": "a\x00b" + TOKEN},
        {"token": "\ud800" + TOKEN},
    ],
)
def test_credentials_are_a_token_or_a_login_and_password(fields: Any) -> None:
    with pytest.raises(ValueError, match=r"token|empty|character") as info:
        Credentials(**fields)
    assert_clean_exception(info.value)


def test_credentials_must_be_strings() -> None:
    with pytest.raises(TypeError):
        Credentials(token=b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Credentials("shop", PASSWORD)  # type: ignore[misc]


def test_redact_replaces_every_credential() -> None:
    text = f"login shop with {PASSWORD} failed ({PASSWORD})"
    assert BY_LOGIN.redact(text) == "login *** with *** failed (***)"
    assert BY_TOKEN.redact(f"bad key {TOKEN}") == "bad key ***"


# Secrets that a text shows in other forms than they were given in.
AWKWARD = ["two  spaces", "a\ttab", "Q&<>\"'Zk", "caf\u00e9 \u0436 \\"]


def pieces(secret: str, size: int = 4) -> set[str]:
    """Every run of `size` characters of `secret`, and of its collapsed form."""
    collapsed = " ".join(secret.split())
    return {
        s[at : at + size]
        for s in (secret, collapsed)
        for at in range(len(s) - size + 1)
    }


def assert_no_piece(text: str, secret: str) -> None:
    shown = [piece for piece in pieces(secret) if piece in text]
    assert not shown, f"{shown} of the secret in {text!r}"


@pytest.mark.parametrize("secret", AWKWARD)
def test_redact_finds_a_credential_in_every_form_a_text_shows_it_in(
    secret: str,
) -> None:
    credentials = Credentials(login="shop", password=secret)
    forms = [
        secret,
        quoteattr(secret)[1:-1],  # the XML request's
        xml_escape(secret),
        json.dumps(secret)[1:-1],  # the JSON request's
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        " ".join(secret.split()),
        " ".join(json.dumps(secret)[1:-1].split()),
    ]
    for form in forms:
        redacted = credentials.redact(f"<{form}>")
        assert redacted == "<***>", form


@pytest.mark.parametrize("secret", [PASSWORD, *AWKWARD])
def test_redact_takes_a_credential_cut_by_an_ellipsis(secret: str) -> None:
    credentials = Credentials(login="shop", password=secret)
    for at in range(1, len(secret)):
        text = f"got <{secret[:at]}…> and <…{secret[at:]}>"
        assert credentials.redact(text) == "got <***…> and <…***>"


# --- state_request ----------------------------------------------------------------


def test_the_xml_request_is_the_documented_one() -> None:
    request = state_request([4007, 4008, 4007], Credentials(login="L", password="P"))
    assert request == StateRequest(
        "/xml/state.php",
        b'<?xml version="1.0" encoding="utf-8" ?>\n<request>\n'
        b'  <security>\n    <login value="L" />\n    <password value="P" />\n'
        b"  </security>\n  <get_state>\n    <id_sms>4007</id_sms>\n"
        b"    <id_sms>4008</id_sms>\n  </get_state>\n</request>\n",
        "text/xml; charset=utf-8",
        Format.XML,
    )
    assert "body" not in repr(request)


def test_the_xml_request_escapes_and_carries_a_token() -> None:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(state_request([1], BY_LOGIN).body)
    assert root.find("security/password").get("value") == PASSWORD  # type: ignore[union-attr]
    root = ET.fromstring(state_request(iter([2, 3]), BY_TOKEN).body)
    assert [e.tag for e in root.find("security")] == ["token"]  # type: ignore[union-attr]
    assert [e.text for e in root.iter("id_sms")] == ["2", "3"]


@pytest.mark.parametrize("detail", [False, True])
def test_the_json_request_is_one_object_per_id(detail: bool) -> None:
    request = state_request((7, 5, 7), BY_LOGIN, format="json", detail=detail)
    assert (request.path, request.content_type, request.format) == (
        "/json/state.php",
        "text/json; charset=utf-8",
        Format.JSON,
    )
    flag = int(detail)
    assert json.loads(request.body) == [
        {"login": "shop", "password": PASSWORD, "id_sms": 7, "detail": flag},
        {"login": "shop", "password": PASSWORD, "id_sms": 5, "detail": flag},
    ]
    by_token = state_request([1], BY_TOKEN, format=Format.JSON)
    assert json.loads(by_token.body) == [{"token": TOKEN, "id_sms": 1, "detail": 0}]


@pytest.mark.parametrize(
    "ids", [[], [-1], [1, True], [1.0], ["12"], "12", b"12", [None], [10**30 * -1]]
)
def test_state_request_refuses_bad_ids(ids: Any) -> None:
    with pytest.raises(ValueError, match=r"id_sms|not a string"):
        state_request(ids, BY_LOGIN)


def test_state_request_refuses_detail_in_xml_and_bad_arguments() -> None:
    with pytest.raises(ValueError, match="JSON"):
        state_request([1], BY_LOGIN, detail=True)
    with pytest.raises(ValueError, match="format"):
        state_request([1], BY_LOGIN, format="csv")
    with pytest.raises(TypeError):
        state_request([1], {"token": TOKEN})  # type: ignore[arg-type]


# --- decode_state_answer ------------------------------------------------------------


def test_an_xml_answer_is_the_webhook_document() -> None:
    body = (DATA / "gateway-example.xml").read_bytes()
    zone = timezone.utc
    assert decode_state_answer(body, tz=zone) == Answer(decode(body, tz=zone), {})


def test_the_documented_json_answer() -> None:
    body = (
        b'[{"id_sms": 82216, "time_change_state": "2021-04-26 15:15:03", '
        b'"state": "deliver", "num_parts": 1, "price": 10.6000000}]'
    )
    answer = decode_state_answer(body)
    report = StatusReport(82216, datetime(2021, 4, 26, 15, 15, 3), Status.DELIVER)
    assert answer.batch.reports == (report,)
    assert answer.batch.format is Format.JSON
    detail = answer.details[82216]
    assert detail == Detail(1, Decimal("10.6000000"))
    assert type(detail.price) is Decimal
    assert str(detail.price) == "10.6000000"  # exact, never through a float


def test_time_change_state_wins_over_time() -> None:
    body = json.dumps(
        [
            {"id_sms": 1, "time": "2020-01-01 00:00:00", "state": "send"},
            {
                "id_sms": "2",
                "time": "garbage",
                "time_change_state": "2021-02-03 04:05:06",
                "state": "read",
            },
            {"id_sms": 3, "time_change_state": "", "state": "send"},
        ]
    )
    reports = decode_state_answer(body).batch.reports
    assert [r.time for r in reports] == [
        datetime(2020, 1, 1),
        datetime(2021, 2, 3, 4, 5, 6),
        None,
    ]


@pytest.mark.parametrize(
    ("parts", "price", "detail"),
    [
        ("2", '"0.25"', Detail(2, Decimal("0.25"))),
        ('" 3"', "7", Detail(3, Decimal(7))),
        (None, "1.50", Detail(None, Decimal("1.50"))),
        ("1", "1e400", Detail(1, Decimal("1e400"))),
        ("-1", '"NaN"', Detail(None, None)),
        ("true", '"1e3"', Detail(None, None)),
        ("1.5", "[1]", Detail(None, None)),
        ('"x"', '"12.5.1"', Detail(None, None)),
        ("null", "false", Detail(None, None)),
        # More digits than int() converts: void, not a ValueError out of the decoder.
        ('"' + "9" * 5000 + '"', "1", Detail(None, Decimal(1))),
        # An exponent past what Decimal holds: void, not decimal.InvalidOperation.
        ("1", "1e9999999999999999999", Detail(1, None)),
        ("1", "-1.5e-9999999999999999999", Detail(1, None)),
    ],
)
def test_details_keep_valid_values_and_void_the_rest(
    parts: str | None, price: str, detail: Detail
) -> None:
    fields = f'"num_parts": {parts}, ' if parts is not None else ""
    body = f'{{"id_sms": 9, "time": "", "state": "send", {fields}"price": {price}}}'
    answer = decode_state_answer(body)
    assert answer.batch.reports == (StatusReport(9, None, Status.SEND),)
    assert answer.details == {9: detail}


def test_a_number_decimal_cannot_hold_is_ignored_under_an_unknown_key() -> None:
    body = b'{"id_sms": 9, "time": "", "state": "send", "x": 1e9999999999999999999}'
    answer = decode_state_answer(body)
    assert answer.batch.reports == (StatusReport(9, None, Status.SEND),)
    assert answer.details == {}


def test_details_only_for_items_that_carry_them() -> None:
    body = (
        b'[{"id_sms": 1, "time": "", "state": "send"},'
        b' {"id_sms": 2, "time": "", "state": "send", "price": 0.1000},'
        b' {"id_sms": "x", "state": "send", "price": 1.25}]'
    )
    answer = decode_state_answer(body)
    assert dict(answer.details) == {2: Detail(None, Decimal("0.1000"))}
    (error,) = answer.batch.errors
    assert (error.index, error.id_sms) == (2, None)
    assert json.loads(error.raw) == {"id_sms": "x", "state": "send", "price": 1.25}


def test_json_items_that_are_not_objects_are_errors() -> None:
    answer = decode_state_answer(b'[1, "x", null, [], {"id_sms": 4, "state": "read"}]')
    assert [e.index for e in answer.batch.errors] == [0, 1, 2, 3]
    assert [e.raw for e in answer.batch.errors] == ["1", '"x"', "null", "[]"]
    assert answer.batch.reports == (StatusReport(4, None, Status.READ),)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<error>Incorrect login or password</error>", "Incorrect login or password"),
        (
            b'<?xml version="1.0" encoding="utf-8" ?>\n<response>\n'
            b"  <error> Incorrect XML document format </error>\n</response>",
            "Incorrect XML document format",
        ),
        (b"<response><error/></response>", "(no error text)"),
        (b'{"error": "Your account is locked"}', "Your account is locked"),
        (b'[{"error": "POST data is missing"}]', "POST data is missing"),
        (b'{"error": {"code": 5}}', '{"code": 5}'),
        (b'{"error": "Incorrect\\n\\tlogin "}', "Incorrect login"),
    ],
)
def test_the_gateway_error_documents_are_refusals(body: bytes, message: str) -> None:
    with pytest.raises(GatewayRefused) as info:
        decode_state_answer(body)
    assert info.value.message == message == str(info.value)
    assert isinstance(info.value, smsstatus.SmsStatusError)


def test_a_long_error_text_is_cut() -> None:
    with pytest.raises(GatewayRefused) as info:
        decode_state_answer(b"<error>" + b"x" * 10_000 + b"</error>")
    assert len(info.value.message) == 200


@pytest.mark.parametrize(
    "body",
    [
        # An error beside a state is not a refusal: the state is read.
        b'<response><error>x</error><state id_sms="1" time="">send</state></response>',
        # An error deeper down is only an unknown element.
        b'<response><state id_sms="1" time="">send<error>x</error></state></response>',
        b'[{"error": "x", "id_sms": 1, "state": "send"}]',
    ],
)
def test_an_error_beside_states_is_not_a_refusal(body: bytes) -> None:
    assert decode_state_answer(body).batch.reports == (
        StatusReport(1, None, Status.SEND),
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", DecodeError),
        (b"hello", DecodeError),
        (b"<error>unclosed", DecodeError),
        (b"<request/>", DecodeError),
        (b'"error"', DecodeError),
        (b'{"error": "x"', DecodeError),
        (b'<!DOCTYPE e [<!ENTITY a "b">]><error>&a;</error>', UnsafePayload),
        (b"<error>" + b"<a>" * 70 + b"</error>", DecodeError),
    ],
)
def test_bad_documents_are_decode_errors(body: bytes, error: type) -> None:
    with pytest.raises(error):
        decode_state_answer(body)


def test_limits_apply_to_answers() -> None:
    items = encode_json([StatusReport(i, None, Status.SEND) for i in range(3)])
    with pytest.raises(PayloadTooLarge):
        decode_state_answer(items, limits=Limits(max_reports=2))
    with pytest.raises(PayloadTooLarge):
        decode_state_answer(items, limits=Limits(max_bytes=10))
    xml = encode_xml([StatusReport(i, None, Status.SEND) for i in range(3)])
    with pytest.raises(PayloadTooLarge):
        decode_state_answer(xml, limits=Limits(max_reports=2))


def test_the_element_limit_applies_before_an_error_is_looked_for() -> None:
    # The look for the gateway's <error> walks elements in Python, as decode does:
    # it stops where decode stops, so a body of countless elements costs no more.
    body = b"<response>" + b"<a/>" * 200 + b"<error>x</error></response>"
    with pytest.raises(GatewayRefused):
        decode_state_answer(body)
    with pytest.raises(PayloadTooLarge, match="XML elements"):
        decode(body, limits=Limits(max_reports=10))
    with pytest.raises(PayloadTooLarge, match="XML elements"):
        decode_state_answer(body, limits=Limits(max_reports=10))


@pytest.mark.parametrize(
    "path", sorted((DATA / "hostile").glob("*.xml")), ids=lambda path: path.name
)
def test_the_attack_files_fare_as_with_decode(path: Path) -> None:
    body = path.read_bytes()
    # Each answer also carries an <error>, so the refusal scan meets the attack too.
    with_error = body.replace(b"<response>", b"<response><error>x</error>", 1)
    for answer in (body, with_error):
        try:
            expected = decode(answer)
        except DecodeError as exc:
            refused: type[DecodeError] | None = type(exc)
        else:
            refused = None
        if refused is None:
            assert decode_state_answer(answer).batch == expected
        else:
            with pytest.raises(refused):
                decode_state_answer(answer)


@given(hostile_payloads())
def test_hostile_answers_are_refused_or_isolated_as_decode_does(body: bytes) -> None:
    try:
        expected = decode(body)
    except DecodeError as exc:
        refused: type[DecodeError] = type(exc)
    else:
        refused = None
    if refused is not None:
        with pytest.raises(DecodeError) as info:
            decode_state_answer(body)
        assert type(info.value) is refused
        return
    batch = decode_state_answer(body).batch
    assert batch.reports == expected.reports
    assert [(e.index, e.id_sms) for e in batch.errors] == [
        (e.index, e.id_sms) for e in expected.errors
    ]


@given(st.one_of(xml_payloads(), json_payloads()))
def test_valid_documents_read_as_decode_reads_them(body: bytes) -> None:
    assert decode_state_answer(body).batch == decode(body)


# --- fetch_states over HTTP ------------------------------------------------------


@pytest.fixture
def gateway() -> Any:
    with FakeGateway("xml", credentials=BY_LOGIN) as running:
        yield running


REPORTS = sample_reports(230, seed=10)
IDS = [report.id_sms for report in REPORTS]


@pytest.mark.parametrize("format", ["xml", "json"])
def test_fetch_states_in_chunks_merges_the_answers(gateway: Any, format: str) -> None:
    gateway.add(*REPORTS)
    asked = iter([*IDS, IDS[0], 12345])  # a duplicate and an id the gateway lacks
    answer = fetch_states(asked, BY_LOGIN, base_url=gateway.url, format=format)
    assert answer.batch.reports == tuple(REPORTS)
    assert answer.batch.format is Format(format)
    assert [p.ids for p in gateway.pulled] == [
        tuple(IDS[:100]),
        tuple(IDS[100:200]),
        (*IDS[200:], 12345),
    ]


def test_fetch_states_with_detail(gateway: Any) -> None:
    gateway.add(*REPORTS[:3], parts=2, price="1.2500000")
    answer = fetch_states(
        IDS[:3], BY_LOGIN, base_url=gateway.url, format="json", detail=True
    )
    assert answer.details == {i: Detail(2, Decimal("1.2500000")) for i in IDS[:3]}
    assert str(answer.details[IDS[0]].price) == "1.2500000"
    assert gateway.pulled[-1].detail


def test_base_url_keeps_its_path_and_loses_its_slash(gateway: Any) -> None:
    gateway.add(*REPORTS[:1])
    with pytest.raises(GatewayUnavailable, match=r"/api/xml/state\.php: HTTP 404"):
        fetch_states(IDS[:1], BY_LOGIN, base_url=gateway.url + "/api/")
    answer = fetch_states(IDS[:1], BY_LOGIN, base_url=gateway.url + "//")
    assert answer.batch.reports == (REPORTS[0],)


def test_ids_the_gateway_was_not_asked_about_are_kept(gateway: Any) -> None:
    extra = StatusReport(99, None, Status.SEND)
    gateway.misbehave("answer", body=encode_xml([REPORTS[0], extra]))
    answer = fetch_states(IDS[:1], BY_LOGIN, base_url=gateway.url)
    assert answer.batch.reports == (REPORTS[0], extra)


def test_merged_errors_count_on_across_chunks(gateway: Any) -> None:
    bad = b'<response><state id_sms="1" time="">sent</state></response>'
    gateway.misbehave("answer", body=bad, times=2)
    answer = fetch_states([1, 2], BY_LOGIN, base_url=gateway.url, chunk_size=1)
    assert [(e.index, e.id_sms) for e in answer.batch.errors] == [(0, 1), (1, 1)]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ids": []}, "no id_sms"),
        ({"ids": [1, -2]}, "id_sms"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"chunk_size": 2.5}, "chunk_size"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"base_url": "ftp://127.0.0.1"}, "http"),
        ({"base_url": "127.0.0.1:80"}, "http"),
        ({"base_url": "http://127.0.0.1:99999"}, "not a URL"),
        ({"base_url": f"http://shop:{TOKEN}@127.0.0.1"}, "user"),
        ({"base_url": "http://127.0.0.1/?a=1"}, "query"),
        ({"detail": True}, "JSON"),
        ({"format": "yaml"}, "format"),
    ],
)
def test_bad_arguments_fail_before_any_request(
    gateway: Any, kwargs: dict[str, Any], match: str
) -> None:
    arguments: dict[str, Any] = {"ids": [1], "base_url": gateway.url, **kwargs}
    with pytest.raises(ValueError, match=match) as info:
        fetch_states(arguments.pop("ids"), BY_TOKEN, **arguments)
    assert gateway.pulled == ()
    assert_clean_exception(info.value)


@pytest.mark.parametrize("credentials", [BY_LOGIN, BY_TOKEN])
@pytest.mark.parametrize("format", ["xml", "json"])
def test_wrong_credentials_are_refused(
    credentials: Credentials, format: str, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    other = Credentials(login="shop", password="another " + PASSWORD)
    with (
        FakeGateway(credentials=other) as gateway,
        pytest.raises(GatewayRefused) as info,
    ):
        fetch_states([1], credentials, base_url=gateway.url, format=format)
    assert info.value.message == "Incorrect login or password"
    assert_clean_exception(info.value)
    assert_no_secret(*(r.getMessage() for r in caplog.records))


def test_a_structured_refusal_repeating_a_secret_is_redacted(gateway: Any) -> None:
    # An error that is an object is shown as JSON, where the password's quote is
    # escaped (and a non-ASCII one would be \u-escaped): the secret in that form.
    secret = PASSWORD + "ж"
    body = json.dumps({"error": {"login": "shop", "password": secret}}).encode()
    gateway.misbehave("answer", body=body, status=400)
    credentials = Credentials(login="shop", password=secret)
    with pytest.raises(GatewayRefused) as info:
        fetch_states([1], credentials, base_url=gateway.url, format="json")
    assert info.value.message == '{"login": "***", "password": "***"}'


@pytest.mark.parametrize("format", ["xml", "json"])
def test_a_refusal_repeating_a_secret_is_redacted(gateway: Any, format: str) -> None:
    text = f"password {PASSWORD} is wrong for shop"
    if format == "xml":
        escaped = text.replace("&", "&amp;").replace("<", "&lt;")
        body, status = f"<error>{escaped}</error>".encode(), 200
    else:
        body, status = json.dumps({"error": text}).encode(), 400
    gateway.misbehave("answer", body=body, status=status)
    with pytest.raises(GatewayRefused) as info:
        fetch_states([1], BY_LOGIN, base_url=gateway.url, format=format)
    assert info.value.message == "password *** is wrong for ***"
    assert_clean_exception(info.value)


@pytest.mark.parametrize("format", ["xml", "json"])
@pytest.mark.parametrize("secret", [PASSWORD, *AWKWARD])
def test_a_refusal_text_is_redacted_before_it_is_cut_or_collapsed(
    gateway: Any, format: str, secret: str
) -> None:
    # The gateway's text repeats the password as the request wrote it, then as it
    # is, across the 200th character, where the message is cut.
    credentials = Credentials(login="shop", password=secret)
    request = state_request([1], credentials, format=format).body.decode()
    if format == "xml":
        written = re.search(r"<password value=([\"'])(.*?)\1", request)[2]  # type: ignore[index]
    else:
        written = re.search(r'"password": "((?:[^"\\]|\\.)*)"', request)[1]  # type: ignore[index]
    head = f"bad request ({written}): "
    text = head + "x" * (199 - len(head) - len(secret) // 2) + f" {secret} is wrong"
    if format == "xml":
        body, status = f"<error>{xml_escape(text)}</error>".encode(), 200
    else:
        body, status = json.dumps({"error": text}).encode(), 400
    gateway.misbehave("answer", body=body, status=status)
    with pytest.raises(GatewayRefused) as info:
        fetch_states([1], credentials, base_url=gateway.url, format=format)
    message = info.value.message
    assert message.startswith("bad request (***): xxx")
    assert "xxx ***" in message
    for form in (secret, written):
        assert_no_piece(message, form)


@pytest.mark.parametrize("format", ["xml", "json"])
def test_items_echoing_the_credentials_are_redacted_in_errors_repr_and_raw(
    gateway: Any, format: str
) -> None:
    secret = AWKWARD[2]  # &<>"' all to escape
    credentials = Credentials(login="shop", password=secret)
    if format == "json":
        echo = {"id_sms": 2, "error": "bad", "login": "shop", "password": secret}
        body = json.dumps([{"id_sms": 1, "state": "send"}, echo]).encode()
    else:
        body = (
            '<response><state id_sms="1" time="">send</state>'
            f'<state id_sms="2" time="" password={quoteattr(secret)}>'
            f"{xml_escape(secret)}</state></response>"
        ).encode()
    gateway.misbehave("answer", body=body)
    answer = fetch_states([1, 2], credentials, base_url=gateway.url, format=format)
    (error,) = answer.batch.errors
    assert error.id_sms == 2
    assert "***" in error.raw
    for text in (repr(answer), error.raw, error.reason):
        assert_no_piece(text, secret)
        assert_no_piece(text, json.dumps(secret)[1:-1])
        assert_no_piece(text, xml_escape(secret))
    # decode_state_answer, which has no credentials, keeps the item as it came.
    raw = decode_state_answer(body).batch.errors[0].raw
    assert "***" not in raw
    assert "***" in credentials.redact(raw)


def test_fetch_states_bounds_each_request_by_the_timeout_as_a_whole() -> None:
    # An answer dripped a byte every 0.1 s: each read well within the timeout, the
    # whole answer (about 8 s) far past it.
    document = encode_xml(REPORTS[:1])
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(document)
    with RawServer(dripping(head + document), every=0.1) as server:
        start = time.monotonic()
        with pytest.raises(GatewayUnavailable, match=r"timed out$") as info:
            fetch_states([1], BY_LOGIN, base_url=server.url, timeout=1.0)
        elapsed = time.monotonic() - start
    assert 1.0 <= elapsed < 2.0
    assert_clean_exception(info.value)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1/\u00fc",
        f"http://{'a' * 64}.example",
        "http://a..b",
        "http://127.0.0.1/a b",
    ],
)
def test_a_base_url_no_request_can_go_to_is_a_plain_value_error(base_url: str) -> None:
    with pytest.raises(ValueError, match="base_url") as info:
        fetch_states([1], BY_LOGIN, base_url=base_url)
    assert type(info.value) is ValueError  # not a UnicodeError from half-way
    assert_clean_exception(info.value)


@pytest.mark.parametrize(
    ("kind", "options", "match"),
    [
        ("slow", {"delay": 3.0}, "timed out"),
        ("5xx", {}, "HTTP 503"),
        ("5xx", {"status": 500, "body": b"<html>oops</html>"}, "HTTP 500"),
        ("answer", {"status": 302, "body": b""}, "HTTP 302"),
        ("drop", {}, "RemoteDisconnected"),
        ("truncate", {}, "broken answer"),
    ],
)
def test_transport_failures_are_gateway_unavailable(
    gateway: Any, kind: Any, options: dict[str, Any], match: str, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    gateway.add(*REPORTS[:5])
    gateway.misbehave(kind, **options)
    with pytest.raises(GatewayUnavailable, match=match) as info:
        fetch_states(IDS[:5], BY_LOGIN, base_url=gateway.url, timeout=0.5)
    assert isinstance(info.value, ConnectionError)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
    assert_clean_exception(info.value)
    assert_no_secret(*(r.getMessage() for r in caplog.records))
    # The gateway is fine again: the next request is answered.
    answer = fetch_states(IDS[:5], BY_LOGIN, base_url=gateway.url)
    assert answer.batch.reports == tuple(REPORTS[:5])


def test_a_closed_port_is_gateway_unavailable() -> None:
    with FakeGateway() as gateway:
        url = gateway.url
    with pytest.raises(GatewayUnavailable, match="Connection refused") as info:
        fetch_states([1], BY_LOGIN, base_url=url, timeout=2)
    assert_clean_exception(info.value)


def test_https_verifies_certificates(tmp_path: Path) -> None:
    # A server whose certificate no authority signed (tests/data/tls, made with
    # openssl for 127.0.0.1) is refused: the TLS failure is GatewayUnavailable.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(
        DATA / "tls" / "self-signed.pem", DATA / "tls" / "self-signed.key"
    )
    server = http.server.HTTPServer(
        ("127.0.0.1", 0), http.server.BaseHTTPRequestHandler
    )
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{server.server_port}"
        with pytest.raises(
            GatewayUnavailable, match="certificate verify failed"
        ) as info:
            fetch_states([1], BY_LOGIN, base_url=url, timeout=5)
    finally:
        thread.join(5)
        server.server_close()
    assert_clean_exception(info.value)
    # Plain HTTP answered in TLS: the handshake itself fails.
    with FakeGateway() as gateway:
        url = gateway.url.replace("http://", "https://")
        with pytest.raises(GatewayUnavailable):
            fetch_states([1], BY_LOGIN, base_url=url, timeout=2)


def test_an_exception_quoting_the_request_never_escapes(monkeypatch: Any) -> None:
    # Whatever urllib raises, and whatever its message holds (here the whole
    # request body), nothing of it reaches the caller.
    def open_and_leak(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        raise urllib.error.URLError(OSError(f"failed sending {request.data!r}"))

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", open_and_leak)
    with pytest.raises(GatewayUnavailable) as info:
        fetch_states([1], BY_LOGIN, base_url="http://127.0.0.1:9")
    assert_clean_exception(info.value)
    assert info.value.__context__ is None
    assert not info.value.__suppress_context__
    pickle.loads(pickle.dumps(info.value))  # a plain exception, picklable


def test_a_16_mib_answer_is_refused_without_reading_it_all(gateway: Any) -> None:
    # Three times the limit is announced and sent; the client stops one byte past it.
    item = b'<state id_sms="1" time="">send</state>\n'
    body = b"<response>" + item * (3 * Limits().max_bytes // len(item)) + b"</response>"
    gateway.misbehave("answer", body=body)
    with pytest.raises(PayloadTooLarge, match="over the limit of 16777216"):
        fetch_states([1], BY_LOGIN, base_url=gateway.url)


def test_a_2xx_answer_that_is_not_a_document_is_a_decode_error(gateway: Any) -> None:
    gateway.misbehave("answer", body=b"<html>maintenance</html>")
    with pytest.raises(DecodeError, match="root element") as info:
        fetch_states([1], BY_LOGIN, base_url=gateway.url)
    assert info.value.__context__ is None
    gateway.misbehave("answer", body=b"")
    with pytest.raises(DecodeError, match="empty"):
        fetch_states([1], BY_LOGIN, base_url=gateway.url)


def test_a_hostile_answer_over_http_is_unsafe_payload(gateway: Any) -> None:
    gateway.misbehave("answer", body=(DATA / "hostile" / "xxe-file.xml").read_bytes())
    with pytest.raises(UnsafePayload):
        fetch_states([1], BY_LOGIN, base_url=gateway.url)


def test_a_non_2xx_answer_with_a_document_is_still_unavailable(gateway: Any) -> None:
    gateway.misbehave("5xx", status=502, body=encode_xml(REPORTS[:1]))
    with pytest.raises(GatewayUnavailable, match="HTTP 502"):
        fetch_states(IDS[:1], BY_LOGIN, base_url=gateway.url)


def test_a_scalar_json_answer_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="expected an array"):
        decode_state_answer(b'"error"', format="json")


def test_redirects_are_not_followed(gateway: Any, serve: Any) -> None:
    # A redirected POST would arrive as a GET without its body: it is a failure.
    def moved(environ: Any, start_response: Any) -> list[bytes]:
        start_response("302 Found", [("Location", gateway.url + "/xml/state.php")])
        return [b""]

    base = serve(moved).removesuffix("/statuses")
    with pytest.raises(GatewayUnavailable, match="HTTP 302"):
        fetch_states([1], BY_LOGIN, base_url=base)
    assert gateway.pulled == ()


def test_an_error_answer_cut_short_is_unavailable(gateway: Any) -> None:
    # The gateway's 400 refusal, truncated: its text cannot be read, so the
    # status alone says what happened.
    gateway.misbehave("truncate")
    wrong = Credentials(token="not-the-one")
    with pytest.raises(GatewayUnavailable, match="HTTP 400"):
        fetch_states([1], wrong, base_url=gateway.url, format="json")


def test_a_failure_without_an_os_reason_says_cannot_connect(monkeypatch: Any) -> None:
    def fail(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        raise urllib.error.URLError(f"no route for {request.data!r}")

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", fail)
    with pytest.raises(GatewayUnavailable, match=r"cannot connect$") as info:
        fetch_states([1], BY_TOKEN, base_url="http://127.0.0.1:9")
    assert_clean_exception(info.value)
