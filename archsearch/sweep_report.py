"""Sweep reports: pure functions from sweep points to a rich table, crossover lines and CSV text."""

from __future__ import annotations

import csv
import io
from typing import Any, Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from .report import WIDE, basis_words, design_row, memory_cell, network_cell, ratio_cell
from .tables import Column, fit_tables
from .units import tb_per_s_per_million_usd
from .sweep import Point, crossovers, point_rows


def format_value(v: float, binary: bool) -> str:
    """4096 -> 4k and 1048576 -> 1M for token counts; %g otherwise."""
    if binary:
        for suffix, mult in (("M", 2**20), ("k", 2**10)):
            if v >= mult and v % mult == 0:
                return f"{int(v // mult)}{suffix}"
        return f"{int(v):,}"
    return f"{v:,.6g}"


def _basis(points: Sequence[Point]) -> str:
    problem = next((p.result.problem for p in points if p.result is not None), None)
    return f" ({basis_words(problem.cost)})" if problem is not None else ""


def sweep_table(points: Sequence[Point], param: str, binary: bool, width: int = WIDE) -> list[Table]:
    """The best design(s) at every value; split into further tables (value repeated) when narrow."""
    cols = [Column(param.rsplit(".", 1)[-1], "right", key=True)] + [Column(c, j) for c, j in (
        ("#", "right"), ("memory", "left"), ("nodes", "right"), ("TPxPP", "right"), ("network", "left"),
        ("TB/s per $M", "right"), ("tok/s user", "right"), ("binding", "left"))]
    changed = {c["to_value"] for c in crossovers(points)}
    rows = []
    for p in points:
        mark = " ◆" if p.value in changed else ""
        if p.result is None:
            rows.append([format_value(p.value, binary) + mark, "-", "infeasible", "", "", "", "", "", ""])
            continue
        for rd in p.result.designs:
            r = design_row(rd)
            rows.append([format_value(p.value, binary) + mark if rd.rank == 1 else "", str(rd.rank), memory_cell(r),
                         str(r["nodes"]), f"{r['tensor_parallel']}x{r['pipeline_parallel']}", network_cell(r),
                         ratio_cell(r), f"{r['decode_tokens_per_s_per_user']:,.1f}", r["binding"]])
    return fit_tables(f"sweep of {param}: best design per value (◆ where it changes){_basis(points)}", cols, rows,
                      width, more_title="the same values, continued")


def crossover_lines(points: Sequence[Point], binary: bool) -> list[str]:
    return [f"{c['from']} → {c['to']} between {format_value(c['from_value'], binary)} and "
            f"{format_value(c['to_value'], binary)}" for c in crossovers(points)]


def sweep_renderable(points: Sequence[Point], param: str, binary: bool, width: int = WIDE) -> Group:
    lines = crossover_lines(points, binary)
    text = "crossovers (memory, interconnect, topology):\n  " + "\n  ".join(lines) if lines else \
        "no crossover: the same architecture is best at every value"
    return Group(*sweep_table(points, param, binary, width), Text(text))


def rows_to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """The sweep rows as CSV, columns in the order of the first complete row."""
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def grid_table(points: Sequence[Point], specs: Sequence[tuple[str, list[float], bool]], width: int = WIDE) -> Group:
    """Winning memory medium and its TB/s per $M for every (row value, column value)."""
    (pa, va, _), (pb, vb, _) = specs
    ba, bb = is_token(pa), is_token(pb)
    cols = [Column(pa.rsplit(".", 1)[-1], "right", key=True)] + [Column(format_value(b, bb)) for b in vb]
    by = {p.value: p for p in points}
    rows = []
    for a in va:
        cells = []
        for b in vb:
            p = by[(a, b)]
            if p.result is None or not p.result.designs:
                cells.append("infeasible")
                continue
            d = p.result.designs[0]
            cells.append(f"{d.design.mem.memory.name} {tb_per_s_per_million_usd(d.metrics.bandwidth_per_dollar):,.0f}")
        rows.append([format_value(a, ba)] + cells)
    title = f"best design: rows {pa}, columns {pb} (memory medium, TB/s per $M){_basis(points)}"
    return Group(*fit_tables(title, cols, rows, width, more_title="the same rows, further columns"))


def is_token(path: str) -> bool:
    from .sweep import is_token_field
    return is_token_field(path)


def sweep_document(points: Sequence[Point], specs: Sequence[tuple[str, list[float], bool]]) -> dict[str, Any]:
    """The JSON document of a sweep: parameters, values, rows (the CSV's too) and crossovers."""
    params = [p for p, _, _ in specs]
    return {"params": params, "values": [v for _, v, _ in specs], "log_spaced": [lg for _, _, lg in specs],
            "rows": point_rows(points, params[0] if len(params) == 1 else params),
            "crossovers": crossovers(points) if len(specs) == 1 else []}
