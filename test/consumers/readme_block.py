#!/usr/bin/env python3
"""Prints a fenced code block of README.md exactly as written.

Usage: readme_block.py README MARKER
The block is the first one after the HTML comment `<!-- ... MARKER ... -->`
(the README marks each block test/consumers/run.sh builds this way). Exits 1
when the marker or its block is missing, so a renamed or dropped snippet fails
the packaging test instead of testing nothing.
"""
import re
import sys


def main() -> int:
    readme, marker = sys.argv[1], sys.argv[2]
    lines = open(readme, encoding="utf-8").read().split("\n")
    starts = [i for i, line in enumerate(lines)
              if line.startswith("<!--") and marker in line and line.rstrip().endswith("-->")]
    if len(starts) != 1:
        print(f"readme_block: {len(starts)} comments name '{marker}' in {readme}", file=sys.stderr)
        return 1
    i = starts[0] + 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or not re.match(r"^```\w*$", lines[i]):
        print(f"readme_block: no code block after the '{marker}' comment", file=sys.stderr)
        return 1
    end = lines.index("```", i + 1) if "```" in lines[i + 1:] else -1
    if end < 0:
        print(f"readme_block: the '{marker}' block is not closed", file=sys.stderr)
        return 1
    sys.stdout.write("\n".join(lines[i + 1:end]) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
