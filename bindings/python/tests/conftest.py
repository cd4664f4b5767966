"""Fixtures of the ssekit Python suite: a real HTTP server on 127.0.0.1, port 0.

Each test gives the server a handler per path (a function writing the response) and reads what
the server saw. Every wait is bounded by a deadline; nothing sleeps a fixed time to synchronise.
"""

from __future__ import annotations

import os
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest

DATA = Path(__file__).parent / "data"

# The self-signed certificate of the TLS tests (IP SAN 127.0.0.1, valid until 2126), made with
#   openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 36500
#     -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost
#     -addext basicConstraints=critical,CA:TRUE
TLS_CERT = DATA / "tls" / "cert.pem"
TLS_KEY = DATA / "tls" / "key.pem"

# Upper bound of any single wait in the suite: generous for a loaded 2-core CI machine, and
# still short enough that a hang fails the test instead of the whole run.
WAIT = 10.0

# The quickest reconnect the tests use: long enough to be a real backoff, short enough to keep
# reconnect tests well under a second.
FAST_BACKOFF = dict(backoff_initial=0.02, backoff_max=0.05)


@dataclass
class SeenRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: Dict[str, str]
    body: bytes


class Exchange(BaseHTTPRequestHandler):
    """Hands each request to the route the test registered for its path."""

    server: "SseServer"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass  # the suite's output stays readable; tests assert on recorded requests instead

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        self.server.record(SeenRequest(self.command, self.path, dict(self.headers), body))
        route = self.server.routes.get(path)
        try:
            if route is None:
                self.send_error(404)
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client closed the stream: the normal end of many tests

    do_GET = do_POST = _serve

    def start_stream(self, content_type: str = "text/event-stream") -> None:
        """Sends the 200 head of an event stream (HTTP/1.0 style: the body ends at close)."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.flush()

    def send(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    def hold(self, seconds: float = WAIT) -> None:
        """Keeps the stream open and silent until the test ends or `seconds` pass."""
        self.server.stopping.wait(seconds)

    def status(self, code: int, headers: Optional[Dict[str, str]] = None) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if code != 204:
            self.send_header("Content-Length", "0")
        self.end_headers()


Route = Callable[[Exchange], None]


class SseServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Exchange)
        self.routes: Dict[str, Callable[[Exchange], None]] = {}
        self.requests: List[SeenRequest] = []
        self.stopping = threading.Event()
        self._seen = threading.Condition()

    @property
    def base(self) -> str:
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://127.0.0.1:{self.server_port}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str) -> Callable[[Route], Route]:
        """Decorator: the function serves `path`."""

        def register(handler: Route) -> Route:
            self.routes[path] = handler
            return handler

        return register

    def record(self, request: SeenRequest) -> None:
        with self._seen:
            self.requests.append(request)
            self._seen.notify_all()

    def requests_to(self, path: str) -> List[SeenRequest]:
        """The requests to `path` so far, in arrival order."""
        with self._seen:
            return self._requests_to(path)

    def _requests_to(self, path: str) -> List[SeenRequest]:
        return [r for r in self.requests if r.path.split("?", 1)[0] == path]


def _serve(server: SseServer) -> Iterator[SseServer]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(WAIT)


@pytest.fixture
def server() -> Iterator[SseServer]:
    yield from _serve(SseServer())


@pytest.fixture
def tls_server() -> Iterator[SseServer]:
    server = SseServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS_CERT, TLS_KEY)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield from _serve(server)


def wait_until(condition: Callable[[], bool], timeout: float = WAIT, what: str = "") -> None:
    """Polls `condition` until it holds; fails the test at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        time.sleep(0.005)


@pytest.fixture
def module_env() -> Dict[str, str]:
    """The environment a child Python process needs to import the built module."""
    env = dict(os.environ)
    import ssekit

    package_parent = str(Path(ssekit.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    return env
