"""Benchmark: solve time of every bundled problem, and CP-SAT against exhaustive enumeration as max_nodes grows.

Run:  python benchmarks/bench.py            (add --quick for a shorter run, --json for machine-readable output)

This is a measurement, not a test: it prints wall-clock times on this machine.
Targets (2-core machine): the default problem's top-10 solve under 2 s, and under 3 s with every
serving option on; CP-SAT faster than exhaustive enumeration once max_nodes reaches the
thousands; a 64-point context-length sweep under 10 s, warm at least 1.5x faster than cold.
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

from archsearch import load_problem, solve
from archsearch.model import build_space
from archsearch.oracle import enumerate_top
from archsearch.problem import bundled_problems, default_problem_path, problem_from_dict, read_problem_dict
from archsearch.sweep import parse_range, settle, sweep


#: the minimum CPU time (user + system of this process) of the last ``_time`` call: on a shared machine the
#: wall-clock median also counts other processes' work, CPU time much less so
LAST_CPU_S = [0.0]


def _time(fn, repeat: int) -> tuple[float, object]:
    times, cpus, out = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    LAST_CPU_S[0] = min(cpus)
    return statistics.median(times), out


def bench_problems(repeat: int) -> list[dict]:
    rows = []
    for path in bundled_problems():
        p = load_problem(path)
        t, r = _time(lambda p=p: solve(p), repeat)
        rows.append({"problem": path.stem, "top_k": p.search.top_k, "max_nodes": p.constraints.max_nodes,
                     "status": r.status, "cp_sat_solves": r.iterations, "solve_s": round(t, 3),
                     "solve_cpu_s": round(LAST_CPU_S[0], 3), "default": path == default_problem_path(),
                     "top_k_keys": [d.design.key() for d in r.designs]})
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
        t, r = _time(lambda p=p: solve(p, top_k=10), repeat)
        rows.append({"problem": f"{path.stem} + all options", "top_k": 10, "max_nodes": p.constraints.max_nodes,
                     "status": r.status, "cp_sat_solves": r.iterations, "solve_s": round(t, 3),
                     "solve_cpu_s": round(LAST_CPU_S[0], 3), "top_k_keys": [d.design.key() for d in r.designs]})
    return rows


def bench_scaling(sizes: list[int], repeat: int, oracle_limit: int) -> list[dict]:
    base = load_problem()
    rows = []
    for n in sizes:
        p = dataclasses.replace(base, constraints=dataclasses.replace(base.constraints, max_nodes=n,
                                                                      budget_usd=None))
        t_cp, r = _time(lambda p=p: solve(p), repeat)
        row = {"max_nodes": n, "cp_sat_s": round(t_cp, 3), "status": r.status}
        if n <= oracle_limit:
            space = build_space(p)
            t_ex, top = _time(lambda p=p, space=space: enumerate_top(space, p.search.top_k, p.search.distinct), 1)
            same = [c.design.key() for c in top] == [d.design.key() for d in r.designs]
            row.update(exhaustive_s=round(t_ex, 3), same_top_k=same, speedup=round(t_ex / t_cp, 2))
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
    env = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    problems = bench_problems(repeat) + bench_all_options(repeat)
    scaling = [] if args.problems_only else bench_scaling(sizes, 1, oracle_limit=10**6)
    sweeps = [] if args.problems_only else bench_sweep(8 if args.quick else 64)
    if args.json:
        json.dump({"environment": env, "problems": problems, "scaling": scaling, "sweeps": sweeps}, sys.stdout,
                  indent=2)
        print()
        return 0
    con = Console()
    t = Table(title=f"bundled problems (median of {repeat}; {env['cpus']} CPUs, Python {env['python']})",
              title_justify="left")
    cols = ("problem", "top_k", "max_nodes", "status", "cp_sat_solves", "solve_s", "solve_cpu_s")
    for col in cols:
        t.add_column(col)
    for r in problems:
        t.add_row(*(str(r[c]) for c in cols))
    con.print(t)
    t = Table(title="default problem, no budget: CP-SAT vs exhaustive numpy enumeration (top 10)",
              title_justify="left")
    for col in ("max_nodes", "cp_sat_s", "exhaustive_s", "speedup", "same_top_k", "status"):
        t.add_column(col)
    for r in scaling:
        t.add_row(*(str(r.get(c, "-")) for c in ("max_nodes", "cp_sat_s", "exhaustive_s", "speedup", "same_top_k",
                                                 "status")))
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
