"""ssekit.EventSource against a real local server: events, reconnects, the end, next(timeout)."""

from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest

import ssekit
from conftest import FAST_BACKOFF, WAIT, Exchange, SseServer

STREAM = (
    b": a comment the client skips\n"
    b"id: 1\ndata: first\n\n"
    b"event: update\ndata: line one\ndata: line two\n\n"
    b"id: 2\nevent: tick\ndata: {\"counter\": 2, \"value\": 0.5}\n\n"
    b"data: no id field, the last one stays\n\n"
)
EXPECTED = [
    ssekit.Event(type="message", data="first", id="1"),
    ssekit.Event(type="update", data="line one\nline two", id="1"),
    ssekit.Event(type="tick", data='{"counter": 2, "value": 0.5}', id="2"),
    ssekit.Event(type="message", data="no id field, the last one stays", id="2"),
]


def test_iteration_yields_exactly_the_events_sent(server: SseServer) -> None:
    @server.route("/events")
    def events(exchange: Exchange) -> None:
        exchange.start_stream()
        # Split mid-line and mid-field: the events must not depend on how bytes arrive.
        exchange.send(STREAM[:20])
        exchange.send(STREAM[20:77])
        exchange.send(STREAM[77:])

    with ssekit.EventSource(server.url("/events"), reconnect=False) as source:
        assert list(source) == EXPECTED
        assert source.last_event_id == "2"
        assert source.state == "closed"
    assert EXPECTED[2].json() == {"counter": 2, "value": 0.5}


def test_the_request_carries_method_headers_body_bearer_and_cookies(server: SseServer) -> None:
    @server.route("/post")
    def post(exchange: Exchange) -> None:
        exchange.status(204)

    with ssekit.EventSource(
        server.url("/post"),
        method="POST",
        headers={"X-Tenant": "blue"},
        body='{"subscribe": ["ticks"]}',
        bearer="t0ken",
        cookies={"session": "abc", "theme": "dark"},
        last_event_id="41",
    ) as source:
        assert list(source) == []
    [request] = server.requests_to("/post")
    assert request.method == "POST"
    assert request.body == b'{"subscribe": ["ticks"]}'
    assert request.headers["X-Tenant"] == "blue"
    assert request.headers["Authorization"] == "Bearer t0ken"
    assert request.headers["Cookie"] == "session=abc; theme=dark"
    assert request.headers["Last-Event-ID"] == "41"
    assert "text/event-stream" in request.headers["Accept"]


def test_a_reconnect_resumes_with_last_event_id(server: SseServer) -> None:
    connections = []

    @server.route("/resume")
    def resume(exchange: Exchange) -> None:
        connections.append(exchange.headers.get("Last-Event-ID"))
        if len(connections) == 1:
            exchange.start_stream()
            exchange.send(b"id: a1\ndata: one\n\nid: a2\ndata: two\n\n")
        elif len(connections) == 2:
            exchange.start_stream()
            exchange.send(b"id: a3\ndata: three\n\n")
        else:
            exchange.status(204)

    with ssekit.EventSource(server.url("/resume"), **FAST_BACKOFF) as source:
        assert [(e.id, e.data) for e in source] == [("a1", "one"), ("a2", "two"), ("a3", "three")]
    assert connections == [None, "a2", "a3"]


def test_a_204_ends_iteration_without_an_error(server: SseServer) -> None:
    @server.route("/done")
    def done(exchange: Exchange) -> None:
        exchange.status(204)

    source = ssekit.EventSource(server.url("/done"))
    assert list(source) == []
    assert source.closed and source.state == "closed"
    assert source.next(timeout=0) is None
    assert len(server.requests_to("/done")) == 1


def test_next_returns_none_on_timeout_then_the_event(server: SseServer) -> None:
    send_now = threading.Event()

    @server.route("/slow")
    def slow(exchange: Exchange) -> None:
        exchange.start_stream()
        send_now.wait(WAIT)
        exchange.send(b"data: late\n\n")
        exchange.hold()

    with ssekit.EventSource(server.url("/slow")) as source:
        started = time.monotonic()
        assert source.next(timeout=0.2) is None
        waited = time.monotonic() - started
        assert 0.15 <= waited < 2.0
        assert source.next(timeout=0) is None
        send_now.set()
        assert source.next(timeout=WAIT) == ssekit.Event(data="late")
        assert not source.closed


def test_the_builtin_next_and_the_method_share_one_queue(server: SseServer) -> None:
    @server.route("/mixed")
    def mixed(exchange: Exchange) -> None:
        exchange.start_stream()
        exchange.send(b"".join(b"data: %d\n\n" % i for i in range(5)))

    with ssekit.EventSource(server.url("/mixed"), reconnect=False) as source:
        assert next(source).data == "0"
        assert source.next(timeout=WAIT).data == "1"  # type: ignore[union-attr]
        assert [e.data for e in source] == ["2", "3", "4"]


def test_token_provider_supplies_the_bearer_of_each_attempt(server: SseServer) -> None:
    tokens = iter(["first-token", "second-token"])

    @server.route("/auth")
    def auth(exchange: Exchange) -> None:
        if len(server.requests_to("/auth")) == 1:
            exchange.start_stream()
            exchange.send(b"data: x\n\n")
        else:
            exchange.status(204)

    with ssekit.EventSource(server.url("/auth"), token_provider=lambda: next(tokens),
                            **FAST_BACKOFF) as source:
        assert [e.data for e in source] == ["x"]
    seen = [r.headers.get("Authorization") for r in server.requests_to("/auth")]
    assert seen == ["Bearer first-token", "Bearer second-token"]


def test_a_large_stream_arrives_complete_and_in_order(server: SseServer) -> None:
    count = 20000

    @server.route("/many")
    def many(exchange: Exchange) -> None:
        exchange.start_stream()
        exchange.send(b"".join(b"id: %d\ndata: %d\n\n" % (i, i) for i in range(count)))

    with ssekit.EventSource(server.url("/many"), reconnect=False) as source:
        ids = [int(e.id) for e in source]
    assert ids == list(range(count))


def test_exiting_the_with_block_closes_the_stream(server: SseServer) -> None:
    @server.route("/open")
    def open_stream(exchange: Exchange) -> None:
        exchange.start_stream()
        exchange.send(b"data: hi\n\n")
        exchange.hold()

    with ssekit.EventSource(server.url("/open")) as source:
        assert source.next(timeout=WAIT) == ssekit.Event(data="hi")
        assert source.state == "open"
    assert source.state == "closed"
    assert source.next(timeout=0) is None
    assert "state=closed" in repr(source)


@pytest.mark.parametrize("timeout", [-1, float("nan")])
def test_next_rejects_a_negative_or_nan_timeout(server: SseServer, timeout: float) -> None:
    @server.route("/t")
    def t(exchange: Exchange) -> None:
        exchange.status(204)

    with ssekit.EventSource(server.url("/t")) as source:
        with pytest.raises(ValueError):
            source.next(timeout=timeout)
        with pytest.raises(TypeError):
            source.next(timeout="1")  # type: ignore[arg-type]


def test_a_large_event_arrives_whole(server: SseServer) -> None:
    data = "x" * (1 << 19)  # half the default line limit of 1 MiB

    @server.route("/big")
    def big(exchange: Exchange) -> None:
        exchange.start_stream()
        exchange.send(b"data: " + data.encode() + b"\n\ndata: after\n\n")

    with ssekit.EventSource(server.url("/big"), reconnect=False) as source:
        assert [len(e.data) for e in source] == [len(data), len("after")]


def test_close_is_prompt_while_unread_events_fill_the_queue(server: SseServer) -> None:
    @server.route("/flood")
    def flood(exchange: Exchange) -> None:
        exchange.start_stream()
        exchange.send(b"".join(b"data: %d\n\n" % i for i in range(50_000)))
        exchange.hold()

    source = ssekit.EventSource(server.url("/flood"))
    assert source.next(timeout=WAIT) == ssekit.Event(data="0")
    # The client has far more than the queue holds: its thread waits for room when close() comes.
    started = time.monotonic()
    source.close()
    assert time.monotonic() - started < 1.0
    assert source.next(timeout=0) is None


def test_a_source_in_a_reference_cycle_is_collected_and_closed(server: SseServer) -> None:
    @server.route("/cycle")
    def cycle(exchange: Exchange) -> None:
        exchange.start_stream()
        exchange.send(b"data: hi\n\n")
        exchange.hold()

    class Dashboard:
        """Owns a source whose token_provider is one of its methods: a cycle through C++."""

        def __init__(self, url: str) -> None:
            self.source = ssekit.EventSource(url, token_provider=self.token)

        def token(self) -> str:
            return "t"

    dashboard = Dashboard(server.url("/cycle"))
    assert dashboard.source.next(timeout=WAIT) == ssekit.Event(data="hi")
    gone = weakref.ref(dashboard)
    del dashboard
    gc.collect()
    assert gone() is None
