"""Benchmark: every bundled problem by both engines (CP-SAT, enumeration) and auto's choice, both engines as
max_nodes grows (the crossover behind ``enumeration.AUTO_MAX_CELLS``), and the context sweep.

Run:  python benchmarks/bench.py            (add --quick for a shorter run, --json for machine-readable output)

This is a measurement, not a test: it prints wall-clock medians and minimum CPU times on this machine, and the
load average (on a shared machine wall time counts the other jobs too).
Targets (2-core machine, issue 12): every bundled problem at least 1.5x faster than the table of
docs/benchmarks.md it started from, with the same top K from both engines; the scaling table is where
auto's thresholds (``enumeration.AUTO_MAX_CELLS``, ``AUTO_MAX_CHUNK_CELLS``) come from; a 64-point
context-length sweep warm on one worker at most 5 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import time

from rich.console import Console
from rich.table import Table

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this tree

from archsearch import load_problem, memo, solve
from archsearch.enumeration import AUTO_MAX_CHUNK_CELLS, choose_engine, largest_chunk, space_cells
from archsearch.space import build_space
from archsearch.problem import bundled_problems, default_problem_path, problem_from_dict, read_problem_dict
from archsearch.sweep import parse_range, settle, sweep


#: the minimum CPU time (user + system of this process) of the last ``_time`` call: on a shared machine the
#: wall-clock median also counts other processes' work, CPU time much less so
LAST_CPU_S = [0.0]


def _time(fn, repeat: int, cold: bool = True) -> tuple[float, object]:
    """Wall median and (in ``LAST_CPU_S``) minimum CPU time of ``fn`` over ``repeat`` runs.  ``cold``: each run
    starts with archsearch's cross-solve caches empty (``memo.clear``), as a fresh ``archsearch solve`` does;
    otherwise the second run onward would reuse the first run's tables."""
    times, cpus, out = [], [], None
    for _ in range(repeat):
        if cold:
            memo.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    LAST_CPU_S[0] = min(cpus)
    return statistics.median(times), out


def _engines(p, repeat: int, **kw) -> dict:
    """Solve ``p`` with each engine and with auto: wall median and minimum CPU time each, and auto's choice."""
    row = {"cells": space_cells(build_space(p))}
    keys = {}
    for engine in ("cp-sat", "enumeration", "auto"):
        t, r = _time(lambda p=p: solve(p, engine=engine, **kw), repeat)
        tag = engine.replace("-", "_")
        row.update({f"{tag}_s": round(t, 3), f"{tag}_cpu_s": round(LAST_CPU_S[0], 3)})
        keys[engine] = [d.design.key() for d in r.designs]
        if engine == "auto":
            row.update(status=r.status, auto_engine=r.engine, cp_sat_solves=r.iterations, top_k_keys=keys[engine])
    row["same_top_k"] = keys["cp-sat"] == keys["enumeration"] == keys["auto"]
    return row


def bench_problems(repeat: int) -> list[dict]:
    rows = []
    for path in bundled_problems():
        p = load_problem(path)
        rows.append({"problem": path.stem, "top_k": p.search.top_k, "max_nodes": p.constraints.max_nodes,
                     "default": path == default_problem_path(), **_engines(p, repeat)})
    return rows


#: every option beyond plain decode, on (MoE and expert parallel need a MoE model: the Mixtral row)
ALL_OPTIONS = {
    "workload": {"prompt_tokens": 2048, "prefill_compute_efficiency": 0.5, "kv_read_fraction": 0.5,
                 "speculative": {"draft_tokens": 4, "accepted_tokens_per_step": 3, "draft_parameters": 1e9},
                 "kv_swap": {"idle_requests": 1000, "mode": "best"}},
    "constraints": {"max_ttft_ms": 1000},
}


def bench_all_options(repeat: int) -> list[dict]:
    """The default problem, and Mixtral with expert parallel, with every serving option on: top 10."""
    rows = []
    for path, extra in ((default_problem_path(), {}), (None, {"expert_parallel": True})):
        if path is None:
            path = next(p for p in bundled_problems() if p.stem == "mixtral-8x7b-batch")
        raw, name = read_problem_dict(path)
        for section, fields in ALL_OPTIONS.items():
            raw.setdefault(section, {}).update(fields)
        raw["constraints"].update(extra)
        p = problem_from_dict(raw, name)
        rows.append({"problem": f"{path.stem} + all options", "top_k": 10, "max_nodes": p.constraints.max_nodes,
                     **_engines(p, repeat, top_k=10)})
    return rows


def bench_scaling(sizes: list[int], repeat: int, chunk_limit: int = AUTO_MAX_CHUNK_CELLS) -> list[dict]:
    """Both engines on the default problem without a budget as max_nodes grows; enumeration only while its
    largest array stays within ``chunk_limit`` cells (beyond, memory: 9.6e6 cells took 2.4 GB)."""
    base = load_problem()
    rows = []
    for n in sizes:
        p = dataclasses.replace(base, constraints=dataclasses.replace(base.constraints, max_nodes=n,
                                                                      budget_usd=None))
        space = build_space(p)
        t_cp, r = _time(lambda p=p: solve(p, engine="cp-sat"), repeat)
        row = {"max_nodes": n, "cells": space_cells(space), "cp_sat_s": round(t_cp, 3),
               "cp_sat_cpu_s": round(LAST_CPU_S[0], 3), "status": r.status, "auto": choose_engine(space, "auto")}
        if largest_chunk(space) <= chunk_limit:
            t_ex, top = _time(lambda p=p: solve(p, engine="enumeration"), repeat)
            same = [d.design.key() for d in top.designs] == [d.design.key() for d in r.designs]
            row.update(exhaustive_s=round(t_ex, 3), exhaustive_cpu_s=round(LAST_CPU_S[0], 3), same_top_k=same,
                       cpu_ratio=round(LAST_CPU_S[0] / row["cp_sat_cpu_s"], 2))
        rows.append(row)
    return rows


def bench_sweep(points: int) -> list[dict]:
    """A context-length sweep of the default problem (top 1 per point): cold and warm, 1 and 2 workers."""
    values = settle("workload.context_length", parse_range(f"1k:1M:{points}:log", binary=True)[0], rounded=True)
    rows, answers = [], []
    for warm, workers in ((False, 1), (True, 1), (True, 2)):
        t0 = time.perf_counter()
        pts = sweep(None, "workload.context_length", values, warm=warm, workers=workers)
        rows.append({"points": points, "start": "warm" if warm else "cold", "workers": workers,
                     "seconds": round(time.perf_counter() - t0, 2)})
        answers.append([p.result.designs[0].design.key() if p.result else None for p in pts])
    for r in rows:
        r["same_answers"] = all(a == answers[0] for a in answers)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer sizes and one repetition")
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    ap.add_argument("--problems-only", action="store_true", help="only the bundled problems (and all options)")
    args = ap.parse_args(argv)
    repeat = 1 if args.quick else 3
    sizes = [64, 256, 1024] if args.quick else [64, 256, 1024, 4096, 16384, 65536]
    env = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
           "load_average_before": os.getloadavg()}
    problems = bench_problems(repeat) + bench_all_options(repeat)
    scaling = [] if args.problems_only else bench_scaling(sizes, 1)
    sweeps = [] if args.problems_only else bench_sweep(8 if args.quick else 64)
    env["load_average_after"] = os.getloadavg()
    if args.json:
        json.dump({"environment": env, "problems": problems, "scaling": scaling, "sweeps": sweeps}, sys.stdout,
                  indent=2)
        print()
        return 0
    con = Console()
    load = f"load average {env['load_average_before'][0]:.1f} before, {env['load_average_after'][0]:.1f} after"
    t = Table(title=f"bundled problems, both engines and auto (wall median and min CPU of {repeat}; "
              f"{env['cpus']} CPUs, Python {env['python']}, {load})", title_justify="left")
    cols = ("problem", "top_k", "cells", "status", "auto_engine", "cp_sat_s", "cp_sat_cpu_s", "enumeration_s",
            "enumeration_cpu_s", "auto_s", "auto_cpu_s", "same_top_k")
    for col in cols:
        t.add_column(col)
    for r in problems:
        t.add_row(*(str(r[c]) for c in cols))
    con.print(t)
    t = Table(title="default problem, no budget: CP-SAT vs the enumeration engine (top 10; cpu_ratio = enumeration "
              "CPU / CP-SAT CPU)", title_justify="left")
    scols = ("max_nodes", "cells", "cp_sat_s", "cp_sat_cpu_s", "exhaustive_s", "exhaustive_cpu_s", "cpu_ratio",
             "auto", "same_top_k", "status")
    for col in scols:
        t.add_column(col)
    for r in scaling:
        t.add_row(*(str(r.get(c, "-")) for c in scols))
    con.print(t)
    t = Table(title="context-length sweep of the default problem, 1k..1M log-spaced, top 1 per point",
              title_justify="left")
    for col in ("points", "start", "workers", "seconds", "same_answers"):
        t.add_column(col)
    for r in sweeps:
        t.add_row(*(str(r[c]) for c in ("points", "start", "workers", "seconds", "same_answers")))
    con.print(t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
