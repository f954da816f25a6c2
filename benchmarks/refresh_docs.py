"""Re-run every example in README.md and docs/*.md and put what the tool prints now under it.

    python benchmarks/refresh_docs.py           list what is stale; exit 1 if anything is
    python benchmarks/refresh_docs.py --write   rewrite every stale example, image and table

Nothing is guessed: an example is refreshed only where it is marked (docs/refreshing-docs.md):

- a line ``$ archsearch ARGS`` inside a fenced block: the lines after it, up to the next
  ``$ `` line or the closing fence, are its output. A trailing ``  # exit N`` says the
  command is expected to exit with N (the errors page); otherwise it must exit 0.
- ``<!-- archsearch: ARGS -->`` (or ``<!-- archsearch exit=N: ARGS -->``) on the line
  before a fenced block: the whole block is the output of ``archsearch ARGS``.
- ``<!-- archsearch image: ARGS -->`` on the line before ``![alt](FILE.png)``: ARGS writes
  that image (it names the image's path from the repository root). Beside it,
  ``FILE.png.json`` holds the data the image was drawn from (every line, point, cell,
  text, label and colour of the matplotlib figure); the staleness check compares that
  data, never the PNG bytes, which change with the matplotlib version.

Besides: the "model vs published" table in docs/validation.md (tests/validation/table.py)
and docs/index.md, which is README.md with its links turned into links within the site.

Commands run from the repository root as ``python -m archsearch`` (this tree, not an
installed copy) with COLUMNS=200, two at a time; rich's box tables are flattened to
aligned plain text. The solver's wall time ("0.27 s" in the solver line) is not compared.
If any command fails (or exits other than expected), nothing is written and the exit
status is 1, naming the file, line and command. A search stopped by its time limit (wall
time, so a loaded machine can reach it) is retried once, alone, before it counts as failed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
WIDTH = "200"
WORKERS = 2
TIMEOUT_S = 600
TIME_LIMIT = "time limit reached"  # the message of a search stopped by its (wall-clock) time limit
INDEX_HEADER = ("<!-- generated from README.md by benchmarks/refresh_docs.py --write; "
                "edit README.md, not this file -->\n")

SHELL = re.compile(r"^\$ archsearch (?P<args>.*?)(?:\s+# exit (?P<exit>\d+))?\s*$")
BLOCK = re.compile(r"^<!-- archsearch(?: exit=(?P<exit>\d+))?: (?P<args>.*?) -->\s*$")
IMAGE = re.compile(r"^<!-- archsearch image: (?P<args>.*?) -->\s*$")
IMAGE_LINK = re.compile(r"^!\[[^\]]*\]\((?P<path>[^)\s]+)\)\s*$")
FENCE = re.compile(r"^```")
# what changes from run to run and is not compared: the solver's wall time
VOLATILE = [re.compile(r"(?<=CP-SAT solves, )\d+(?:\.\d+)? s"), re.compile(r"(?<=cells\), )\d+(?:\.\d+)? s")]


class MarkerError(Exception):
    """A marker that cannot be followed (no block after it, an image its command does not write)."""


@dataclass
class Example:
    """One marked example: where it is, what to run, and the lines it owns."""
    file: Path
    line: int                 # 1-based line of the marker or of the "$ " command
    args: tuple[str, ...]
    exit: int = 0
    start: int = 0            # the output lines it owns: lines[start:end] (0-based)
    end: int = 0
    image: Path | None = None  # image examples: the image file

    @property
    def where(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"

    @property
    def command(self) -> str:
        return "archsearch " + shlex.join(self.args)


@dataclass
class Outcome:
    text: str = ""
    data: dict | None = None
    image: Path | None = None
    error: str = ""


@dataclass
class Report:
    stale: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    new_text: dict[Path, str] = field(default_factory=dict)
    new_data: dict[Path, dict] = field(default_factory=dict)
    new_images: dict[Path, Path] = field(default_factory=dict)  # image in docs/ -> the one just drawn


def pages() -> list[Path]:
    """The Markdown files whose examples are refreshed (docs/index.md is generated instead)."""
    return [ROOT / "README.md"] + sorted(p for p in DOCS.glob("*.md") if p.name != "index.md")


# ---------------------------------------------------------------- finding the examples

def find_examples(path: Path, text: str) -> list[Example]:
    lines = text.split("\n")
    found: list[Example] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m_block, m_image = BLOCK.match(line), IMAGE.match(line)
        if m_image:
            link = IMAGE_LINK.match(lines[i + 1]) if i + 1 < len(lines) else None
            if link is None:
                raise MarkerError(f"{path.relative_to(ROOT)}:{i + 1}: an image marker must be followed by "
                                  "![alt](FILE) on the next line")
            image = (path.parent / link["path"]).resolve()
            args = tuple(shlex.split(m_image["args"]))
            if str(image.relative_to(ROOT)) not in args:
                raise MarkerError(f"{path.relative_to(ROOT)}:{i + 1}: the image marker's command does not name "
                                  f"{image.relative_to(ROOT)}, the image after it")
            found.append(Example(path, i + 1, args, image=image))
            i += 2
            continue
        if m_block:
            if i + 1 >= len(lines) or not FENCE.match(lines[i + 1]):
                raise MarkerError(f"{path.relative_to(ROOT)}:{i + 1}: an output marker must be followed by "
                                  "a fenced block on the next line")
            close = _closing_fence(lines, i + 1, path)
            found.append(Example(path, i + 1, tuple(shlex.split(m_block["args"])), int(m_block["exit"] or 0),
                                 i + 2, close))
            i = close + 1
            continue
        if FENCE.match(line):
            close = _closing_fence(lines, i, path)
            j = i + 1
            while j < close:
                m = SHELL.match(lines[j])
                if not m:
                    j += 1
                    continue
                k = j + 1
                while k < close and not lines[k].startswith("$ "):
                    k += 1
                found.append(Example(path, j + 1, tuple(shlex.split(m["args"])), int(m["exit"] or 0), j + 1, k))
                j = k
            i = close + 1
            continue
        i += 1
    return found


def _closing_fence(lines: list[str], opening: int, path: Path) -> int:
    for k in range(opening + 1, len(lines)):
        if FENCE.match(lines[k]):
            return k
    raise MarkerError(f"{path.relative_to(ROOT)}:{opening + 1}: a fenced block that never closes")


OUTPUT_SIGNS = ("CP-SAT solves", "every design enumerated (", "archsearch: error:", "sweep of ", "crossovers (")


def unmarked_outputs(path: Path, text: str) -> list[str]:
    """Fenced blocks that look like archsearch output but are not marked examples (so never refreshed)."""
    owned = {n for ex in find_examples(path, text) for n in range(ex.start, ex.end)}
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        if FENCE.match(lines[i]):
            close = _closing_fence(lines, i, path)
            loose = [n for n in range(i + 1, close) if n not in owned and not lines[n].startswith("$ ")
                     and any(s in lines[n] for s in OUTPUT_SIGNS)]
            if loose:
                out.append(f"{path.relative_to(ROOT)}:{loose[0] + 1}: output that no marker refreshes")
            i = close + 1
        else:
            i += 1
    return out


# ---------------------------------------------------------------- running them

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
                numeric = re.fullmatch(r"[$]?[-\d.,]+[kMG%]?(?: ◆)?|\d+x\d+", c.strip() or "x") is not None
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


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
    env.update(COLUMNS=WIDTH, LINES="50", NO_COLOR="1", TERM="dumb")
    return env


def run(ex: Example, image_to: Path | None = None) -> Outcome:
    """Run one example; an image is drawn into image_to, never into docs/."""
    args = list(ex.args)
    data_file = target = None
    if ex.image is not None:
        target = image_to or Path(tempfile.mkdtemp(prefix="archsearch-docs-")) / ex.image.name
        rel = str(ex.image.relative_to(ROOT))
        args = [str(target) if a == rel else a for a in args]
        fd, data_file = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--exec", data_file, "--", *args]
    else:
        cmd = [sys.executable, "-m", "archsearch", *args]
    try:
        res = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=TIMEOUT_S,
                             check=False)
    except subprocess.TimeoutExpired:
        return Outcome(error=f"{ex.where}: `{ex.command}` ran over {TIMEOUT_S} s")
    text = plain((res.stdout + res.stderr).replace(str(ROOT) + os.sep, ""))
    if res.returncode != ex.exit or "Traceback (most recent call last)" in text:
        tail = "\n    ".join(text.splitlines()[-8:])
        return Outcome(error=f"{ex.where}: `{ex.command}` exited {res.returncode}, expected {ex.exit}:\n    {tail}")
    data = None
    if data_file is not None:
        data = json.loads(Path(data_file).read_text())
        os.unlink(data_file)
        data = {"command": ex.command, "figures": data}
    return Outcome(text=text, data=data, image=target)


def _slowness(ex: Example) -> int:
    """A rough order of run time: split pools search five prefill pools; plots solve per medium; sweeps per value."""
    return 3 if "--disaggregate" in ex.args else 2 if ex.image else 1 if ex.args[:1] in (("sweep",), ("pareto",)) else 0


def masked(text: str) -> str:
    for pattern in VOLATILE:
        text = pattern.sub("…", text)
    return text


def check(image_dir: Path | None = None) -> Report:
    """Run every example once; say which are stale and what the new files would be (nothing is written)."""
    report = Report()
    examples: list[Example] = []
    texts: dict[Path, str] = {}
    for path in pages():
        texts[path] = path.read_text(encoding="utf-8")
        try:
            examples += find_examples(path, texts[path])
        except MarkerError as e:
            report.errors.append(str(e))
    tmp = Path(tempfile.mkdtemp(prefix="archsearch-docs-")) if image_dir is None else image_dir

    def one(ex: Example) -> Outcome:  # images are drawn into tmp, and copied into docs/ only by write()
        return run(ex, tmp / f"{ex.file.stem}-{ex.line}-{ex.image.name}") if ex.image else run(ex)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:  # the slowest first, so they never wait last
        futures = {id(ex): pool.submit(one, ex) for ex in sorted(examples, key=_slowness, reverse=True)}
        outcomes = [futures[id(ex)].result() for ex in examples]
    # a search's time limit is wall time: on a loaded machine, retry such a failure once, alone
    outcomes = [one(ex) if got.error and TIME_LIMIT in got.error else got for ex, got in zip(examples, outcomes)]

    for path, text in texts.items():
        lines = text.split("\n")
        for ex, got in sorted(((e, o) for e, o in zip(examples, outcomes) if e.file == path),
                              key=lambda eo: -eo[0].start):
            if got.error:
                report.errors.append(got.error)
                continue
            if ex.image is not None:
                data_path = ex.image.with_name(ex.image.name + ".json")
                old = json.loads(data_path.read_text()) if data_path.exists() else None
                if old != got.data or not ex.image.exists():
                    report.stale.append(f"{ex.where}: image {ex.image.relative_to(ROOT)} (`{ex.command}`)")
                    report.new_data[data_path] = got.data
                    report.new_images[ex.image] = got.image
                continue
            old_out = "\n".join(lines[ex.start:ex.end])
            if masked(old_out) != masked(got.text):
                report.stale.append(f"{ex.where}: `{ex.command}`")
                lines[ex.start:ex.end] = got.text.split("\n")
        if "\n".join(lines) != text:
            report.new_text[path] = "\n".join(lines)

    _validation_table(report, texts)
    readme = report.new_text.get(ROOT / "README.md", texts[ROOT / "README.md"])
    index = DOCS / "index.md"
    new_index = site_index(readme)
    if not index.exists() or index.read_text(encoding="utf-8") != new_index:
        report.stale.append("docs/index.md: not README.md as a site page")
        report.new_text[index] = new_index
    return report


def _validation_table(report: Report, texts: dict[Path, str]) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from validation import table
    finally:
        sys.path.remove(str(ROOT / "tests"))
    page = table.PAGE
    text = report.new_text.get(page, texts.get(page, ""))
    if table.BEGIN not in text:
        report.errors.append(f"{page.relative_to(ROOT)}: the model-vs-published markers are missing")
        return
    try:
        new = table.replaced(text, table.render(table.total_rows(), table.speed_rows()))
    except Exception as e:  # noqa: BLE001 - the table is built from the model: any failure is reported
        report.errors.append(f"{page.relative_to(ROOT)}: the model-vs-published table failed: {e!r}")
        return
    if new != text:
        report.stale.append(f"{page.relative_to(ROOT)}: the model-vs-published table")
        report.new_text[page] = new


# ---------------------------------------------------------------- docs/index.md from README.md

LINK = re.compile(r"\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)\)")


def site_index(readme: str) -> str:
    """README.md as the site's home: links into docs/ become site links; links to other files
    of the repository (outside the site) keep their text only."""
    def link(m: re.Match) -> str:
        target = m["target"]
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            return m[0]
        if target.startswith("docs/"):
            return f"[{m['text']}]({target[len('docs/'):]})"
        return m["text"]
    return INDEX_HEADER + LINK.sub(link, readme)


# ---------------------------------------------------------------- the data behind an image

def _num(x) -> float | None:
    x = float(x)
    return None if x != x else float(f"{x:.6g}")  # NaN (a masked cell) -> null; 6 significant digits


def _nums(values) -> list:
    import numpy as np
    arr = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan)
    return [_nums(v) if np.ndim(v) else _num(v) for v in arr]


def figure_data(fig) -> dict:
    """What a reader sees in a figure, as data: independent of how matplotlib encodes the PNG."""
    from matplotlib.colors import to_hex
    from matplotlib.ticker import FixedFormatter, FuncFormatter

    def ticks(axis) -> list[str] | None:
        """Tick labels the plot set itself (matplotlib's own number formatting varies by version)."""
        if isinstance(axis.get_major_formatter(), (FixedFormatter, FuncFormatter)):
            return [t.get_text() for t in axis.get_ticklabels()]
        return None

    axes = []
    for ax in fig.axes:
        legend = ax.get_legend()
        axes.append({
            "title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "xscale": ax.get_xscale(), "yscale": ax.get_yscale(),
            "xticklabels": ticks(ax.xaxis), "yticklabels": ticks(ax.yaxis),
            "lines": [{"label": ln.get_label(), "x": _nums(ln.get_xdata()), "y": _nums(ln.get_ydata()),
                       "color": to_hex(ln.get_color()), "linestyle": ln.get_linestyle(),
                       "marker": str(ln.get_marker())} for ln in ax.lines],
            "texts": [{"text": t.get_text(), "xy": _nums(getattr(t, "xy", t.get_position()))} for t in ax.texts],
            "images": [{"data": _nums(im.get_array()),
                        "colors": [[to_hex(c) for c in row] for row in im.to_rgba(im.get_array())]}
                       for im in ax.images],
            "collections": [{"offsets": _nums(c.get_offsets()),
                             "values": _nums(c.get_array()) if c.get_array() is not None else None}
                            for c in ax.collections],
            "legend": [t.get_text() for t in legend.get_texts()] if legend else None,
        })
    suptitle = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    return {"suptitle": suptitle, "axes": axes}


def _exec(data_file: str, args: list[str]) -> int:
    """Run archsearch with args, recording the data of every figure it saves into data_file."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    saved: list[dict] = []
    original = Figure.savefig

    def savefig(self, *a, **k):
        saved.append(figure_data(self))
        return original(self, *a, **k)

    Figure.savefig = savefig
    from archsearch.cli import main
    code = main(args)
    Path(data_file).write_text(json.dumps(saved))
    return code


# ---------------------------------------------------------------- the command

def data_json(data: dict) -> str:
    """Indented JSON with each list of numbers on one line (short, and diffs show which series changed)."""
    text = json.dumps(data, indent=1, ensure_ascii=False)
    flat = re.sub(r"\[\s+((?:-?[\d.eE+-]+|null)(?:,\s+(?:-?[\d.eE+-]+|null))*)\s+\]",
                  lambda m: "[" + re.sub(r",\s+", ", ", m[1]) + "]", text)
    return flat + "\n"


def write(report: Report) -> None:
    from archsearch.yamlio import write_atomic
    for path, text in report.new_text.items():
        write_atomic(path, text)
    for path, data in report.new_data.items():
        write_atomic(path, data_json(data))
    for path, drawn in report.new_images.items():
        tmp = path.with_name(f".{path.name}.tmp")
        shutil.copyfile(drawn, tmp)
        os.replace(tmp, path)


def _order(item: str) -> tuple[str, int]:
    where = item.split(": ", 1)[0].split(":")
    return where[0], int(where[1]) if len(where) > 1 and where[1].isdigit() else 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--exec"]:
        return _exec(argv[1], argv[3:] if argv[2:3] == ["--"] else argv[2:])
    writing = argv == ["--write"]
    if argv not in ([], ["--write"]):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    report = check()
    report.stale.sort(key=_order)
    if report.errors:
        print("examples that failed (nothing written):", file=sys.stderr)
        for e in report.errors:
            print(f"  {e}", file=sys.stderr)
        return 1
    if writing:
        write(report)
        print(f"{len(report.stale)} example(s) refreshed" if report.stale else "every example is current")
        for s in report.stale:
            print(f"  {s}")
        return 0
    if report.stale:
        print("stale examples (python benchmarks/refresh_docs.py --write):")
        for s in report.stale:
            print(f"  {s}")
        return 1
    print("every example is current")
    return 0


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
