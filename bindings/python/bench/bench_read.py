#!/usr/bin/env python3
"""Reads a stream of 1,000,000 small events over loopback with ssekit.EventSource and with a
plain-Python client (http.client and a straightforward line parser), and parses the same bytes
in memory with ssekit.parse() and with that line parser; prints events/s side by side.

Targets (issue 6): EventSource at least 5 times the plain client; parse() at least 2 million
events/s. The server is a separate process that sends one prepared buffer, so the figures
measure the readers, not the server.

    PYTHONPATH=build/bindings/python /usr/bin/python3 bindings/python/bench/bench_read.py
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import time
from typing import Callable, Iterable, List, Optional, Tuple

import ssekit

DEFAULT_EVENTS = 1_000_000

# The server writes the body in slices this large: big enough that the send loop costs
# nothing next to the readers, small enough not to copy the whole body per call.
SEND_SLICE = 1 << 20

# How long the reader waits for the server process to report its port.
SERVER_START_TIMEOUT = 30.0


def event_stream(count: int) -> bytes:
    """`count` events of about 70 bytes: an id, a type and one line of JSON data."""
    return b"".join(
        b'id: %d\nevent: tick\ndata: {"seq":%d,"value":%.4f,"ok":true}\n\n'
        % (i, i, (i % 2000) / 100 - 10)
        for i in range(count)
    )


def serve(count: int) -> None:
    """Server process: answers every connection with the whole stream, then closes it."""
    body = memoryview(event_stream(count))
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Connection: close\r\n\r\n")
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    while True:
        connection, _ = listener.accept()
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = connection.recv(4096)
                if not chunk:
                    break
                request += chunk
            try:
                connection.sendall(head)
                for start in range(0, len(body), SEND_SLICE):
                    connection.sendall(body[start : start + SEND_SLICE])
            except (BrokenPipeError, ConnectionResetError):
                pass


class PlainEvent:
    """The plain client's event: the same three fields as ssekit.Event."""

    __slots__ = ("type", "data", "id")

    def __init__(self, type: str, data: str, id: str) -> None:  # noqa: A002 - SSE names
        self.type = type
        self.data = data
        self.id = id


def plain_events(lines: Iterable[bytes]) -> Iterable[PlainEvent]:
    """A straightforward SSE line parser, as an app without a library would write it."""
    data: List[str] = []
    event_type = ""
    last_id = ""
    for raw in lines:
        line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
        if not line:
            if data:
                yield PlainEvent(event_type or "message", "\n".join(data), last_id)
            data = []
            event_type = ""
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value
        elif name == "id" and "\0" not in value:
            last_id = value


def read_with_ssekit(port: int) -> Tuple[int, str]:
    count = 0
    last: Optional[ssekit.Event] = None
    with ssekit.EventSource(f"http://127.0.0.1:{port}/events", reconnect=False) as source:
        for last in source:
            count += 1
    return count, last.id if last else ""


def read_with_plain_python(port: int) -> Tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", "/events", headers={"Accept": "text/event-stream"})
    response = connection.getresponse()
    count = 0
    last: Optional[PlainEvent] = None
    for last in plain_events(response):
        count += 1
    connection.close()
    return count, last.id if last else ""


def best_rates(run: Callable[[], Tuple[int, str]], repeat: int,
               expected: int) -> Tuple[float, float]:
    """Events per second of wall time, and per CPU-second of this process (all its threads),
    each the best of `repeat` runs, after checking that every run read everything.

    The CPU figure is what a reader costs whatever else the machine runs; the wall figure is
    what it delivered on this machine at this moment.
    """
    best_wall = best_cpu = 0.0
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        count, last_id = run()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        if count != expected or last_id != str(expected - 1):
            sys.exit(f"bench_read: read {count} events ending at id {last_id!r}, "
                     f"expected {expected}")
        best_wall = max(best_wall, count / elapsed)
        best_cpu = max(best_cpu, count / cpu)
    return best_wall, best_cpu


def report(name: str, rates: Tuple[float, float], baseline: Optional[Tuple[float, float]] = None,
           target: str = "") -> None:
    """One line: wall and CPU rates in millions of events, and the ratios to `baseline`."""
    line = f"{name:<52} {rates[0] / 1e6:6.2f} M/s  {rates[1] / 1e6:6.2f} M/cpu-s"
    if baseline is not None:
        line += f"   x{rates[0] / baseline[0]:5.1f} wall  x{rates[1] / baseline[1]:5.1f} cpu"
    print(line + (f"   ({target})" if target else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each reader; best counts")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.events)
        return

    server = subprocess.Popen([sys.executable, __file__, "--serve", "--events", str(args.events)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        blob = event_stream(args.events)
        load = os.getloadavg()[0]
        print(f"{args.events} events, {len(blob) / args.events:.1f} bytes each, "
              f"best of {args.repeat} runs; {os.cpu_count()} CPUs, load average {load:.1f}")

        plain = best_rates(lambda: read_with_plain_python(port), args.repeat, args.events)
        native = best_rates(lambda: read_with_ssekit(port), args.repeat, args.events)
        report("loopback  plain Python (http.client + line parser)", plain)
        report("loopback  ssekit.EventSource", native, plain, "target: x5 wall")

        def parse_plain() -> Tuple[int, str]:
            events = list(plain_events(blob.splitlines(keepends=True)))
            return len(events), events[-1].id

        def parse_native() -> Tuple[int, str]:
            events = ssekit.parse(blob)
            return len(events), events[-1].id

        native_parse = best_rates(parse_native, args.repeat, args.events)
        plain_parse = best_rates(parse_plain, args.repeat, args.events)
        report("in memory plain Python line parser", plain_parse)
        report("in memory ssekit.parse()", native_parse, plain_parse, "target: 2 M/s")
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
