"""examples/terminal_chart.py, run as a user would, against a local demo-like stream."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict

from conftest import WAIT, Exchange, SseServer

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "terminal_chart.py"


def run_chart(url: str, env: Dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), "--url", url, "--plain", "--width", "40", "--height", "7",
         *extra],
        env=env, capture_output=True, text=True, timeout=WAIT)


def test_the_chart_draws_the_values_of_the_field(server: SseServer,
                                                 module_env: Dict[str, str]) -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0]

    @server.route("/demo/ticks")
    def ticks(exchange: Exchange) -> None:
        exchange.start_stream()
        for n, value in enumerate(values, start=1):
            exchange.send(b'id: %d\nevent: tick\ndata: {"n":%d,"value":%.2f}\n\n' % (n, n, value))
        exchange.hold()

    result = run_chart(server.url("/demo/ticks"), module_env, "--events", str(len(values)))
    assert result.returncode == 0, result.stderr
    last_frame = result.stdout.split("[open]")[-1].splitlines()
    assert "value of 5 events" in last_frame[0]
    assert last_frame[1].startswith("last 50.00")
    plot = last_frame[2:-1]
    assert plot[0].startswith("   50.00 ┤") and plot[-1].startswith("   10.00 ┤")
    # A rising series: only the newest column reaches the top row, and it is full height.
    assert plot[0][10:15].rstrip() == "    █"
    assert all(row[14] == "█" for row in plot)


def test_the_chart_exits_1_when_the_stream_fails(server: SseServer,
                                                 module_env: Dict[str, str]) -> None:
    result = run_chart(server.url("/missing"), module_env)
    assert result.returncode == 1
    assert "404" in result.stderr


def test_the_chart_exits_2_on_a_bad_url(module_env: Dict[str, str]) -> None:
    result = run_chart("ftp://127.0.0.1/", module_env)
    assert result.returncode == 2
    assert "http://" in result.stderr
