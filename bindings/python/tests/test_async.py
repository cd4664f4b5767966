"""AsyncEventSource: async with, async for, two streams at once, a loop that never blocks."""

from __future__ import annotations

import asyncio
import threading
from typing import List

import pytest

import ssekit
from conftest import FAST_BACKOFF, WAIT, Exchange, SseServer


def paced_stream(server: SseServer, path: str, count: int, gap: float) -> str:
    @server.route(path)
    def paced(exchange: Exchange) -> None:
        exchange.start_stream()
        for i in range(count):
            exchange.send(b"id: %s-%d\ndata: %d\n\n" % (path[1:].encode(), i, i))
            server.stopping.wait(gap)

    return server.url(path)


def test_two_streams_at_once_without_blocking_the_loop(server: SseServer) -> None:
    count, gap = 10, 0.03
    urls = [paced_stream(server, "/a", count, gap), paced_stream(server, "/b", count, gap)]

    async def read(url: str) -> List[ssekit.Event]:
        async with ssekit.AsyncEventSource(url, reconnect=False) as source:
            return [event async for event in source]

    async def main() -> tuple:
        ticks = 0
        done = asyncio.Event()

        async def tick() -> None:
            nonlocal ticks
            while not done.is_set():
                await asyncio.sleep(0.005)
                ticks += 1

        ticker = asyncio.create_task(tick())
        results = await asyncio.wait_for(asyncio.gather(*(read(u) for u in urls)), WAIT)
        done.set()
        await ticker
        return results, ticks

    (a, b), ticks = asyncio.run(main())
    assert [(e.id, e.data) for e in a] == [(f"a-{i}", str(i)) for i in range(count)]
    assert [(e.id, e.data) for e in b] == [(f"b-{i}", str(i)) for i in range(count)]
    # The streams take about count * gap = 0.3 s; a blocked loop would have ticked ~0 times.
    assert ticks >= 20, ticks


def test_async_next_timeout_and_aclose(server: SseServer) -> None:
    @server.route("/quiet")
    def quiet(exchange: Exchange) -> None:
        exchange.start_stream()
        exchange.send(b"data: one\n\n")
        exchange.hold()

    async def main() -> None:
        source = ssekit.AsyncEventSource(server.url("/quiet"))
        assert await source.next(timeout=WAIT) == ssekit.Event(data="one")
        assert await source.next(timeout=0.1) is None
        await source.aclose()
        await source.aclose()
        assert source.state == "closed"
        assert await source.next() is None
        assert [e async for e in source] == []

    asyncio.run(asyncio.wait_for(main(), WAIT))


def test_async_errors_raise_from_async_for(server: SseServer) -> None:
    async def main() -> None:
        async with ssekit.AsyncEventSource(server.url("/missing")) as source:
            with pytest.raises(ssekit.HTTPStatusError) as raised:
                async for _ in source:
                    pass
            assert raised.value.status == 404

    asyncio.run(asyncio.wait_for(main(), WAIT))


def test_close_from_another_thread_ends_async_for(server: SseServer) -> None:
    @server.route("/held")
    def held(exchange: Exchange) -> None:
        exchange.start_stream()
        exchange.send(b"data: first\n\n")
        exchange.hold()

    async def main() -> List[ssekit.Event]:
        source = ssekit.AsyncEventSource(server.url("/held"), **FAST_BACKOFF)
        received = []
        async for event in source:
            received.append(event)
            threading.Thread(target=source.close).start()
        return received

    assert asyncio.run(asyncio.wait_for(main(), WAIT)) == [ssekit.Event(data="first")]
