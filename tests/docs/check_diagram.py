#!/usr/bin/python3
"""Renders docs/architecture.dot with Graphviz and checks that docs/architecture.svg, which the
Markdown shows, is that rendering: the diagram's source must parse, and the picture readers see
must not lag behind it."""
import argparse
import os
import subprocess
import sys

# Graphviz lays out a small graph in well under a second; this is room for a loaded machine.
DOT_TIMEOUT = 60


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dot", required=True)
    parser.add_argument("--root", required=True, help="repository root")
    args = parser.parse_args()

    source = os.path.join(args.root, "docs", "architecture.dot")
    committed = os.path.join(args.root, "docs", "architecture.svg")
    result = subprocess.run([args.dot, "-Tsvg", source], capture_output=True, text=True,
                            timeout=DOT_TIMEOUT)
    if result.returncode != 0 or result.stderr.strip():
        print("FAIL: dot could not render %s:\n%s" % (source, result.stderr))
        return 1
    if not os.path.exists(committed) or open(committed).read() != result.stdout:
        print("FAIL: docs/architecture.svg is not the rendering of docs/architecture.dot; "
              "run from the repository root:\n  dot -Tsvg docs/architecture.dot -o "
              "docs/architecture.svg")
        return 1
    print("docs/architecture.svg matches docs/architecture.dot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
