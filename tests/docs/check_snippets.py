#!/usr/bin/python3
"""Compiles every C++ snippet and byte-compiles every Python snippet of the Markdown docs, so
the docs cannot drift from the API.

The convention (also in docs/writing-docs.md):

  ```cpp      compiled against the public headers. A block with `int main(` is a translation
              unit of its own. Any other block is a fragment: its #include lines move to the
              top, the rest becomes the body of a function, so statements and local variables
              work as written. Every fragment may assume <ssekit/ssekit.hpp>, the usual standard
              headers (see PRELUDE) and `using namespace std::chrono_literals;`.
  ```python   byte-compiled with this Python (Debian's /usr/bin/python3 in the tests); `>>>`
              sessions keep only their input lines.
  anything else (```text, ```sh, ```cmake, ```nginx, ```json, ...) is not checked.

A comment on the line right before a block changes how it is treated:

  <!-- snippet: declarations -->  the block is namespace-scope code (functions, classes) that
                                  later fragments of the same page may use
  <!-- snippet: skip REASON -->   not checked; the reason is required and printed

Errors point into the Markdown file itself (`#line`), so a compiler message reads
`docs/client.md:42: error: ...`.
"""
import argparse
import concurrent.futures
import glob
import os
import re
import subprocess
import sys

PRELUDE = """\
#include <ssekit/ssekit.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
"""

CPP_TAGS = {"cpp", "c++", "cxx"}
PYTHON_TAGS = {"python", "py", "pycon"}
FENCE = re.compile(r"^(\s*)```\s*([A-Za-z0-9_+-]*)")
MARKER = re.compile(r"^\s*<!--\s*snippet:\s*(declarations|skip)\b\s*(.*?)\s*-->\s*$")
# A compile of one translation unit takes a second or two; this is room for a loaded machine.
COMPILE_TIMEOUT = 120


class Snippet:
    def __init__(self, path, line, tag, code, marker, reason):
        self.path = path      # the Markdown file, as shown in messages
        self.line = line      # line of the first code line (1-based)
        self.tag = tag
        self.code = code      # list of lines
        self.marker = marker  # None, "declarations" or "skip"
        self.reason = reason

    @property
    def where(self):
        return "%s:%d" % (self.path, self.line)

    @property
    def standalone(self):
        return any(re.search(r"\bint\s+main\s*\(", l) for l in self.code)


def extract(path, shown_path):
    """Returns the fenced blocks of a Markdown file as Snippets (all languages)."""
    lines = open(path, encoding="utf-8").read().split("\n")
    snippets = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        tag = match.group(2).lower()
        marker = MARKER.match(lines[i - 1]) if i > 0 else None
        start = i + 1
        end = start
        while end < len(lines) and not re.match(r"^\s*```\s*$", lines[end]):
            end += 1
        indent = len(match.group(1))
        code = [l[indent:] if l[:indent].strip() == "" else l for l in lines[start:end]]
        snippets.append(Snippet(shown_path, start + 1, tag, code,
                                marker.group(1) if marker else None,
                                marker.group(2) if marker else ""))
        i = end + 1
    return snippets


def line_directive(snippet, offset=0):
    return '#line %d "%s"' % (snippet.line + offset, snippet.path)


def fragment_source(snippet, index):
    """A fragment as C++: hoisted includes, then a function holding the statements."""
    includes, body = [], []
    for n, l in enumerate(snippet.code):
        if l.lstrip().startswith("#include"):
            includes += [line_directive(snippet, n), l]
        else:
            body.append((n, l))
    out = includes + ["int snippet_%d() {" % index]
    if body:
        out.append(line_directive(snippet, body[0][0]))
        out += [l for _, l in body]
    out += ["return 0;", "}"]
    return out


def page_source(page_snippets, only=None):
    """One translation unit for the fragments and declarations of a page (or one fragment of it
    with the declarations before it, when `only` is given)."""
    out = []
    for index, s in enumerate(page_snippets):
        if s.marker == "declarations":
            if only is not None and index > only:
                break
            out += [line_directive(s)] + s.code
        elif only is None or index == only:
            out += fragment_source(s, index)
    return "\n".join(out) + "\n"


def compiler_flags(args):
    return ["-std=c++17", "-Wall"] + ["-I" + d for d in args.include]


def precompile_prelude(args):
    """Writes the prelude as a header and precompiles it, so each translation unit skips
    re-reading the standard library and ssekit's headers (a few seconds each on a busy machine).
    Returns the -include flags; without a precompiled header they still work, only slower."""
    header = os.path.join(args.work_dir, "snippet_prelude.hpp")
    with open(header, "w") as f:
        f.write("#pragma once\n" + PRELUDE)
    version = subprocess.run([args.compiler, "--version"], capture_output=True, text=True)
    suffix = ".pch" if "clang" in version.stdout else ".gch"
    subprocess.run([args.compiler] + compiler_flags(args) + ["-x", "c++-header", header,
                    "-o", header + suffix], capture_output=True, timeout=COMPILE_TIMEOUT)
    return ["-include", header]


def compile_source(args, source, name):
    """Compiles `source` (syntax and semantics, no code generation) after the prelude; returns
    the messages when it fails, None when it compiles."""
    path = os.path.join(args.work_dir, name)
    with open(path, "w") as f:
        f.write(source)
    command = [args.compiler, "-fsyntax-only"] + compiler_flags(args) + args.prelude_flags
    command.append(path)
    result = subprocess.run(command, capture_output=True, text=True, timeout=COMPILE_TIMEOUT)
    return None if result.returncode == 0 else result.stderr


def first_errors(messages, limit=6):
    lines = [l for l in messages.splitlines() if "error" in l]
    return "\n".join("    " + l for l in lines[:limit])


def check_cpp(args, pages):
    """Returns a list of (snippet, messages) for the C++ snippets that do not compile."""
    failures = []
    jobs = []  # (description, source, snippets it covers)
    for page, snippets in pages.items():
        cpp = [s for s in snippets if s.tag in CPP_TAGS and s.marker != "skip"]
        fragments = [s for s in cpp if not s.standalone]
        if fragments:
            jobs.append(("page", page, fragments))
        for s in cpp:
            if s.standalone:
                jobs.append(("unit", page, [s]))

    def run(job):
        kind, page, snippets = job
        stem = re.sub(r"[^A-Za-z0-9]+", "_", page)
        if kind == "unit":
            s = snippets[0]
            source = line_directive(s) + "\n" + "\n".join(s.code) + "\n"
            messages = compile_source(args, source, "%s_%d.cpp" % (stem, s.line))
            return [(s, messages)] if messages else []
        messages = compile_source(args, page_source(snippets), stem + ".cpp")
        if not messages:
            return []
        # The page fails: compile its fragments one by one to name each broken one.
        found = []
        for index, s in enumerate(snippets):
            if s.marker == "declarations":
                continue
            one = compile_source(args, page_source(snippets, index), "%s_%d.cpp" % (stem, s.line))
            if one:
                found.append((s, one))
        return found or [(snippets[0], messages)]

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for result in pool.map(run, jobs):
            failures += result
    return failures


def check_python(pages):
    failures = []
    for snippets in pages.values():
        for s in snippets:
            if s.tag not in PYTHON_TAGS or s.marker == "skip":
                continue
            code = s.code
            if any(l.startswith(">>>") for l in code):
                code = [l[4:] for l in code if l.startswith(">>>") or l.startswith("...")]
            try:
                compile("\n" * (s.line - 1) + "\n".join(code) + "\n", s.path, "exec")
            except SyntaxError as error:
                failures.append((s, "    %s:%s: %s" % (s.path, error.lineno, error.msg)))
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True, help="repository root")
    parser.add_argument("--compiler", required=True)
    parser.add_argument("--include", action="append", required=True)
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--expect-failures", default=None,
                        help="comma-separated file:line list that must fail, and nothing else "
                             "(to test this checker on a fixture)")
    parser.add_argument("files", nargs="*",
                        help="Markdown files relative to --root (default README.md docs/*.md)")
    args = parser.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)

    files = args.files or (["README.md"] + sorted(
        os.path.relpath(p, args.root) for p in glob.glob(os.path.join(args.root, "docs", "*.md"))))
    pages = {f: extract(os.path.join(args.root, f), f) for f in files}
    args.prelude_flags = precompile_prelude(args)

    counted = {"cpp": 0, "python": 0, "skipped": 0}
    for snippets in pages.values():
        for s in snippets:
            if s.marker == "skip" and (s.tag in CPP_TAGS or s.tag in PYTHON_TAGS):
                counted["skipped"] += 1
                if not s.reason:
                    print("FAIL %s: a skipped snippet must say why" % s.where)
                    return 1
                print("skip %s: %s" % (s.where, s.reason))
            elif s.tag in CPP_TAGS:
                counted["cpp"] += 1
            elif s.tag in PYTHON_TAGS:
                counted["python"] += 1

    failures = check_cpp(args, pages) + check_python(pages)
    for s, messages in sorted(failures, key=lambda f: f[0].where):
        print("FAIL %s (```%s block)\n%s" % (s.where, s.tag, first_errors(messages) or messages))
    print("checked %d C++ and %d Python snippets in %d files (%d skipped): %d failed" %
          (counted["cpp"], counted["python"], len(files), counted["skipped"], len(failures)))

    if args.expect_failures is not None:
        expected = set(w for w in args.expect_failures.split(",") if w)
        got = set(s.where for s, _ in failures)
        if got != expected:
            print("FAIL: expected failures at %s, got %s" % (sorted(expected), sorted(got)))
            return 1
        return 0
    if counted["cpp"] == 0:
        print("FAIL: no C++ snippet found; the extraction is broken")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
