"""The bundled 405B and DeepSeek-V3 problems at long context, with two-level networks forbidden and allowed.

Run:  python benchmarks/two_level_sweeps.py [--rack]   (prints one Markdown table for docs/two-level-networks.md)

--rack holds every scale-up tier to one rack or pod (NVLink 4: 8, NVLink 5: 72, TPU ICI: 256, PCIe: 8)
through the problem's catalog overrides, as the machines that ship are built.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsearch import InfeasibleError, load_problem, solve  # noqa: E402
from archsearch.problem import problem_from_dict, read_problem_dict  # noqa: E402
from archsearch.report import design_row, fabric_cell  # noqa: E402
from archsearch.units import tb_per_s_per_million_usd  # noqa: E402

PROBLEMS = ("llama-3.1-405b-long-context", "deepseek-v3-serving")
CONTEXTS = (131072, 524288, 1048576)
#: scale-up tiers held to one rack or pod (the domain sizes that ship), for the second table
RACK_REACH = {"nvlink4": 8, "nvlink5": 72, "tpu-ici": 256, "pcie5-cxl": 8}


def row(problem, two_level: bool) -> str:
    p = dataclasses.replace(problem, search=dataclasses.replace(problem.search, two_level=two_level, top_k=1))
    t0 = time.perf_counter()
    try:
        r = solve(p)
    except InfeasibleError as exc:
        return f"infeasible ({str(exc)[:60]}...) | | | | {time.perf_counter() - t0:.1f}"
    d = design_row(r.designs[0])
    net = "single node" if d["interconnect"] == "none" else f"{d['interconnect']} {d['topology']}"
    if d["levels"]:
        net += " " + fabric_cell(d)
    return (f"{d['memory']} x{d['units_per_node']} ({d['node']}) | {d['nodes']} | "
            f"{d['tensor_parallel']}x{d['pipeline_parallel']} | {net} | "
            f"{tb_per_s_per_million_usd(d['bandwidth_per_dollar']):,.1f} | {time.perf_counter() - t0:.1f}")


def rack_limited(name: str):
    """The bundled problem with every scale-up tier reaching one rack or pod (``RACK_REACH``)."""
    raw, file = read_problem_dict(name)
    over = raw.setdefault("overrides", {}).setdefault("interconnects", {})
    for tier, reach in RACK_REACH.items():
        over.setdefault(tier, {})["reach_nodes"] = reach
    return problem_from_dict(raw, file)


def main() -> int:
    limited = "--rack" in sys.argv
    print("| problem | context | levels | memory | nodes | TPxPP | network | TB/s per $M | solve s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in PROBLEMS:
        base = rack_limited(name) if limited else load_problem(name)
        for ctx in CONTEXTS:
            p = dataclasses.replace(base, workload=dataclasses.replace(base.workload, context_length=ctx))
            for two in (False, True):
                print(f"| {name} | {ctx:,} | {'two allowed' if two else 'one only'} | {row(p, two)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
