"""Benchmark: CP-SAT top 10 on two-level spaces of growing size, beside the enumeration engine (and auto's choice).

Run:  python benchmarks/bench_two_level.py [--sizes 256,1024,4096,16384] [--oracle-limit CELLS]

Cells (``enumeration.space_cells``): every (memory configuration, network configuration, TP, PP, backing tier)
the enumeration evaluates - the numpy arrays it builds, before any constraint.  The oracle is run only up
to --oracle-limit cells (default 3e8); above that the row says so (time grows linearly in cells, so
the last measured rate gives the estimate printed beside it).  A measurement, not a test.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsearch import solve  # noqa: E402
from archsearch.enumeration import choose_engine, space_cells as cells  # noqa: E402
from archsearch.space import build_space  # noqa: E402
from archsearch.problem import problem_from_dict  # noqa: E402


def problem(max_nodes: int):
    return problem_from_dict({
        "name": f"two-level-{max_nodes}", "model": "llama-3.1-405b",
        "workload": {"context_length": 524288, "concurrency": 16, "min_decode_tokens_per_s_per_user": 10,
                     "weight_dtype": "fp8", "kv_dtype": "fp8"},
        "constraints": {"max_nodes": max_nodes, "balance": {"rule": "comm_time"}},
        "search": {"top_k": 10, "time_limit_s": 120, "two_level": True}}, "bench_two_level")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="256,1024,4096,16384")
    ap.add_argument("--oracle-limit", type=float, default=3e8)
    a = ap.parse_args()
    print(f"{'max_nodes':>9} {'nets':>5} {'2-level':>7} {'cells':>14} {'CP-SAT s':>9} {'status':>8} "
          f"{'enum. s':>12} {'auto':>11}  best design")
    rate = None
    for size in map(int, a.sizes.split(",")):
        p = problem(size)
        space = build_space(p)
        c = cells(space)
        t0 = time.perf_counter()
        r = solve(p, engine="cp-sat")
        t_cp = time.perf_counter() - t0
        if c <= a.oracle_limit:
            t0 = time.perf_counter()
            top = solve(p, engine="enumeration").designs
            t_or = time.perf_counter() - t0
            rate = c / t_or
            same = [x.design.key() for x in top] == [d.design.key() for d in r.designs]
            oracle = f"{t_or:9.2f}{' ==' if same else ' !='}"
        else:
            oracle = f"skipped (~{c / rate:,.0f} s)" if rate else "skipped"
        best = r.designs[0].design
        print(f"{size:>9} {len(space.nets):>5} {sum(1 for n in space.nets if n.domain_nodes):>7} {c:>14,} "
              f"{t_cp:>9.2f} {r.status:>8} {oracle:>12} {choose_engine(space, 'auto'):>11}  {best.net.label}, {best.nodes} nodes, TP {best.tensor_parallel}",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
