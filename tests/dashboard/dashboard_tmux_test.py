#!/usr/bin/python3
"""The dashboard in a real terminal: start ssebridge and the dashboard (inside tmux), read the
screen, kill the server, watch the countdown run, restart the server on the same port, and see
events flow again. Then quit with q and check the exit code.

Every wait is a poll of the screen with a deadline; nothing relies on a fixed sleep.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

# A tick every 200 ms gives the test several events per second without stressing anything.
TICK_INTERVAL = "200ms"
# The dashboard's reconnect ceiling: short, so that the test does not wait through long backoff.
MAX_DELAY_SECONDS = "1"
# Longest wait for any one thing to show on screen; the slowest is a reconnect after the
# server's retry: of 3 s (ssebridge's default) plus jitter and a loaded 2-core machine.
STEP_DEADLINE = 15.0
# How often the screen is read while waiting.
POLL_INTERVAL = 0.1
# Terminal size: wide enough for the status lines, the size most terminals open with.
COLUMNS, ROWS = 100, 30


class Failure(Exception):
    pass


class Terminal:
    """One tmux server of our own (its own socket), holding the dashboard's session."""

    def __init__(self, tmux, socket_name):
        self.tmux = tmux
        self.socket_name = socket_name

    def run(self, *args):
        return subprocess.run([self.tmux, "-L", self.socket_name, *args], check=True,
                              capture_output=True, text=True, timeout=10).stdout

    def start(self, command):
        self.run("new-session", "-d", "-s", "dashboard", "-x", str(COLUMNS), "-y", str(ROWS),
                 command)

    def screen(self):
        try:
            return self.run("capture-pane", "-p", "-t", "dashboard")
        except subprocess.CalledProcessError:
            return ""  # the session ended: the dashboard exited

    def send(self, keys):
        self.run("send-keys", "-t", "dashboard", keys)

    def stop(self):
        subprocess.run([self.tmux, "-L", self.socket_name, "kill-server"],
                       capture_output=True, timeout=10)


def wait_for(what, condition, deadline=STEP_DEADLINE):
    """Polls condition() until it returns something true or the deadline passes."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        result = condition()
        if result:
            return result
        time.sleep(POLL_INTERVAL)
    raise Failure("timed out after %.0f s waiting for %s" % (deadline, what))


def start_bridge(ssebridge, port, log_path):
    """Starts ssebridge on 127.0.0.1:port (0: any) and returns (process, port)."""
    log = open(log_path, "w")
    process = subprocess.Popen(
        [ssebridge, "--listen", "127.0.0.1:%d" % port, "--demo-interval", TICK_INTERVAL],
        stdout=log, stderr=subprocess.STDOUT)

    def listening():
        if process.poll() is not None:
            raise Failure("ssebridge exited with %d: %s" % (process.returncode,
                                                           open(log_path).read()))
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", open(log_path).read())
        return int(match.group(1)) if match else None

    return process, wait_for("ssebridge to listen", listening)


def field(screen, label):
    """The value after a label at the start of a line, such as 'state' or 'events'."""
    match = re.search(r"^%s\s+(\S+)" % re.escape(label), screen, re.MULTILINE)
    return match.group(1) if match else None


def countdown(screen):
    match = re.search(r"reconnecting in (\d+\.\d) s \(attempt (\d+)\)", screen)
    return (float(match.group(1)), int(match.group(2))) if match else None


def check(args, work):
    terminal = Terminal(args.tmux, "ssekit-dashboard-test-%d" % os.getpid())
    status_path = os.path.join(work, "status")
    bridge, port = start_bridge(args.ssebridge, 0, os.path.join(work, "bridge1.log"))
    try:
        # 1. The dashboard opens the stream and shows values and the last event id.
        url = "http://127.0.0.1:%d/demo/ticks" % port
        terminal.start("%s --max-delay %s %s; echo $? > %s" %
                       (args.dashboard, MAX_DELAY_SECONDS, url, status_path))
        screen = wait_for("the stream to open with events", lambda: (
            lambda s: s if field(s, "state") == "open" and field(s, "events") not in (None, "0")
            and re.search(r"^\s+value\s+-?\d", s, re.MULTILINE) else None)(terminal.screen()))
        if field(screen, "last event id") in (None, "(none)"):
            raise Failure("no last event id on screen:\n" + screen)
        if not re.search(r"value over the last minute\s+min \d", screen):
            raise Failure("no chart title with a range:\n" + screen)

        # 2. The server dies: the dashboard says so and counts down to the next attempt.
        bridge.send_signal(signal.SIGKILL)
        bridge.wait(timeout=10)
        first = wait_for("a countdown", lambda: countdown(terminal.screen()))
        if field(terminal.screen(), "state") not in ("waiting", "connecting"):
            raise Failure("state is not waiting or connecting:\n" + terminal.screen())
        # The countdown moves while nothing arrives from the network: the UI is live.
        wait_for("the countdown to move", lambda: (
            lambda c: c and c != first)(countdown(terminal.screen())))
        events_before = int(field(terminal.screen(), "events"))

        # 3. The server comes back on the same port: events flow again.
        bridge, _ = start_bridge(args.ssebridge, port, os.path.join(work, "bridge2.log"))
        screen = wait_for("events after the restart", lambda: (
            lambda s: s if field(s, "state") == "open" and
            int(field(s, "events") or 0) > events_before + 2 else None)(terminal.screen()))
        reconnects = int(re.search(r"reconnects (\d+)", screen).group(1))
        if reconnects < 1:
            raise Failure("no reconnect counted:\n" + screen)

        # 4. q quits, with exit code 0 and the terminal handed back.
        terminal.send("q")
        wait_for("the dashboard to exit", lambda: os.path.exists(status_path) and
                 open(status_path).read().strip() != "")
        code = open(status_path).read().strip()
        if code != "0":
            raise Failure("dashboard exited with %s, expected 0" % code)
        print("dashboard: opened, counted down through %d reconnects, resumed, quit with 0"
              % reconnects)
    except Failure:
        print("last screen:\n" + terminal.screen(), file=sys.stderr)
        raise
    finally:
        terminal.stop()
        if bridge.poll() is None:
            bridge.terminate()
            bridge.wait(timeout=10)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dashboard", required=True)
    parser.add_argument("--ssebridge", required=True)
    parser.add_argument("--tmux", default="tmux")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ssekit-dashboard-") as work:
        try:
            check(args, work)
        except Failure as failure:
            print("FAIL: %s" % failure, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
