#!/usr/bin/env python3
"""Draws a live chart, in the terminal, of one numeric field of a JSON event stream.

Shows ssekit.EventSource in an app: the stream reconnects by itself when the server restarts (the
title shows the state meanwhile), and next(timeout) keeps the screen current between events.
Standard library only. By default it charts "value" of ssebridge's demo stream:

    ssebridge &                               # serves /demo/ticks on 127.0.0.1:8080
    python3 terminal_chart.py                 # Ctrl-C to stop
    python3 terminal_chart.py --url http://127.0.0.1:8080/demo/ticks --field n

Exit codes: 0 the stream ended (or --events were drawn), 1 the stream failed, 2 bad arguments,
130 interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from collections import deque
from typing import Deque, List, Optional, TextIO

import ssekit

# Eighth blocks: a column's height is drawn to an eighth of a row.
BLOCKS = " ▁▂▃▄▅▆▇█"
EIGHTHS = len(BLOCKS) - 1

# Columns the axis labels take on the left ("  100.00 ┤").
LABEL_WIDTH = 10
# Rows besides the plot: title, status and the bottom axis.
CHROME_ROWS = 3
# How often the screen is redrawn when no event comes, in seconds: state changes show promptly.
IDLE_REDRAW = 0.5

CLEAR_SCREEN = "\x1b[H\x1b[2J"
HOME = "\x1b[H"
HIDE_CURSOR = "\x1b[?25l"
SHOW_CURSOR = "\x1b[?25h"


def plot_rows(values: List[float], height: int) -> List[str]:
    """The chart as `height` text rows, top first, one column per value, with a left axis."""
    low, high = min(values), max(values)
    if math.isclose(low, high):
        low, high = low - 1, high + 1  # a flat series still gets a visible scale
    span = high - low
    levels = [round((v - low) / span * height * EIGHTHS) for v in values]
    rows = []
    for row in range(height - 1, -1, -1):
        floor = row * EIGHTHS
        cells = "".join(BLOCKS[max(0, min(EIGHTHS, level - floor))] for level in levels)
        label = high if row == height - 1 else low if row == 0 else None
        axis = f"{label:>8.2f} ┤" if label is not None else " " * (LABEL_WIDTH - 1) + "│"
        rows.append(axis + cells)
    return rows


def render(source: ssekit.EventSource, url: str, field: str, values: Deque[float], events: int,
           note: str, width: int, height: int) -> str:
    """One screen: a title with the stream's state, a status line, the plot and its axis."""
    title = f"[{source.state}] {field} of {events} events from {url}"
    status = note or (f"last {values[-1]:.2f}" if values else "waiting for the first event")
    plot = plot_rows(list(values), height) if values else [""] * height
    axis = " " * (LABEL_WIDTH - 1) + "└" + "─" * (width - LABEL_WIDTH)
    return "\n".join(line.ljust(width)[:width] for line in [title, status, *plot, axis]) + "\n"


def field_value(event: ssekit.Event, field: str) -> Optional[float]:
    """The numeric `field` of the event's JSON object, or None when it has none."""
    try:
        value = event.json().get(field)
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) else None


def run(args: argparse.Namespace, out: TextIO) -> int:
    columns, lines = shutil.get_terminal_size((80, 24))
    width = args.width or columns
    height = max(2, (args.height or lines) - CHROME_ROWS)
    values: Deque[float] = deque(maxlen=max(1, width - LABEL_WIDTH))
    drawn = 0
    note = ""

    with ssekit.EventSource(args.url) as source:
        if not args.plain:
            out.write(HIDE_CURSOR + CLEAR_SCREEN)
        try:
            while args.events == 0 or drawn < args.events:
                event = source.next(timeout=IDLE_REDRAW)
                if event is None and source.closed:
                    break
                if event is not None:
                    value = field_value(event, args.field)
                    if value is None:
                        note = f"event {event.id or '?'} has no numeric {args.field!r}"
                    else:
                        values.append(value)
                        drawn += 1
                        note = ""
                frame = render(source, args.url, args.field, values, drawn, note, width, height)
                if args.plain:
                    if event is not None:
                        out.write(frame)
                else:
                    out.write(HOME + frame)
                out.flush()
        finally:
            if not args.plain:
                out.write(SHOW_CURSOR)
                out.flush()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080/demo/ticks")
    parser.add_argument("--field", default="value", help="JSON field to chart (default: value)")
    parser.add_argument("--width", type=int, default=0, help="columns (default: the terminal's)")
    parser.add_argument("--height", type=int, default=0, help="rows (default: the terminal's)")
    parser.add_argument("--events", type=int, default=0,
                        help="stop after charting this many values (default: run until Ctrl-C)")
    parser.add_argument("--plain", action="store_true",
                        help="print each frame below the last instead of redrawing in place")
    args = parser.parse_args()
    if args.events < 0 or args.width < 0 or args.height < 0:
        parser.error("--events, --width and --height must not be negative")

    try:
        return run(args, sys.stdout)
    except (ValueError, TypeError) as error:
        print(f"terminal_chart: {error}", file=sys.stderr)
        return 2
    except ssekit.Error as error:
        print(f"terminal_chart: the stream failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
