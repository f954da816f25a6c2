"""Benchmark: CP-SAT top 10 on two-level spaces of growing size, beside the exhaustive numpy oracle.

Run:  python benchmarks/bench_two_level.py [--sizes 256,1024,4096,16384] [--oracle-limit CELLS]

Cells: every (memory configuration, network configuration, TP, PP) the oracle would evaluate, that is
the sum over (network, TP) pairs the space allows of (memory configurations) x (PP values in the
network's node range) - the numpy arrays it builds, before any constraint.  The oracle is run only up
to --oracle-limit cells (default 3e8); above that the row says so (time grows linearly in cells, so
the last measured rate gives the estimate printed beside it).  A measurement, not a test.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsearch import physics, solve  # noqa: E402
from archsearch.model import build_space  # noqa: E402
from archsearch.oracle import enumerate_top  # noqa: E402
from archsearch.problem import problem_from_dict  # noqa: E402


def problem(max_nodes: int):
    return problem_from_dict({
        "name": f"two-level-{max_nodes}", "model": "llama-3.1-405b",
        "workload": {"context_length": 524288, "concurrency": 16, "min_decode_tokens_per_s_per_user": 10,
                     "weight_dtype": "fp8", "kv_dtype": "fp8"},
        "constraints": {"max_nodes": max_nodes, "balance": {"rule": "comm_time"}},
        "search": {"top_k": 10, "time_limit_s": 120, "two_level": True}}, "bench_two_level")


def cells(space) -> int:
    total = 0
    for n in space.nets:
        for t in space.tps:
            if (n.tier is None and t > 1) or not physics.tp_fits(n, t):
                continue
            lo, hi = max(1, -(-n.n_min // t)), min(n.n_max, space.max_nodes) // t
            total += max(0, hi - lo + 1) * len(space.mems)
    return total * max(1, len(space.backs))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="256,1024,4096,16384")
    ap.add_argument("--oracle-limit", type=float, default=3e8)
    a = ap.parse_args()
    print(f"{'max_nodes':>9} {'nets':>5} {'2-level':>7} {'cells':>14} {'CP-SAT s':>9} {'status':>8} "
          f"{'oracle s':>12}  best design")
    rate = None
    for size in map(int, a.sizes.split(",")):
        p = problem(size)
        space = build_space(p)
        c = cells(space)
        t0 = time.perf_counter()
        r = solve(p)
        t_cp = time.perf_counter() - t0
        if c <= a.oracle_limit:
            t0 = time.perf_counter()
            top = enumerate_top(space, 10)
            t_or = time.perf_counter() - t0
            rate = c / t_or
            same = [x.design.key() for x in top] == [d.design.key() for d in r.designs]
            oracle = f"{t_or:9.2f}{' ==' if same else ' !='}"
        else:
            oracle = f"skipped (~{c / rate:,.0f} s)" if rate else "skipped"
        best = r.designs[0].design
        print(f"{size:>9} {len(space.nets):>5} {sum(1 for n in space.nets if n.domain_nodes):>7} {c:>14,} "
              f"{t_cp:>9.2f} {r.status:>8} {oracle:>12}  {best.net.label}, {best.nodes} nodes, TP {best.tensor_parallel}",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
