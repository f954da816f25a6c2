"""Re-run the README's `$ archsearch ...` examples and put their current output under each command.

    python benchmarks/readme_examples.py          show which examples differ
    python benchmarks/readme_examples.py --write  rewrite them in README.md (atomically)

Each example is a fenced block whose lines starting with "$ " are commands; the output that
follows each command is replaced by what the command prints now (tables flattened to plain,
aligned text at 250 columns, as the README shows them).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BOX = "┏┡└┃│"


def plain(text: str) -> str:
    """rich box tables as aligned plain text; continuation lines folded into their row."""
    out: list[str] = []
    rows: list[list[str]] = []

    def flush() -> None:
        if not rows:
            return
        widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(map(len, rows)))]
        for r in rows:
            cells = []
            for i, c in enumerate(r):
                numeric = re.fullmatch(r"[$]?[-\d.,]+[kM%]?|\d+x\d+", c.strip() or "x") is not None
                cells.append(c.rjust(widths[i]) if numeric else c.ljust(widths[i]))
            out.append(" ".join(cells).rstrip())
        rows.clear()

    for line in text.splitlines():
        if line.startswith(("┏", "┡")):
            continue
        if line.startswith("└"):
            flush()
            continue
        if line.startswith(("┃", "│")):
            cells = [c.strip() for c in line.strip()[1:-1].replace("┃", "│").split("│")]
            if rows and line.startswith("│") and cells[0] == "":
                rows[-1] = [f"{a} {b}".strip() if b else a for a, b in zip(rows[-1], cells)]
            else:
                rows.append(cells)
            continue
        flush()
        out.append(line.rstrip())
    flush()
    return "\n".join(out).rstrip()


def run(command: str) -> str:
    env = {**os.environ, "COLUMNS": "250"}
    args = shlex.split(command)
    res = subprocess.run([sys.executable, "-m", "archsearch", *args[1:]], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=False)
    return plain(res.stdout + res.stderr)


def refreshed(text: str) -> str:
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        if line.startswith("$ archsearch "):
            while i < len(lines) and not lines[i].startswith(("$ ", "```")):
                i += 1  # the old output
            out.extend(run(line[2:]).split("\n"))
    return "\n".join(out)


if __name__ == "__main__":
    old = README.read_text()
    new = refreshed(old)
    if "--write" in sys.argv[1:]:
        from archsearch.yamlio import write_atomic
        write_atomic(README, new)
    print("README examples up to date" if new == old else "README examples changed" +
          (" (written)" if "--write" in sys.argv[1:] else "; run with --write"))
