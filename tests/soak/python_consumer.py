"""Soak consumer: follows one stream with ssekit.EventSource and prints each event as JSON.

One line per event, ``{"event":...,"data":...,"id":...}`` like ``ssetail --json``, flushed at
once, so the soak driver checks the Python binding the same way it checks ssetail. It runs
until the driver stops it, or for --max-seconds at most.
"""

import argparse
import json
import sys
import time

import ssekit

# How long one wait for an event lasts, so the time limit is looked at regularly.
WAIT_SLICE_SECONDS = 0.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--last-event-id", default=None)
    parser.add_argument("--idle-timeout", type=float, required=True)
    parser.add_argument("--backoff-initial", type=float, required=True)
    parser.add_argument("--backoff-max", type=float, required=True)
    parser.add_argument("--max-seconds", type=float, required=True)
    args = parser.parse_args()

    deadline = time.monotonic() + args.max_seconds
    with ssekit.EventSource(args.url, last_event_id=args.last_event_id,
                            idle_timeout=args.idle_timeout,
                            backoff_initial=args.backoff_initial,
                            backoff_max=args.backoff_max) as source:
        while not source.closed and time.monotonic() < deadline:
            event = source.next(timeout=WAIT_SLICE_SECONDS)
            if event is None:
                continue
            line = json.dumps({"event": event.type, "data": event.data, "id": event.id},
                              separators=(",", ":"))
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    # The stream should never end by itself under the soak: say so for the driver's report.
    print("python consumer: the stream ended" if source.closed else
          "python consumer: time limit reached", file=sys.stderr)
    return 1 if source.closed else 0


if __name__ == "__main__":
    sys.exit(main())
