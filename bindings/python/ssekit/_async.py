"""AsyncEventSource: one Server-Sent Events stream read with ``async for``."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Optional, Tuple, Type

from ._options import wait_seconds
from ._ssekit import Event
from ._sync import _SourceBase


class AsyncEventSource(_SourceBase):
    """A Server-Sent Events stream for asyncio. Same arguments and behaviour as EventSource::

        async with ssekit.AsyncEventSource(url) as source:
            async for event in source:
                print(event.data)

    The event loop never blocks on the stream: the C++ client's thread queues events and makes
    an eventfd readable, which the loop watches with ``add_reader``; each wake-up hands over
    every event queued so far. One source belongs to one event loop. ``token_provider`` stays a
    plain function, run on the client's thread.
    """

    # The loop watching the eventfd, and the futures of the tasks waiting for events. Class-level
    # defaults, replaced per instance on first use, so the constructor stays EventSource's.
    _loop: Optional[asyncio.AbstractEventLoop] = None
    _waiters: Tuple["asyncio.Future[None]", ...] = ()

    async def __aenter__(self) -> "AsyncEventSource":
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> "AsyncEventSource":
        return self

    async def __anext__(self) -> Event:
        event = await self._next_event()
        if event is None:
            raise StopAsyncIteration
        return event

    async def next(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event, waiting at most ``timeout`` seconds (forever when None).

        Returns None on timeout, and at once when the stream is over. Raises a subclass of
        ``ssekit.Error`` when the stream failed.
        """
        timeout = wait_seconds(timeout)
        if timeout is None:
            return await self._next_event()
        try:
            return await asyncio.wait_for(self._next_event(), timeout)
        except asyncio.TimeoutError:
            return None

    async def aclose(self) -> None:
        """Closes the stream without blocking the event loop (the native close, which takes at
        most about 100 ms, runs in the loop's default executor). Idempotent."""
        self._closed = True
        self._pending.clear()
        self._detach()
        self._wake_waiters()
        await asyncio.get_running_loop().run_in_executor(None, super().close)

    # close(), inherited, works from any thread: it only flags the source and closes the native
    # stream, whose eventfd then wakes the loop; the loop's own side is undone there.

    async def _next_event(self) -> Optional[Event]:
        while True:
            event = self._pop_pending()
            if event is not None:
                return event
            if self._closed:
                self._detach()
                return None
            batch = self._stream.take(0)  # never blocks: the wait happens in _wait_readable()
            if batch is None or batch:
                return self._take_from(batch)
            await self._wait_readable()

    async def _wait_readable(self) -> None:
        """Waits until the native side has events or the end for us (or close() was called)."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            loop.add_reader(self._stream.wake_fd(), self._on_wake)
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("an AsyncEventSource is bound to the event loop that first read it")
        if not self._stream.arm_wake():
            return  # something arrived between take() and arming: no need to wait
        waiter = loop.create_future()
        self._waiters += (waiter,)
        try:
            await waiter
        finally:
            self._waiters = tuple(w for w in self._waiters if w is not waiter)

    def _on_wake(self) -> None:
        self._stream.drain_wake()
        self._wake_waiters()

    def _wake_waiters(self) -> None:
        waiters, self._waiters = self._waiters, ()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _detach(self) -> None:
        """Stops watching the eventfd. Done before the native stream, which owns the fd, goes."""
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed():
            loop.remove_reader(self._stream.wake_fd())

    def __del__(self) -> None:
        try:
            self._detach()
        except Exception:  # noqa: BLE001 - the interpreter may be tearing modules down
            pass
