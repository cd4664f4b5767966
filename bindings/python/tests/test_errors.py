"""Failures: each exception type, the argument checks, and what error messages leave out."""

from __future__ import annotations

from typing import Any, Dict

import pytest

import ssekit
from conftest import FAST_BACKOFF, TLS_CERT, Exchange, SseServer


def test_every_exception_derives_from_ssekit_error() -> None:
    for error in (ssekit.HTTPStatusError, ssekit.ContentTypeError, ssekit.TLSError,
                  ssekit.RetriesExhausted):
        assert issubclass(error, ssekit.Error)
    assert issubclass(ssekit.Error, Exception)


def test_a_404_raises_http_status_error_with_the_status(server: SseServer) -> None:
    with ssekit.EventSource(server.url("/missing")) as source:
        with pytest.raises(ssekit.HTTPStatusError) as raised:
            list(source)
    assert raised.value.status == 404
    assert raised.value.code == "http_status"
    assert "404" in str(raised.value)
    assert len(server.requests_to("/missing")) == 1  # a 404 is not retried


def test_a_401_without_fresh_credentials_raises_and_never_shows_the_token(
    server: SseServer,
) -> None:
    @server.route("/private")
    def private(exchange: Exchange) -> None:
        exchange.status(401)

    with ssekit.EventSource(server.url("/private"), bearer="s3cr3t-value",
                            cookies="sid=c00kie-value") as source:
        with pytest.raises(ssekit.HTTPStatusError) as raised:
            list(source)
    assert raised.value.status == 401
    text = str(raised.value) + repr(raised.value) + repr(source)
    assert "s3cr3t-value" not in text and "c00kie-value" not in text


def test_a_wrong_content_type_raises_content_type_error(server: SseServer) -> None:
    @server.route("/html")
    def html(exchange: Exchange) -> None:
        exchange.start_stream(content_type="text/html")
        exchange.send(b"<html></html>")

    with ssekit.EventSource(server.url("/html")) as source:
        with pytest.raises(ssekit.ContentTypeError, match="text/html"):
            list(source)


def test_an_untrusted_certificate_raises_tls_error(tls_server: SseServer) -> None:
    @tls_server.route("/tls")
    def tls(exchange: Exchange) -> None:
        exchange.start_stream()
        exchange.send(b"data: secure\n\n")

    with ssekit.EventSource(tls_server.url("/tls"), reconnect=False) as source:
        with pytest.raises(ssekit.TLSError):
            list(source)


def test_cacert_trusts_the_server_and_verify_false_skips_the_check(
    tls_server: SseServer,
) -> None:
    @tls_server.route("/tls")
    def tls(exchange: Exchange) -> None:
        exchange.start_stream()
        exchange.send(b"data: secure\n\n")

    with ssekit.EventSource(tls_server.url("/tls"), cacert=TLS_CERT, reconnect=False) as source:
        assert [e.data for e in source] == ["secure"]
    with ssekit.EventSource(tls_server.url("/tls"), verify=False, reconnect=False) as source:
        assert [e.data for e in source] == ["secure"]


def test_max_retries_of_failures_raise_retries_exhausted(server: SseServer) -> None:
    @server.route("/down")
    def down(exchange: Exchange) -> None:
        exchange.status(503)

    with ssekit.EventSource(server.url("/down"), max_retries=2, **FAST_BACKOFF) as source:
        with pytest.raises(ssekit.RetriesExhausted):
            list(source)
    assert 2 <= len(server.requests_to("/down")) <= 3


def test_a_token_provider_exception_surfaces_as_error_with_its_cause(server: SseServer) -> None:
    @server.route("/events")
    def events(exchange: Exchange) -> None:
        exchange.status(204)

    def failing_provider() -> str:
        raise LookupError("vault unreachable")

    with ssekit.EventSource(server.url("/events"), token_provider=failing_provider) as source:
        with pytest.raises(ssekit.Error) as raised:
            list(source)
    assert isinstance(raised.value.__cause__, LookupError)
    assert str(raised.value.__cause__) == "vault unreachable"
    assert server.requests_to("/events") == []


def test_a_token_provider_returning_a_non_str_is_a_type_error_cause(server: SseServer) -> None:
    with ssekit.EventSource(server.url("/events"), token_provider=lambda: 42) as source:
        with pytest.raises(ssekit.Error) as raised:
            list(source)
    assert isinstance(raised.value.__cause__, TypeError)


BAD_ARGUMENTS = [
    (TypeError, {"url": b"http://127.0.0.1/"}),
    (ValueError, {"url": "ftp://127.0.0.1/events"}),
    (ValueError, {"url": "127.0.0.1/events"}),
    (TypeError, {"headers": 5}),
    (TypeError, {"headers": {"X-A": 1}}),
    (ValueError, {"headers": {"X-A": "one\r\nX-Injected: yes"}}),
    (ValueError, {"headers": [("Bad Name", "x")]}),
    (TypeError, {"body": 3.5}),
    (ValueError, {"bearer": "token\nX-Injected: yes"}),
    (TypeError, {"token_provider": "not callable"}),
    (TypeError, {"cookies": 7}),
    (ValueError, {"cookies": {"a": "1; b=2"}}),
    (ValueError, {"last_event_id": "1\n2"}),
    (ValueError, {"backoff_initial": 0}),
    (ValueError, {"backoff_initial": -1}),
    (ValueError, {"backoff_max": float("inf")}),
    (ValueError, {"backoff_initial": 5.0, "backoff_max": 1.0}),
    (TypeError, {"backoff_initial": "1"}),
    (ValueError, {"idle_timeout": -0.5}),
    (TypeError, {"reconnect": "yes"}),
    (ValueError, {"max_retries": -1}),
    (TypeError, {"max_retries": 1.5}),
    (ValueError, {"cacert": "/nonexistent/ca.pem"}),
    (TypeError, {"verify": None}),
    (ValueError, {"method": "GE T"}),
]


@pytest.mark.parametrize("error, arguments", BAD_ARGUMENTS,
                         ids=[f"{e.__name__}-{'-'.join(a)}" for e, a in BAD_ARGUMENTS])
def test_bad_arguments_raise_before_any_connection(
    server: SseServer, error: type, arguments: Dict[str, Any]
) -> None:
    arguments = {"url": server.url("/events"), **arguments}
    with pytest.raises(error):
        ssekit.EventSource(**arguments)
    with pytest.raises(error):
        ssekit.AsyncEventSource(**arguments)
    assert server.requests == []


def test_argument_errors_do_not_quote_credentials(server: SseServer) -> None:
    with pytest.raises(ValueError) as raised:
        ssekit.EventSource(server.url("/e"), headers={"Authorization": "Bearer abc\ndef"})
    assert "abc" not in str(raised.value)
    with pytest.raises(ValueError) as raised:
        ssekit.EventSource("ftp://user:pa55word@example.com/?token=t0k3n")
    assert "pa55word" not in str(raised.value) and "t0k3n" not in str(raised.value)
