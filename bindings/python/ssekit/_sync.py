"""EventSource: a blocking iterator over one Server-Sent Events stream."""

from __future__ import annotations

import atexit
import weakref
from collections import deque
from types import TracebackType
from typing import Callable, Deque, Iterator, Optional, Type

from . import _ssekit
from ._errors import error_for
from ._options import BodyArg, CookiesArg, HeadersArg, PathArg, stream_arguments, wait_seconds
from ._ssekit import Event

# Every source not yet closed, so the interpreter closes their streams before it shuts down:
# a loop thread still running token_provider at that point could not take the GIL again.
_open_sources: "weakref.WeakSet[_SourceBase]" = weakref.WeakSet()


@atexit.register
def _close_open_sources() -> None:
    for source in list(_open_sources):
        source.close()


def _redacted(url: str) -> str:
    """The URL without user-info and query, the parts that may carry a credential."""
    scheme, _, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    host = authority.rpartition("@")[2]
    return f"{scheme}://{host}{slash}{path.split('?', 1)[0]}"


class _SourceBase:
    """What the sync and asyncio sources share: the native stream, the events taken from it
    but not yet returned, and the translation of its close reason into an exception."""

    def __init__(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: HeadersArg = None,
        body: BodyArg = None,
        bearer: Optional[str] = None,
        token_provider: Optional[Callable[[], Optional[str]]] = None,
        cookies: CookiesArg = None,
        last_event_id: Optional[str] = None,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        idle_timeout: Optional[float] = 45.0,
        reconnect: bool = True,
        max_retries: Optional[int] = None,
        cacert: PathArg = None,
        verify: bool = True,
    ) -> None:
        arguments = stream_arguments(
            url, method=method, headers=headers, body=body, bearer=bearer,
            token_provider=token_provider, cookies=cookies, last_event_id=last_event_id,
            backoff_initial=backoff_initial, backoff_max=backoff_max,
            idle_timeout=idle_timeout, reconnect=reconnect, max_retries=max_retries,
            cacert=cacert, verify=verify)
        self._url = _redacted(arguments["url"])
        self._first_event_id: str = arguments["last_event_id"]
        self._last_event: Optional[Event] = None
        self._pending: Deque[Event] = deque()
        self._closed = False
        self._stream = _ssekit.Stream(**arguments)
        self._stream.start()
        _open_sources.add(self)

    @property
    def last_event_id(self) -> str:
        """The id of the last event returned (the ``last_event_id`` argument before any): the
        position to store, and to pass back as ``last_event_id``, to resume the stream later."""
        event = self._last_event
        return self._first_event_id if event is None else event.id

    @property
    def state(self) -> str:
        """Where the stream is: ``"connecting"``, ``"open"``, ``"waiting"`` (backing off before
        a reconnect) or ``"closed"``."""
        return "closed" if self._closed else self._stream.state

    @property
    def closed(self) -> bool:
        """True once close() was called or the stream ended and every event was returned."""
        return self._closed

    def close(self) -> None:
        """Stops the stream: no event is returned after close() returns, and a thread blocked in
        iteration ends it. Idempotent; callable from any thread; returns within about 100 ms."""
        self._closed = True
        self._pending.clear()
        self._stream.close()
        _open_sources.discard(self)

    def _take_from(self, batch: Optional[list]) -> Optional[Event]:
        """Queues ``batch`` (what Stream.take returned) and returns its first event, or None
        after a timeout (empty batch) or at the end (None), raising if the end is a failure."""
        if batch is None:
            self._finish()
            return None
        if not batch:
            return None
        self._pending.extend(batch)
        return self._pop_pending()

    def _pop_pending(self) -> Optional[Event]:
        """The oldest event taken from the stream and not yet returned; None when there is none
        or the source is closed. Safe against close() emptying the queue on another thread."""
        try:
            event = self._pending.popleft()
        except IndexError:
            return None
        if self._closed:
            return None
        self._last_event = event
        return event

    def _finish(self) -> None:
        """The stream is over: marks the source closed and raises what its reason calls for."""
        self._closed = True
        _open_sources.discard(self)
        code, status, message = self._stream.close_reason()
        error = error_for(code, status, message, self._stream.callback_error())
        if error is not None:
            raise error

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._url} state={self.state}>"


class EventSource(_SourceBase):
    """A Server-Sent Events stream read with a blocking iterator.

    The C++ client connects at construction, then reconnects with backoff after failures and
    dropped links, resuming with ``Last-Event-ID``, until the server answers 204, a failure is
    fatal, or close() is called::

        with ssekit.EventSource("https://example.com/events", bearer=token) as source:
            for event in source:
                print(event.type, event.json())

    Iteration ends on 204, when the stream ends with ``reconnect=False``, and after close().
    Fatal failures raise a subclass of ``ssekit.Error`` from the iteration. Waiting releases
    the GIL, and Ctrl-C interrupts a blocked iteration with KeyboardInterrupt.

    Arguments (keyword-only after ``url``; durations are seconds):
      method, headers, body: the request, sent again on every attempt.
      bearer: sent as ``Authorization: Bearer <bearer>``.
      token_provider: called before every attempt (on the client's thread, with the GIL held);
        a str it returns is that attempt's bearer token. If it raises, the stream ends with
        ``ssekit.Error`` whose ``__cause__`` is the exception.
      cookies: a ``Cookie`` header value, or a mapping of names to values.
      last_event_id: sent as ``Last-Event-ID`` on the first request, to resume.
      backoff_initial, backoff_max: the first reconnect delay and the ceiling it doubles to.
      idle_timeout: a link silent this long is dropped and reconnected; None or 0 disables.
      reconnect: False ends the stream at its first end or failure.
      max_retries: fail with RetriesExhausted after this many failed attempts in a row.
      cacert: a PEM file of CA certificates to trust instead of the system's.
      verify: False skips TLS certificate checks (tests only).

    Raises TypeError or ValueError for a bad argument, before any connection is made.
    """

    def __enter__(self) -> "EventSource":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[Event]:
        """Yields the events until the stream ends (see the class docs); raises its failure.

        A generator rather than ``self``: resuming one costs less than a call of __next__, which
        matters at millions of events a second. It shares the queue with next() and __next__.
        """
        pending = self._pending
        while True:
            # popleft() and IndexError rather than a test first: close() on another thread may
            # empty the queue between the test and the pop.
            try:
                event = pending.popleft()
            except IndexError:
                event = self.next()
                if event is None:
                    return
                yield event
                continue
            if self._closed:
                return
            self._last_event = event
            yield event

    def __next__(self) -> Event:
        event = self.next()
        if event is None:
            raise StopIteration
        return event

    def next(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event, waiting at most ``timeout`` seconds (forever when None).

        Returns None on timeout, and at once when the stream is over (``closed`` is then True).
        Raises a subclass of ``ssekit.Error`` when the stream failed.
        """
        timeout = wait_seconds(timeout)
        event = self._pop_pending()
        if event is not None or self._closed:
            return event
        return self._take_from(self._stream.take(timeout))
