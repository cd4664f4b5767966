#!/usr/bin/python3
"""Installs the ssekit build into a scratch prefix, builds samples/embed against it as a separate
CMake project, and runs it against a small event-stream server on 127.0.0.1 (port 0).

The sample must print the three events it was sent, in order, with their ids, and exit 0.
"""
import argparse
import http.server
import shutil
import subprocess
import sys
import threading

# What the local server sends: three events with ids, then it holds the stream open like a live
# server would, so the sample's exit proves it stopped after COUNT events by itself.
EVENTS = [("1", "tick", '{"n":1}'), ("2", "tick", '{"n":2}'), ("3", "tick", '{"n":3}')]
# Longest the server holds the stream open after the events; the sample exits long before.
HOLD_SECONDS = 20
# Generous bounds for a configure, a build and a run on a loaded 2-core machine.
STEP_TIMEOUT = 240
RUN_TIMEOUT = 30


class StreamHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        body = "".join("id: %s\nevent: %s\ndata: %s\n\n" % e for e in EVENTS)
        self.wfile.write(body.encode())
        self.wfile.flush()
        self.server.done.wait(HOLD_SECONDS)

    def log_message(self, *args):
        pass  # quiet: the test prints only what matters


def run(command, timeout=STEP_TIMEOUT):
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise SystemExit("FAIL (%d): %s\n%s%s" % (result.returncode, " ".join(command),
                                                  result.stdout, result.stderr))
    return result.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cmake", required=True)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--sample-dir", required=True)
    parser.add_argument("--work-dir", required=True)
    args = parser.parse_args()

    # 1. Install, the way a packager would, into a prefix of our own.
    shutil.rmtree(args.work_dir, ignore_errors=True)
    prefix = args.work_dir + "/prefix"
    run([args.cmake, "--install", args.build_dir, "--prefix", prefix,
         "--component", "Unspecified"])

    # 2. Build the sample as its own project: only the installed package is visible to it.
    build = args.work_dir + "/build"
    run([args.cmake, "-S", args.sample_dir, "-B", build, "-DCMAKE_PREFIX_PATH=" + prefix,
         "-DCMAKE_BUILD_TYPE=Release"])
    run([args.cmake, "--build", build])

    # 3. Run it against a local stream and compare what it printed.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StreamHandler)
    server.daemon_threads = True
    server.done = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d/stream" % server.server_address[1]
        printed = run([build + "/embed", url, str(len(EVENTS))], timeout=RUN_TIMEOUT)
    finally:
        server.done.set()
        server.shutdown()
    expected = "".join("%s %s %s\n" % e for e in EVENTS)
    if printed != expected:
        raise SystemExit("FAIL: embed printed\n%s\nexpected\n%s" % (printed, expected))
    print("embed: built against %s and printed the %d events" % (prefix, len(EVENTS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
