"""The validation cases of ``published.yaml`` (machine totals) and of the bundled measurement file (speed and
latency), evaluated: shared by the tests and the docs tables (docs/validation.md, docs/calibration.md)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from archsearch import validate
from archsearch.evaluate import evaluate_fixed
from archsearch.problem import load_problem
from archsearch.reference import Reference, load_references, totals

DATA = Path(__file__).with_name("published.yaml")
FIGURES = ("memory_capacity_gb", "memory_bandwidth_tb_per_s", "interconnect_tb_per_s", "price_usd")
LABELS = {"memory_capacity_gb": ("memory capacity", "GB"), "memory_bandwidth_tb_per_s": ("memory bandwidth", "TB/s"),
          "interconnect_tb_per_s": ("interconnect, both directions", "TB/s"), "price_usd": ("price", "USD")}


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


def measured_rows() -> list[validate.Row]:
    """Every case of the bundled measurement file, evaluated with the calibrated model and the roofline."""
    return validate.rows(validate.load_measurements())


#: the name benchmarks/refresh_docs.py calls: the speed rows are now the measured cases
speed_rows = measured_rows
