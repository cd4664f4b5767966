#!/usr/bin/python3
"""Generates the API reference with docs/Doxyfile into a scratch directory and fails on any
Doxygen warning, so a public name without a doc comment cannot land unnoticed."""
import argparse
import os
import shutil
import subprocess
import sys

# Doxygen over eight headers takes a few seconds; this is room for a loaded machine.
DOXYGEN_TIMEOUT = 120
# Pages that must exist: the main page and the two types every app starts with.
EXPECTED_PAGES = ["index.html", "classssekit_1_1Client.html", "structssekit_1_1ClientOptions.html"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--doxygen", required=True)
    parser.add_argument("--root", required=True, help="repository root")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    warnings_log = os.path.join(args.out, "warnings.log")

    # The checked-in Doxyfile, with the output moved out of the source tree.
    config = open(os.path.join(args.root, "docs", "Doxyfile")).read()
    config += "\nOUTPUT_DIRECTORY = %s\nWARN_LOGFILE = %s\n" % (args.out, warnings_log)
    result = subprocess.run([args.doxygen, "-"], input=config, cwd=args.root, text=True,
                            capture_output=True, timeout=DOXYGEN_TIMEOUT)
    if result.returncode != 0:
        print("FAIL: doxygen exited with %d\n%s" % (result.returncode, result.stderr))
        return 1

    warnings = open(warnings_log).read().strip() if os.path.exists(warnings_log) else ""
    warnings = "\n".join(filter(None, [warnings, result.stderr.strip()]))
    if warnings:
        print("FAIL: doxygen warned:\n" + warnings)
        return 1

    missing = [p for p in EXPECTED_PAGES if not os.path.exists(os.path.join(args.out, "html", p))]
    if missing:
        print("FAIL: the reference lacks " + ", ".join(missing))
        return 1
    print("API reference generated without warnings in %s/html" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
