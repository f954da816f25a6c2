"""A study's outputs: the CSV journal streamed as points finish, then Parquet, JSON and a plot.

The journal is the study's CSV file.  Each finished point's rows are appended in one write and flushed
to disk, so an interrupted study loses at most the points being solved.  ``--resume`` reads it back,
drops a last line cut short and any point with fewer rows than its ``point_rows`` says, and solves
only the points that are missing.  A side file ``<csv>.study`` holds the study's fingerprint (problem,
parameters, top K, distinct), so a journal is never resumed by a different study.  When every point is
done the CSV is rewritten atomically in point order, so a resumed study ends with the same file as an
uninterrupted one.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any, Optional, Sequence

from .errors import StudyError, UsageError
from .yamlio import write_atomic

#: columns holding text; every other column holds a number (or nothing)
TEXT_COLUMNS = frozenset({"status", "engine", "memory", "node", "interconnect", "topology", "binding", "why"})


def _csv_text(rows: Sequence[dict], columns: Sequence[str], header: bool) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    if header:
        w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def _typed(column: str, text: str) -> Any:
    if text == "":
        return None
    if column in TEXT_COLUMNS:
        return text
    try:
        return int(text)
    except ValueError:
        return float(text)


class Journal:
    """The study's CSV file, appended to as points finish."""

    def __init__(self, path: Path, columns: Sequence[str], fingerprint: str) -> None:
        self.path, self.columns, self.fingerprint = Path(path), list(columns), fingerprint
        self.side = self.path.with_name(self.path.name + ".study")
        self.fh = None

    def open(self, resume: bool) -> set[int]:
        """Start the journal (or, with ``resume``, keep its complete points); the finished point indices."""
        if not self.path.parent.is_dir():
            raise UsageError(f"outputs: cannot write {self.path}: no such folder")
        done: set[int] = set()
        if resume and self.path.exists():
            found = self.side.read_text(encoding="utf-8").strip() if self.side.exists() else None
            if found != self.fingerprint:
                raise StudyError(f"{self.path}: written by a different study (problem, parameters, top_k or distinct "
                                 "differ, or no .study file beside it); delete it or run without --resume")
            kept = self._complete_rows()
            done = {int(r["point"]) for r in kept}
            write_atomic(self.path, _csv_text(kept, self.columns, header=True))
        else:
            write_atomic(self.path, _csv_text([], self.columns, header=True))
            write_atomic(self.side, self.fingerprint + "\n")
        self.fh = open(self.path, "a", encoding="utf-8", newline="")
        return done

    def _complete_rows(self) -> list[dict]:
        text = self.path.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]  # the last line was cut short by the interruption
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames != self.columns:
            raise StudyError(f"{self.path}: its columns are not this study's; delete it or run without --resume")
        rows = list(reader)
        count: dict[str, int] = {}
        for r in rows:
            count[r["point"]] = count.get(r["point"], 0) + 1
        return [r for r in rows if r["point_rows"] and count[r["point"]] == int(r["point_rows"])]

    def append(self, rows_per_point: Sequence[Sequence[dict]]) -> None:
        """Append finished points (each point's rows in one write) and flush them to disk."""
        self.fh.write("".join(_csv_text(rows, self.columns, header=False) for rows in rows_per_point))
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None

    def read_rows(self) -> list[dict]:
        """Every complete point's rows, typed, in point and rank order."""
        rows = [{c: _typed(c, r[c]) for c in self.columns} for r in self._complete_rows()]
        return sorted(rows, key=lambda r: (r["point"], r["rank"] or 0))


# -- the other outputs --------------------------------------------------------------------------------
def check_outputs(outputs: dict[str, str]) -> None:
    """Before any work: every output's folder exists, and the extras Parquet and plots need are installed."""
    for kind, target in outputs.items():
        if not Path(target).resolve().parent.is_dir():
            raise UsageError(f"outputs.{kind}: cannot write {target}: no such folder")
    if "parquet" in outputs:
        try:
            import pyarrow  # noqa: F401  (only whether it is installed)
        except ImportError:
            raise UsageError("outputs.parquet: needs pyarrow (pip install 'archsearch[parquet]')") from None
    if "plot" in outputs:
        from .plot import check_target
        check_target(outputs["plot"])


def write_outputs(spec, rows: list[dict]) -> dict[str, str]:
    """Write the finished study: the CSV in point order, then Parquet, JSON and plot as the file asks."""
    columns = spec.columns()
    out = spec.outputs
    write_atomic(Path(out["csv"]), _csv_text(rows, columns, header=True))
    if "parquet" in out:
        write_parquet(Path(out["parquet"]), rows, columns)
    if "json" in out:
        doc = {"study": spec.name, "problem": spec.problem, "top_k": spec.top_k,
               "parameters": [{"path": p.path, "values": list(p.values)} for p in spec.parameters], "rows": rows}
        write_atomic(Path(out["json"]), json.dumps(doc, indent=2) + "\n")
    if "plot" in out:
        study_plot(rows, spec.parameters, Path(out["plot"]))
    return dict(out)


def write_parquet(path: Path, rows: list[dict], columns: Sequence[str]) -> None:
    """The rows as one Parquet file (pyarrow), written to a temporary file and renamed into place."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.table({c: [r.get(c) for r in rows] for c in columns})
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def study_plot(rows: list[dict], parameters, path: Path, best_only: bool = True) -> None:
    """The best design's bandwidth per dollar: a line over one parameter, a heatmap over the first two
    parameters with one panel per combination of the others (at most 12 panels)."""
    from .plot import _pyplot, _save
    import itertools
    plt = _pyplot()
    best = {}
    for r in rows:
        if r["rank"] in (1, None):
            best[tuple(r[p.path] for p in parameters)] = r.get("bandwidth_per_dollar")
    a = parameters[0]
    if len(parameters) == 1:
        fig, ax = plt.subplots(figsize=(7, 4))
        xs = list(a.values)
        ax.plot(xs, [best.get((x,)) or float("nan") for x in xs], marker="o")
        ax.set_xscale("log" if a.log else "linear")
        ax.set_xlabel(a.path)
        ax.set_ylabel("best bandwidth per dollar (bytes/s per USD)")
        _save(fig, path)
        plt.close(fig)
        return
    b, rest = parameters[1], parameters[2:]
    panels = list(itertools.product(*(p.values for p in rest)))[:12]
    cols = min(4, len(panels))
    nrows = -(-len(panels) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.4 * nrows), squeeze=False)
    for ax, fixed in zip(axes.ravel(), panels):
        grid = [[best.get((x, y, *fixed)) or float("nan") for y in b.values] for x in a.values]
        im = ax.imshow(grid, aspect="auto", origin="lower", cmap="viridis")
        ax.set_xticks(range(len(b.values)), [f"{v:g}" for v in b.values], rotation=90, fontsize=6)
        ax.set_yticks(range(len(a.values)), [f"{v:g}" for v in a.values], fontsize=6)
        ax.set_xlabel(b.path, fontsize=7)
        ax.set_ylabel(a.path, fontsize=7)
        if rest:
            ax.set_title(", ".join(f"{p.path}={v:g}" for p, v in zip(rest, fixed)), fontsize=7)
        fig.colorbar(im, ax=ax, label="bytes/s per USD")
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    fig.suptitle("best design's memory bandwidth per dollar" + (" (first 12 panels)" if len(panels) == 12 and
                                                                len(list(itertools.product(*(p.values for p in rest))))
                                                                > 12 else ""))
    _save(fig, path)
    plt.close(fig)


def summary(rows: list[dict]) -> dict[str, Any]:
    """Points, infeasible points and the engines that proved them."""
    points = {r["point"] for r in rows}
    infeasible = {r["point"] for r in rows if r["status"] == "INFEASIBLE"}
    engines: dict[str, int] = {}
    for r in rows:
        if r["rank"] in (1, None):
            engines[r["engine"]] = engines.get(r["engine"], 0) + 1
    return {"points": len(points), "infeasible": len(infeasible), "engines": engines}


def optional_path(value: Optional[str]) -> Optional[Path]:
    return Path(value) if value else None
