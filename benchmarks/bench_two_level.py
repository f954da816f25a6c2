"""Benchmark: the top 10 of two-level spaces of growing size, proved by CP-SAT and by the enumeration engine.

Run:  python benchmarks/bench_two_level.py [--sizes 1024,4096,16384,65536] [--workers 1]

The space: Llama 3.1 405B at 512k context, 16 users at 10 tokens/s each, FP8, every catalog part, the
communication-time balance rule, two-level networks on (``search.two_level``), top 10 distinct
architectures; ``max_nodes`` grows.  Cells (``enumeration.space_cells``): every (memory configuration, network
configuration, TP, PP, backing tier) the enumeration evaluates, before any constraint; 65,536 nodes gives
1.76 x 10^9.

Each (size, engine) runs in a fresh Python process (no cache shared between rows), which reports the wall and
CPU time of ``solve(problem, engine=...)`` (OR-Tools and the problem loaded before the clock starts), its status,
solves and peak resident memory (the whole process, ``ru_maxrss``); a process that fails (out of memory, ...)
prints why in its column.  The last column says whether the two engines returned the same top 10, design for
design.  A measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsearch import solve  # noqa: E402
from archsearch.enumeration import choose_engine, space_cells as cells  # noqa: E402
from archsearch.space import build_space  # noqa: E402
from archsearch.problem import problem_from_dict  # noqa: E402


def problem(max_nodes: int, workers: int = 1):
    return problem_from_dict({
        "name": f"two-level-{max_nodes}", "model": "llama-3.1-405b",
        "workload": {"context_length": 524288, "concurrency": 16, "min_decode_tokens_per_s_per_user": 10,
                     "weight_dtype": "fp8", "kv_dtype": "fp8"},
        "constraints": {"max_nodes": max_nodes, "balance": {"rule": "comm_time"}},
        "search": {"top_k": 10, "time_limit_s": 300, "two_level": True, "workers": workers}}, "bench_two_level")


def one(size: int, engine: str, workers: int) -> dict:
    """Solve one size with one engine in this process: the figures the table prints."""
    p = problem(size, workers)
    if engine == "cp-sat":
        from archsearch.lazy_pandas import cp_model   # noqa: F401  (the import is not the solve's time)
    t0, c0 = time.perf_counter(), time.process_time()
    r = solve(p, engine=engine)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    best = r.designs[0].design
    return {"wall_s": wall, "cpu_s": cpu, "status": r.status, "solves": r.iterations,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "keys": [repr(d.design.key()) for d in r.designs],
            "best": f"{best.mem.label}, {best.net.label}, {best.nodes} nodes, TP {best.tensor_parallel}"}


def run(size: int, engine: str, workers: int) -> dict:
    """``one`` in a fresh process; {"error": why} when the process fails."""
    proc = subprocess.run([sys.executable, __file__, "--one", str(size), engine, str(workers)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        lines = (proc.stderr or "").strip().splitlines()
        why = lines[-1] if lines else f"exit {proc.returncode}"
        return {"error": "killed (out of memory?)" if proc.returncode in (-9, 137) else why[:60]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cell(r: dict) -> str:
    if "error" in r:
        return f"{'failed: ' + r['error']:>36}"
    return f"{r['wall_s']:6.2f} s {r['cpu_s']:6.2f} s {r['status']:>8} {r['peak_mb']:5.0f} MB"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1024,4096,16384,65536")
    ap.add_argument("--workers", type=int, default=1, help="CP-SAT workers (1: deterministic, the measured setting)")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(int(a.one[0]), a.one[1], int(a.one[2]))))
        return 0
    print(f"load average {os.getloadavg()[0]:.1f} at the start; wall / CPU time of solve(), status, peak memory")
    print(f"{'max_nodes':>9} {'cells':>14} | {'CP-SAT':^36} {'solves':>6} | {'enumeration':^36} | "
          f"{'auto':>11} {'same':>4}  best design")
    for size in map(int, a.sizes.split(",")):
        space = build_space(problem(size))
        cp, en = run(size, "cp-sat", a.workers), run(size, "enumeration", a.workers)
        same = "yes" if "keys" in cp and cp.get("keys") == en.get("keys") else "-" if "error" in (cp | en) else "NO"
        print(f"{size:>9} {cells(space):>14,} | {cell(cp)} {cp.get('solves', '-'):>6} | {cell(en)} | "
              f"{choose_engine(space, 'auto'):>11} {same:>4}  {cp.get('best', en.get('best', ''))}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
