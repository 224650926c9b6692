"""smsstatus._http: URLs checked up front, requests bounded as a whole by their
timeout, answers read up to a cap; against a raw server on 127.0.0.1."""

from __future__ import annotations

import http.client
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from _raw_server import RawServer, dripping

from smsstatus._http import check_url, opener, read_answer

TLS = Path(__file__).parent / "data" / "tls"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n" + b"x" * 20


def post(url: str, timeout: float, limit: int = 1000) -> bytes:
    request = urllib.request.Request(url, data=b"ping", method="POST")
    with opener().open(request, timeout=timeout) as response:
        return read_answer(response, limit)


def test_a_request_answered_in_time_is_read_whole() -> None:
    with RawServer(dripping(ANSWER), every=0.001) as server:
        assert post(server.url, timeout=10) == b"x" * 20


@pytest.mark.parametrize("every", [0.1, 0.4])
def test_the_timeout_bounds_the_whole_request_not_each_read(every: float) -> None:
    # 60 bytes, each well within the timeout of the one before: with a timeout per
    # socket read, the request would take 60 * `every` seconds.
    with RawServer(dripping(ANSWER), every=every) as server:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            post(server.url, timeout=1.0)
        elapsed = time.monotonic() - start
    assert 1.0 <= elapsed < 2.0
    assert server.sent < len(ANSWER)


def test_a_request_out_of_time_before_it_connects_is_not_sent() -> None:
    with RawServer([ANSWER]) as server:
        request = urllib.request.Request(server.url, data=b"ping", method="POST")
        with pytest.raises(urllib.error.URLError) as info:
            opener().open(request, timeout=1e-9)
    assert isinstance(info.value.reason, TimeoutError)
    assert server.sent == 0


def test_the_timeout_covers_the_body_read_after_the_headers() -> None:
    head, body = ANSWER.split(b"\r\n\r\n")
    with RawServer([head + b"\r\n\r\n", *dripping(body)], every=0.2) as server:
        request = urllib.request.Request(server.url, data=b"ping", method="POST")
        start = time.monotonic()
        with opener().open(request, timeout=1.0) as response:
            assert response.status == 200  # the head came in time
            with pytest.raises(TimeoutError):
                read_answer(response, 1000)
        assert time.monotonic() - start < 2.0


def tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """The server's (the certificate in tests/data/tls, for 127.0.0.1) and a
    client's that trusts it."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(TLS / "self-signed.pem", TLS / "self-signed.key")
    return server, ssl.create_default_context(cafile=TLS / "self-signed.pem")


@pytest.mark.parametrize(("every", "read"), [(0.001, True), (0.2, False)])
def test_over_tls_too_the_timeout_bounds_the_whole_request(
    every: float, read: bool
) -> None:
    server_side, client_side = tls_contexts()
    with RawServer(dripping(ANSWER), every=every, tls=server_side) as server:
        request = urllib.request.Request(server.url, data=b"ping", method="POST")
        start = time.monotonic()
        try:
            with opener(client_side).open(request, timeout=2.0) as response:
                assert read_answer(response, 1000) == b"x" * 20
        except TimeoutError:
            assert not read
        else:
            assert read
        assert time.monotonic() - start < 3.0


def test_an_answer_is_read_up_to_one_byte_past_the_limit() -> None:
    size = 64 << 20
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode()
    with RawServer([head, *[b"y" * (1 << 20)] * 64]) as server:
        body = post(server.url, timeout=30, limit=1 << 20)
    assert body == b"y" * ((1 << 20) + 1)
    # What the kernel's buffers took beyond that is all the server could send.
    assert server.sent < size // 2


def test_an_answer_cut_short_of_its_length_is_an_incomplete_read() -> None:
    with RawServer([ANSWER[:-5]]) as server, pytest.raises(http.client.IncompleteRead):
        post(server.url, timeout=10)


@pytest.mark.parametrize(
    ("url", "match"),
    [
        (None, "url is not a URL"),
        ("http://127.0.0.1:port/", "url is not a URL"),
        ("mailto:someone@example.com", "must be an http:// or https://"),
        ("http://127.0.0.1/a\tb", "blank or control character"),
        ("http://127.0.0.1/?q=\u00e9", "beyond ASCII"),
        (f"https://{'b' * 64}.example/", "host name DNS cannot hold"),
    ],
)
def test_check_url_refuses_what_no_request_can_go_to(url: object, match: str) -> None:
    with pytest.raises(ValueError, match=match) as info:
        check_url(url)
    assert type(info.value) is ValueError


def test_check_url_takes_what_http_client_can_send() -> None:
    for url in (
        "http://127.0.0.1:8000/sms/statuses/tok%C3%A9n",
        "https://b\u00fccher.example/statuses",  # IDNA
        "http://[::1]:8000/",
    ):
        assert check_url(url).scheme in ("http", "https")
