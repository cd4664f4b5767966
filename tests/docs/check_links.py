#!/usr/bin/python3
"""Checks the relative links of README.md and docs/*.md: every linked file exists, and every
#anchor names a heading of its page (GitHub's rule: lower case, punctuation dropped, spaces to
hyphens). Links to other sites are not fetched: the tests stay on loopback."""
import argparse
import glob
import os
import re
import sys

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*```")


def slug(heading):
    text = re.sub(r"`|\*|_(?=\w)|(?<=\w)_", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def prose_lines(path):
    """The lines of a Markdown file outside fenced code blocks, with their numbers."""
    inside = False
    for number, line in enumerate(open(path, encoding="utf-8"), start=1):
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            yield number, line


def anchors(path):
    return {slug(m.group(1)) for _, l in prose_lines(path) for m in [HEADING.match(l)] if m}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True)
    args = parser.parse_args()

    pages = [os.path.join(args.root, "README.md")] + sorted(
        glob.glob(os.path.join(args.root, "docs", "*.md")))
    broken = []
    checked = 0
    for page in pages:
        for number, line in prose_lines(page):
            for target in LINK.findall(line):
                if re.match(r"^[a-z]+:", target):
                    continue  # http:, https:, mailto:
                checked += 1
                path, _, anchor = target.partition("#")
                resolved = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path \
                    else page
                where = "%s:%d" % (os.path.relpath(page, args.root), number)
                if not os.path.exists(resolved):
                    broken.append("%s: %s: no such file" % (where, target))
                elif anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
                    broken.append("%s: %s: no heading with that anchor" % (where, target))
    for b in broken:
        print("FAIL " + b)
    print("checked %d relative links in %d pages: %d broken" % (checked, len(pages), len(broken)))
    return 1 if broken or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
