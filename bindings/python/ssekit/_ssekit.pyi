# Type stubs of the native module _ssekit. The public API is re-exported by ssekit/__init__.py.
from typing import Any, Callable, Iterable, List, Optional, Tuple, Union

_Bytes = Union[bytes, bytearray, memoryview]

class Event:
    """One Server-Sent Event: its type, its data and the last event ID in force."""

    def __init__(self, *, type: str = "message", data: str = "", id: str = "") -> None: ...
    @property
    def type(self) -> str:
        """The ``event:`` field, else ``"message"``."""
    @property
    def data(self) -> str:
        """The ``data:`` lines joined with ``"\\n"``."""
    @property
    def id(self) -> str:
        """The last event ID in force when the event arrived, ``""`` if none."""
    def json(self) -> Any:
        """Decodes ``data`` as JSON; raises json.JSONDecodeError when it is not JSON."""
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

def parse(data: Union[_Bytes, Iterable[_Bytes]]) -> List[Event]:
    """Parses bytes, or an iterable of bytes chunks, as one event stream with the C++ parser.

    A final event without its blank line is dropped, as a stream that ends there would drop it.
    Raises TypeError for str or anything else that is not bytes.
    """

def version() -> str: ...

class Stream:
    def __init__(
        self,
        *,
        url: str,
        method: str,
        headers: List[Tuple[str, str]],
        body: bytes,
        bearer: str,
        token_provider: Optional[Callable[[], Optional[str]]],
        cookies: str,
        last_event_id: str,
        backoff_initial_ms: int,
        backoff_max_ms: int,
        idle_timeout_ms: int,
        reconnect: bool,
        max_retries: Optional[int],
        cacert: str,
        verify: bool,
    ) -> None: ...
    def start(self) -> None: ...
    def take(self, timeout: Optional[float]) -> Optional[List[Event]]: ...
    def close(self) -> None: ...
    @property
    def state(self) -> str: ...
    @property
    def last_event_id(self) -> str: ...
    def close_reason(self) -> Tuple[str, int, str]: ...
    def callback_error(self) -> Optional[BaseException]: ...
    def wake_fd(self) -> int: ...
    def arm_wake(self) -> bool: ...
    def drain_wake(self) -> None: ...
