"""The validation cases of ``published.yaml``, evaluated: shared by the tests and the docs table (docs/validation.md)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from archsearch.evaluate import DesignSpec, evaluate_fixed
from archsearch.problem import load_problem, problem_from_dict
from archsearch.reference import Reference, load_references, totals

DATA = Path(__file__).with_name("published.yaml")
FIGURES = ("memory_capacity_gb", "memory_bandwidth_tb_per_s", "interconnect_tb_per_s", "price_usd")
LABELS = {"memory_capacity_gb": ("memory capacity", "GB"), "memory_bandwidth_tb_per_s": ("memory bandwidth", "TB/s"),
          "interconnect_tb_per_s": ("interconnect, both directions", "TB/s"), "price_usd": ("price", "USD")}
METRICS = {"decode_tokens_per_s_per_user": "tokens/s per user", "system_tokens_per_s": "tokens/s, system",
           "system_tokens_per_s_per_node": "tokens/s per accelerator",
           "end_to_end_tokens_per_s_per_user": "output tokens / (TTFT + decode time), per user"}


def data() -> dict[str, Any]:
    return yaml.safe_load(DATA.read_text())


def references() -> dict[str, Reference]:
    return {r.name: r for r in load_references()}


@dataclass(frozen=True)
class Row:
    case: str
    figure: str
    model: float
    published: str          # as published: a value or a range
    lo: float               # the published value, or the ends of its range
    hi: float
    low: float              # the band: allowed model / published
    high: float
    kind: str               # published or estimate (totals); measured, vendor claim, derived roofline (speeds)
    check: str              # independent, or consistency (the catalog part was split from this total)
    why: str

    def ratio_of(self, model: float) -> float:
        """model / published; against a range, / its nearer end (1 inside it)."""
        return model / self.lo if model < self.lo else model / self.hi if model > self.hi else 1.0

    @property
    def ratio(self) -> float:
        return self.ratio_of(self.model)

    def holds(self, model: float) -> bool:
        return self.low <= self.ratio_of(model) <= self.high

    @property
    def ok(self) -> bool:
        return self.holds(self.model)


def _market_problem():
    p = load_problem()
    return dataclasses.replace(p, cost=dataclasses.replace(p.cost, basis="market"))


def total_rows() -> list[Row]:
    """Each reference design's published figures against the model's derived totals."""
    tol = data()["totals"]
    problem = _market_problem()
    out = []
    for ref in references().values():
        t = totals(evaluate_fixed(problem, ref.spec, best=None))
        pub = ref.published
        for fig in FIGURES:
            value = getattr(pub, fig)
            if value is None:
                continue
            band = tol[fig]
            if fig == "price_usd":
                lo, hi = value
                model = t.accelerators_usd if pub.price_covers == "accelerators" else t.price_usd
                shown = f"${lo:,.0f}" if lo == hi else f"${lo:,.0f}-{hi:,.0f}"
                if pub.price_covers == "accelerators":
                    shown += " (chips only)"
            else:
                lo = hi = value
                model = getattr(t, fig)
                shown = f"{value:,g} {LABELS[fig][1]}"
            est = ref.estimate is True or (isinstance(ref.estimate, list) and fig in ref.estimate)
            out.append(Row(ref.name, fig, model, shown, lo, hi, band["low"], band["high"],
                           "estimate" if est else "published",
                           "independent" if fig in ref.independent else "consistency", band["why"]))
    return out


def speed_problem(case: dict[str, Any]):
    raw = {"name": "validation", "description": case["name"], "cost": {"basis": "market"},
           "constraints": {"max_nodes": 100000}, **case["problem"]}
    return problem_from_dict(raw, f"{DATA.name}: {case['name']}")


def speed_spec(case: dict[str, Any]) -> DesignSpec:
    d = case["design"]
    if isinstance(d, str):
        return references()[d].spec
    return DesignSpec(memory=d["memory"], units=d["units"], nodes=d["nodes"], tensor_parallel=d.get("tp", 1),
                      node=d.get("node"), interconnect=d.get("interconnect"), topology=d.get("topology"))


def speed_value(case: dict[str, Any]) -> tuple[float, Optional[str]]:
    """The model's figure for a speed case, and the constraint it is bound by."""
    problem = speed_problem(case)
    ev = evaluate_fixed(problem, speed_spec(case), best=None)
    m, nodes = ev.design.metrics, ev.design.design.nodes
    out_tokens = problem.workload.output_tokens_per_request
    value = {"decode_tokens_per_s_per_user": lambda: m.decode_tokens_per_s_per_user,
             "system_tokens_per_s": lambda: m.system_tokens_per_s,
             "system_tokens_per_s_per_node": lambda: m.system_tokens_per_s / nodes,
             "end_to_end_tokens_per_s_per_user":
                 lambda: out_tokens / (m.ttft_s + out_tokens / m.decode_tokens_per_s_per_user)}[case["metric"]]()
    times = {"memory": m.t_mem_s, "communication": m.t_comm_s, "compute": m.t_comp_s}
    return float(value), max(times, key=times.get)


def speed_rows() -> list[Row]:
    out = []
    for case in data()["speed"]:
        value, bound = speed_value(case)
        pub = float(case["published"])
        out.append(Row(case["name"], f"{METRICS[case['metric']]} ({bound}-bound)", value, f"{pub:,g}", pub, pub,
                       case["low"], case["high"], case["kind"], "independent", case["why"]))
    return out
