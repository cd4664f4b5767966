"""Checks and converts the arguments shared by EventSource and AsyncEventSource.

Everything is checked here, before the C++ client exists, so a bad argument raises TypeError or
ValueError from the constructor and no request is ever made.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

HeadersArg = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]
CookiesArg = Union[str, Mapping[str, str], None]
BodyArg = Union[str, bytes, bytearray, memoryview, None]
PathArg = Union[str, "os.PathLike[str]", None]

# A week: far longer than any sensible backoff or heartbeat, far below what the C++ side's
# millisecond counts can hold, so a typo such as 1e12 is caught here rather than wrapping.
_MAX_SECONDS = 7 * 24 * 3600.0

# The C++ policy counts attempts in an unsigned 32-bit integer.
_MAX_RETRIES = 2**32 - 1

# RFC 9110 "token": what an HTTP method and a header name may be made of.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")

# Characters that would end a header line early and let a value inject headers of its own.
_LINE_BREAKERS = ("\r", "\n", "\0")


def _text(name: str, value: Any, *, optional: bool = True) -> str:
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str{' or None' if optional else ''}, "
                        f"not {type(value).__name__}")
    return value


def _header_safe(name: str, value: str) -> str:
    if any(c in value for c in _LINE_BREAKERS):
        # The value itself is left out of the message: it may be a credential.
        raise ValueError(f"{name} must not contain CR, LF or NUL")
    return value


def _seconds_to_ms(name: str, value: Any, *, allow_zero: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} seconds, not {value!r}")
    if value > _MAX_SECONDS:
        raise ValueError(f"{name} must be at most {_MAX_SECONDS:.0f} seconds, not {value!r}")
    # Round up to a whole millisecond so a tiny positive value never becomes zero.
    return math.ceil(value * 1000)


def _headers(headers: HeadersArg) -> List[Tuple[str, str]]:
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        items: Iterable[Any] = headers.items()
    elif isinstance(headers, (str, bytes)) or not isinstance(headers, Iterable):
        raise TypeError("headers must be a mapping or an iterable of (name, value) pairs, "
                        f"not {type(headers).__name__}")
    else:
        items = headers
    pairs = []
    for item in items:
        if not isinstance(item, tuple) or len(item) != 2:
            raise TypeError(f"each header must be a (name, value) pair, not {type(item).__name__}")
        name = _text("header name", item[0], optional=False)
        value = _text(f"header {name!r}", item[1], optional=False)
        if not _TOKEN.match(name):
            raise ValueError(f"header name {name!r} is not a valid HTTP token")
        pairs.append((name, _header_safe(f"header {name!r}", value)))
    return pairs


def _cookies(cookies: CookiesArg) -> str:
    if cookies is None:
        return ""
    if isinstance(cookies, str):
        return _header_safe("cookies", cookies)
    if not isinstance(cookies, Mapping):
        raise TypeError(f"cookies must be str, a mapping or None, not {type(cookies).__name__}")
    parts = []
    for name, value in cookies.items():
        name = _text("cookie name", name, optional=False)
        value = _text(f"cookie {name!r}", value, optional=False)
        if not name or any(c in name for c in "=; "):
            raise ValueError(f"cookie name {name!r} is empty or holds '=', ';' or a space")
        if ";" in value:
            raise ValueError(f"cookie {name!r} must not contain ';'")
        parts.append(f"{name}={_header_safe(f'cookie {name!r}', value)}")
    return "; ".join(parts)


def _body(body: BodyArg) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise TypeError(f"body must be str, bytes or None, not {type(body).__name__}")


def _url(url: Any) -> str:
    url = _text("url", url, optional=False)
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in ("http", "https") or not rest or rest.startswith("/"):
        # The URL is not quoted back: its query or user-info may carry a credential.
        raise ValueError("url must be an absolute http:// or https:// URL")
    return _header_safe("url", url)


def _cacert(cacert: PathArg) -> str:
    if cacert is None:
        return ""
    if not isinstance(cacert, (str, os.PathLike)):
        raise TypeError(f"cacert must be a path or None, not {type(cacert).__name__}")
    path = os.fsdecode(cacert)
    if not os.path.isfile(path):
        raise ValueError(f"cacert: no such file: {path}")
    return path


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, not {type(value).__name__}")
    return value


def _max_retries(value: Any) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_retries must be an int or None, not {type(value).__name__}")
    if not 0 <= value <= _MAX_RETRIES:
        raise ValueError(f"max_retries must be between 0 and {_MAX_RETRIES}, not {value}")
    return value


def wait_seconds(timeout: Any) -> Optional[float]:
    """Checks the ``timeout`` of next(): None (wait forever) or seconds >= 0.

    A wait past _MAX_SECONDS is taken as forever, which it is for any practical purpose.
    """
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be a number of seconds or None, not {type(timeout).__name__}")
    if math.isnan(timeout) or timeout < 0:
        raise ValueError(f"timeout must be >= 0 seconds or None, not {timeout!r}")
    return None if timeout > _MAX_SECONDS else float(timeout)


def stream_arguments(
    url: str,
    *,
    method: str,
    headers: HeadersArg,
    body: BodyArg,
    bearer: Optional[str],
    token_provider: Optional[Callable[[], Optional[str]]],
    cookies: CookiesArg,
    last_event_id: Optional[str],
    backoff_initial: float,
    backoff_max: float,
    idle_timeout: Optional[float],
    reconnect: bool,
    max_retries: Optional[int],
    cacert: PathArg,
    verify: bool,
) -> Dict[str, Any]:
    """The keyword arguments of ``_ssekit.Stream`` for the public constructor's arguments.

    Raises TypeError for a value of the wrong type and ValueError for one out of range.
    """
    method = _text("method", method, optional=False)
    if not _TOKEN.match(method):
        raise ValueError(f"method {method!r} is not a valid HTTP method")
    if token_provider is not None and not callable(token_provider):
        raise TypeError(f"token_provider must be callable, not {type(token_provider).__name__}")

    initial_ms = _seconds_to_ms("backoff_initial", backoff_initial, allow_zero=False)
    max_ms = _seconds_to_ms("backoff_max", backoff_max, allow_zero=False)
    if max_ms < initial_ms:
        raise ValueError(f"backoff_max ({backoff_max!r}) is below backoff_initial "
                         f"({backoff_initial!r})")
    idle_ms = 0 if idle_timeout is None else _seconds_to_ms("idle_timeout", idle_timeout,
                                                            allow_zero=True)

    last_id = _text("last_event_id", last_event_id)
    if any(c in last_id for c in _LINE_BREAKERS):
        raise ValueError("last_event_id must not contain CR, LF or NUL")

    return {
        "url": _url(url),
        "method": method,
        "headers": _headers(headers),
        "body": _body(body),
        "bearer": _header_safe("bearer", _text("bearer", bearer)),
        "token_provider": token_provider,
        "cookies": _cookies(cookies),
        "last_event_id": last_id,
        "backoff_initial_ms": initial_ms,
        "backoff_max_ms": max_ms,
        "idle_timeout_ms": idle_ms,
        "reconnect": _flag("reconnect", reconnect),
        "max_retries": _max_retries(max_retries),
        "cacert": _cacert(cacert),
        "verify": _flag("verify", verify),
    }
