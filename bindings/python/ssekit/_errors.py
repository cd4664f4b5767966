"""The exceptions of ssekit, mapped from the C++ client's error codes in one table."""

from __future__ import annotations

from typing import Dict, Optional, Type


class Error(Exception):
    """Base of every failure ssekit raises.

    ``code`` is the stable name of the C++ ``ssekit::ErrorCode`` behind it (``"network"``,
    ``"http_status"``, ...) and ``status`` the HTTP status that caused it, ``0`` when none did.
    Messages name the action and the URL; they never contain a token, cookie or header value.
    """

    def __init__(self, message: str, *, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class HTTPStatusError(Error):
    """The server answered a status that ends the stream: most 4xx, a 401 or 403 without fresh
    credentials, or a retryable 5xx when ``reconnect=False``. ``status`` holds it."""


class ContentTypeError(Error):
    """The response was not ``text/event-stream``; the message names the type received."""


class TLSError(Error):
    """TLS failed: untrusted certificate, host name mismatch or handshake failure."""


class RetriesExhausted(Error):
    """``max_retries`` reconnect attempts in a row failed; the message says how the last did."""


# The one place that decides which exception a close reason raises. Codes not listed raise the
# base Error (network or stale links with reconnect=False, redirects, a failing token_provider).
_ERROR_BY_CODE: Dict[str, Type[Error]] = {
    "http_status": HTTPStatusError,
    "unauthorized": HTTPStatusError,
    "http_retryable": HTTPStatusError,
    "content_type": ContentTypeError,
    "tls": TLSError,
    "retries_exhausted": RetriesExhausted,
}

# Close reasons that end iteration without an error: the server answered 204, the app called
# close(), or the server ended the response while reconnect=False.
_QUIET_ENDS = frozenset({"ok", "server_closed", "closed_by_app", "stream_ended"})


def error_for(
    code: str, status: int, message: str, cause: Optional[BaseException] = None
) -> Optional[Error]:
    """The exception a stream that closed for ``code`` raises, or None when it ended quietly.

    ``cause`` (the exception a callback such as token_provider raised) becomes ``__cause__``.
    """
    if code in _QUIET_ENDS:
        return None
    error = _ERROR_BY_CODE.get(code, Error)(message, code=code, status=status)
    error.__cause__ = cause
    return error
