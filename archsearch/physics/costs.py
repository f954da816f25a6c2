"""Costs: cost-basis conversion, cost curves (points and die yield), network item counts and prices."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING

from .. import topology as topo
from ..catalog import Curve, DieYield
from ..units import exact, usd

if TYPE_CHECKING:  # pragma: no cover
    from ..problem import CostSettings
    from .configs import NetworkConfig


# -- costs ------------------------------------------------------------------------------------
def basis_factor(entry_basis: str, cost: "CostSettings") -> Fraction:
    """Multiplier taking a figure on ``entry_basis`` to the problem's basis (market = build * markup)."""
    if entry_basis == cost.basis:
        return Fraction(1)
    markup = exact(cost.market_over_build)
    return markup if cost.basis == "market" else 1 / markup


def die_max_units(dy: DieYield) -> int:
    """Units that fit on the reticle next to the logic, with at least one whole die per wafer (0 if none)."""
    units = int((exact(dy.reticle_area_mm2) - exact(dy.logic_area_mm2)) // exact(dy.area_per_unit_mm2))
    if units <= 0 or not math.isinf(die_cost_usd(dy, units)):
        return max(units, 0)
    lo, hi = 0, units  # cost is finite at lo (or lo == 0), infinite at hi; a larger die only loses dies and yield
    while hi - lo > 1:  # bisection: O(log units) steps, whatever the reticle
        mid = (lo + hi) // 2
        if math.isinf(die_cost_usd(dy, mid)):
            hi = mid
        else:
            lo = mid
    return lo


def die_cost_usd(dy: DieYield, units: int) -> float:
    """Cost of one good die holding ``units`` SRAM units: wafer cost / (dies per wafer * Poisson yield) + fixed."""
    area = dy.logic_area_mm2 + units * dy.area_per_unit_mm2
    d = dy.wafer_diameter_mm
    dies = math.floor(math.pi * (d / 2) ** 2 / area - math.pi * d / math.sqrt(2 * area))
    if dies < 1:
        return math.inf
    yield_ = math.exp(-area / 100.0 * dy.defect_density_per_cm2)
    if yield_ == 0.0:
        return math.inf  # no good die at all (the yield underflows float)
    return dy.wafer_cost_usd / (dies * yield_) + dy.fixed_usd


def curve_domain(curve: Curve) -> tuple[int, int]:
    if curve.points is not None:
        return curve.points[0][0], curve.points[-1][0]
    return 1, die_max_units(curve.die_yield)


def curve_value(curve: Curve, q: int) -> Fraction:
    """The curve at integer quantity q inside its domain: linear between points, exact."""
    if curve.die_yield is not None:
        return exact(die_cost_usd(curve.die_yield, q))
    pts = curve.points
    for (q0, c0), (q1, c1) in zip(pts, pts[1:]):
        if q0 <= q <= q1:
            return exact(c0) + (exact(c1) - exact(c0)) * Fraction(q - q0, q1 - q0)
    if len(pts) == 1 and pts[0][0] == q:
        return exact(pts[0][1])
    raise ValueError(f"quantity {q} outside the curve's points {pts[0][0]}..{pts[-1][0]}")



def network_term_usd(term: topo.Term) -> int:
    """Whole dollars per item of a term (the resolution of every cost)."""
    return usd(term.usd)


def network_cost_usd(cfg: NetworkConfig, n):
    """Network cost at node count n (int or numpy array): sum of term counts times whole-dollar prices."""
    return sum(network_term_usd(t) * t.count(n, cfg.rack_nodes) for t in cfg.terms) if cfg.terms else 0 * n


def network_power_w(cfg: NetworkConfig, n) -> Fraction:
    return sum((t.w * t.count(n, cfg.rack_nodes) for t in cfg.terms), Fraction(0))


def network_counts(cfg: NetworkConfig, n: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in cfg.terms:
        out[t.label] = out.get(t.label, 0) + int(t.count(n, cfg.rack_nodes))
    return out
