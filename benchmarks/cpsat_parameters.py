"""Benchmark: CP-SAT parameter sets on every bundled problem (time and top K against the shipped set).

Run:  python benchmarks/cpsat_parameters.py [--repeat 3]

For each candidate parameter set, every bundled problem is solved ``repeat`` times and the minimum
CPU time of the process is kept (``time.process_time``: the machine is shared, and CPU time is what
other processes disturb least; the minimum is the least disturbed run).  The top K of every
problem must equal the shipped parameters' top K; a set that changes any answer is marked.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this tree

from archsearch import load_problem
import importlib

solve_mod = importlib.import_module("archsearch.solve")
from archsearch.problem import bundled_problems

CANDIDATES = {
    "shipped": {},
    "linearization 0": {"linearization_level": 0},
    "symmetry 0": {"symmetry_level": 0},
    "linearization 0 + symmetry 0": {"linearization_level": 0, "symmetry_level": 0},
    "linearization 0 + symmetry 0 + no lp": {"linearization_level": 0, "symmetry_level": 0,
                                             "add_lp_constraints_lazily": False},
}


def measure(extra: dict, repeat: int) -> dict:
    base = dict(solve_mod.CP_SAT_PARAMETERS)
    solve_mod.CP_SAT_PARAMETERS.update(extra)
    try:
        out = {}
        for path in bundled_problems():
            p = load_problem(path)
            best, keys = float("inf"), None
            for _ in range(repeat):
                t0 = time.process_time()
                r = solve_mod.solve(p)
                best = min(best, time.process_time() - t0)
                keys = [d.design.key() for d in r.designs]
            out[path.stem] = (best, keys)
        return out
    finally:
        solve_mod.CP_SAT_PARAMETERS.clear()
        solve_mod.CP_SAT_PARAMETERS.update(base)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="candidate names (default: all)")
    args = ap.parse_args(argv)
    names = args.only or list(CANDIDATES)
    results = {n: measure(CANDIDATES[n] if n != "shipped" else {}, args.repeat) for n in ["shipped"] + 
               [n for n in names if n != "shipped"]}
    ref = results["shipped"]
    print("problem".ljust(32) + "".join(n[:30].rjust(32) for n in results))
    for prob in ref:
        cells = []
        for n, res in results.items():
            t, keys = res[prob]
            same = "" if keys == ref[prob][1] else " DIFFERENT TOP K"
            cells.append(f"{t:.3f} s ({t / ref[prob][0]:.2f}x){same}".rjust(32))
        print(prob.ljust(32) + "".join(cells))
    for n, res in results.items():
        print(f"{n}: total {sum(t for t, _ in res.values()):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
