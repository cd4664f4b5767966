#!/usr/bin/python3
"""The dashboard in a real terminal (tmux) against a real ssebridge, in one of two scenarios:

  server-restart  kill the server, watch the countdown run, restart the server on the same port,
                  see events flow again, quit with q and check the exit code;
  link-drop       cut the connection (a TCP relay between the two goes away and comes back) while
                  the server keeps ticking, and check that the dashboard resumes from its last
                  event id without a gap: every id the server sent meanwhile arrives, once;
  exit-codes      the documented exit codes of a bad option, a refused URL and no terminal.

Every wait is a poll of the screen with a deadline; nothing relies on a fixed sleep.
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
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


class Relay:
    """A TCP relay on 127.0.0.1 that can be cut and restored on the same port: a dropped link
    (a NAT reset, a Wi-Fi change) while the server itself stays up."""

    # Bytes moved per read; an event of the demo stream is about 80.
    CHUNK = 65536

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.port = 0
        self.sockets = []
        self.lock = threading.Lock()
        self.listener = None

    def start(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, args=(self.listener,), daemon=True).start()

    def accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut(): the listener closed
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
            upstream.settimeout(None)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    def pump(self, source, sink):
        try:
            while True:
                data = source.recv(self.CHUNK)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        """Closes the listener and every relayed connection, as a dead link would."""
        # shutdown() first: on Linux it wakes the thread blocked in accept(), which close()
        # alone does not, and that thread would keep the port listening.
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


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


def screen_where(terminal, predicate):
    """The screen, when predicate(screen) holds; None otherwise (for wait_for)."""
    screen = terminal.screen()
    return screen if predicate(screen) else None


def number(screen, pattern):
    match = re.search(pattern, screen, re.MULTILINE)
    return int(match.group(1)) if match else None


def start_dashboard(args, terminal, url, status_path):
    """Starts the dashboard in tmux and waits until it shows an open stream with values."""
    terminal.start("%s --max-delay %s %s; echo $? > %s" %
                   (args.dashboard, MAX_DELAY_SECONDS, url, status_path))
    screen = wait_for("the stream to open with events", lambda: screen_where(
        terminal, lambda s: field(s, "state") == "open" and field(s, "events") not in (None, "0")
        and re.search(r"^\s+value\s+-?\d", s, re.MULTILINE)))
    if field(screen, "last event id") in (None, "(none)"):
        raise Failure("no last event id on screen:\n" + screen)
    if not re.search(r"value over the last minute\s+min \d", screen):
        raise Failure("no chart title with a range:\n" + screen)
    return screen


def wait_for_countdown(terminal):
    """Waits for the reconnect countdown, and for it to move: the UI is live while the network
    gives it nothing."""
    first = wait_for("a countdown", lambda: countdown(terminal.screen()))
    if field(terminal.screen(), "state") not in ("waiting", "connecting"):
        raise Failure("state is not waiting or connecting:\n" + terminal.screen())
    wait_for("the countdown to move", lambda: (
        lambda c: c and c != first)(countdown(terminal.screen())))


def quit_with_q(terminal, status_path):
    """Presses q and checks that the dashboard exits with 0."""
    terminal.send("q")
    wait_for("the dashboard to exit", lambda: os.path.exists(status_path) and
             open(status_path).read().strip() != "")
    code = open(status_path).read().strip()
    if code != "0":
        raise Failure("dashboard exited with %s, expected 0" % code)


def server_restart(args, work, terminal, status_path, processes):
    bridge, port = start_bridge(args.ssebridge, 0, os.path.join(work, "bridge1.log"))
    processes.append(bridge)

    # 1. The dashboard opens the stream and shows values and the last event id.
    start_dashboard(args, terminal, "http://127.0.0.1:%d/demo/ticks" % port, status_path)

    # 2. The server dies: the dashboard says so and counts down to the next attempt.
    bridge.send_signal(signal.SIGKILL)
    bridge.wait(timeout=10)
    wait_for_countdown(terminal)
    events_before = number(terminal.screen(), r"^events\s+(\d+)")

    # 3. The server comes back on the same port: events flow again.
    bridge, _ = start_bridge(args.ssebridge, port, os.path.join(work, "bridge2.log"))
    processes.append(bridge)
    screen = wait_for("events after the restart", lambda: screen_where(
        terminal, lambda s: field(s, "state") == "open" and
        (number(s, r"^events\s+(\d+)") or 0) > events_before + 2))
    reconnects = number(screen, r"reconnects (\d+)")
    if not reconnects:
        raise Failure("no reconnect counted:\n" + screen)

    # 4. q quits, with exit code 0 and the terminal handed back.
    quit_with_q(terminal, status_path)
    print("server-restart: opened, counted down through %d reconnects, resumed, quit with 0"
          % reconnects)


def link_drop(args, work, terminal, status_path, processes):
    bridge, port = start_bridge(args.ssebridge, 0, os.path.join(work, "bridge.log"))
    processes.append(bridge)
    relay = Relay(port)
    relay.start()

    # 1. The dashboard reads the stream through the relay.
    start_dashboard(args, terminal, "http://127.0.0.1:%d/demo/ticks" % relay.port, status_path)
    before = wait_for("a steady screen", lambda: screen_where(
        terminal, lambda s: field(s, "state") == "open"))
    events_before = number(before, r"^events\s+(\d+)")
    id_before = number(before, r"^last event id\s+(\d+)")

    # 2. The link drops; the server keeps ticking meanwhile, five ticks a second.
    relay.cut()
    wait_for_countdown(terminal)

    # 3. The link comes back: the dashboard resumes from its last id and gets every tick it
    # missed. Ids of the demo stream are consecutive, so events and ids must advance together.
    relay.start()
    after = wait_for("the stream to resume and catch up", lambda: screen_where(
        terminal, lambda s: field(s, "state") == "open" and
        (number(s, r"^last event id\s+(\d+)") or 0) > id_before + 5))
    events_after = number(after, r"^events\s+(\d+)")
    id_after = number(after, r"^last event id\s+(\d+)")
    if number(after, r"missed ids (\d+)") != 0:
        raise Failure("the dashboard missed ids across the reconnect:\n" + after)
    if events_after - events_before != id_after - id_before:
        raise Failure("%d events for ids %d..%d: a gap or a duplicate\n%s" %
                      (events_after - events_before, id_before, id_after, after))
    if "server reset the stream" in after:
        raise Failure("the server could not resume the stream:\n" + after)

    quit_with_q(terminal, status_path)
    relay.cut()
    print("link-drop: resumed from id %d to %d with no gap (%d events)" %
          (id_before, id_after, events_after - events_before))


def exit_codes(args, work, terminal, status_path, processes):
    """The documented exit codes of the ways the dashboard refuses to start (no tmux needed)."""
    cases = [
        ("an unknown option", ["--frobnicate"], 2),
        ("a --max-delay out of range", ["--max-delay", "0"], 2),
        ("a URL the client refuses", ["ftp://127.0.0.1/x"], 3),
        ("stdout that is a pipe", ["http://127.0.0.1:9/demo/ticks"], 4),
    ]
    for what, arguments, expected in cases:
        result = subprocess.run([args.dashboard] + arguments, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=STEP_DEADLINE)
        if result.returncode != expected:
            raise Failure("%s: exit %d, expected %d (%s)" % (what, result.returncode, expected,
                                                              result.stderr.strip()))
        if not result.stderr.strip():
            raise Failure("%s: exit %d without a message on stderr" % (what, expected))
    print("exit codes: %d refusals gave their documented codes" % len(cases))


SCENARIOS = {"server-restart": server_restart, "link-drop": link_drop, "exit-codes": exit_codes}


def check(args, work):
    terminal = Terminal(args.tmux, "ssekit-dashboard-test-%d" % os.getpid())
    status_path = os.path.join(work, "status")
    processes = []
    try:
        SCENARIOS[args.scenario](args, work, terminal, status_path, processes)
    except Failure:
        print("last screen:\n" + terminal.screen(), file=sys.stderr)
        raise
    finally:
        terminal.stop()
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dashboard", required=True)
    parser.add_argument("--ssebridge", required=True)
    parser.add_argument("--tmux", default="tmux")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), required=True)
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
