"""Waiting releases the GIL, Ctrl-C interrupts a blocked iteration, close() works from any
thread."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List

import ssekit
from conftest import WAIT, Exchange, SseServer, wait_until


def silent_stream(server: SseServer, path: str = "/silent") -> str:
    @server.route(path)
    def silent(exchange: Exchange) -> None:
        exchange.start_stream()
        exchange.send(b"data: ready\n\n")
        exchange.hold()

    return server.url(path)


def test_another_thread_runs_while_one_waits_for_events(server: SseServer) -> None:
    url = silent_stream(server)
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    with ssekit.EventSource(url) as source:
        assert source.next(timeout=WAIT) == ssekit.Event(data="ready")
        counter = threading.Thread(target=count)
        counter.start()
        before = ticks
        assert source.next(timeout=0.5) is None  # blocks the main thread half a second
        during = ticks - before
        stop.set()
        counter.join(WAIT)
    # A pure-Python loop counts millions a second, and still a few hundred thousand in half a
    # second on a machine loaded forty times over; a wait holding the GIL would leave it nothing
    # but the odd switch interval before the wait began.
    assert during > 10_000, during


def test_close_from_another_thread_ends_a_blocked_iteration(server: SseServer) -> None:
    url = silent_stream(server)
    source = ssekit.EventSource(url)
    received: List[ssekit.Event] = []
    iterating = threading.Thread(target=lambda: received.extend(source))
    iterating.start()
    wait_until(lambda: len(received) == 1, what="the first event")

    started = time.monotonic()
    closer = threading.Thread(target=source.close)
    closer.start()
    closer.join(WAIT)
    iterating.join(WAIT)
    assert not iterating.is_alive() and not closer.is_alive()
    assert time.monotonic() - started < 1.0
    assert received == [ssekit.Event(data="ready")]
    assert source.state == "closed"
    source.close()  # idempotent
    assert source.next(timeout=0) is None


def test_concurrent_close_calls_are_safe(server: SseServer) -> None:
    source = ssekit.EventSource(silent_stream(server))
    assert source.next(timeout=WAIT) is not None
    closers = [threading.Thread(target=source.close) for _ in range(8)]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join(WAIT)
    assert all(not c.is_alive() for c in closers)
    assert source.state == "closed"


CHILD = """
import sys, time, ssekit
source = ssekit.EventSource(sys.argv[1])
try:
    for event in source:
        print(event.data, flush=True)
except KeyboardInterrupt:
    print(f"interrupted at {time.monotonic():.6f}", flush=True)
    raise
"""


def main_thread_state(pid: int) -> str:
    """The scheduler state of a process's main thread: 'S' while it sleeps in a wait."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rpartition(")")[2].split()[0]


def test_ctrl_c_interrupts_a_blocked_iteration_promptly(
    server: SseServer, module_env: Dict[str, str]
) -> None:
    url = silent_stream(server)
    child = subprocess.Popen([sys.executable, "-c", CHILD, url], env=module_env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        # The child is blocked once its main thread sleeps in the wait for the next event.
        wait_until(lambda: main_thread_state(child.pid) == "S", what="the child to block")

        sent = time.monotonic()  # CLOCK_MONOTONIC: the same clock in the child
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=WAIT)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(WAIT)
    assert "KeyboardInterrupt" in stderr
    assert child.returncode == -signal.SIGINT  # Python re-raises an uncaught SIGINT
    interrupted = float(stdout.split("interrupted at ")[1])
    # The wait checks for signals every 50 ms, so 200 ms holds with room to spare; the bound
    # leaves more for a CI machine whose scheduler is slow to run the child at all.
    assert interrupted - sent < 0.5, interrupted - sent
