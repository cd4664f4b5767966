"""ssekit: Server-Sent Events for Python, on the C++ ssekit client.

The streams reconnect with backoff, resume with ``Last-Event-ID`` and drop silent links, all in
C++; Python sees an iterator of events::

    import ssekit

    with ssekit.EventSource("https://example.com/events") as source:
        for event in source:
            print(event.type, event.data)

``AsyncEventSource`` does the same for asyncio, and ``parse()`` turns bytes already in memory
into events with the same C++ parser. Failures raise subclasses of ``ssekit.Error``.
"""

from ._async import AsyncEventSource
from ._errors import ContentTypeError, Error, HTTPStatusError, RetriesExhausted, TLSError
from ._ssekit import Event, parse, version as _native_version
from ._sync import EventSource

__version__: str = _native_version()

__all__ = [
    "AsyncEventSource",
    "ContentTypeError",
    "Error",
    "Event",
    "EventSource",
    "HTTPStatusError",
    "RetriesExhausted",
    "TLSError",
    "parse",
]
