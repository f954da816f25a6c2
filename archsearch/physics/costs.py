"""Costs: cost-basis conversion, cost curves (points and die yield), network item counts and prices.

Every cost is an exact ``Fraction`` of US dollars, never rounded: a price written as 0.37 is 37/100, a market
price on the build basis is that price / 3 (``cost.market_over_build``), so scaling every price by k scales
every cost by exactly k.  The one figure that is not a price, the die-yield model's wafers per good die
(an exponential), is rounded to ``DIE_FACTOR_RESOLUTION`` of a wafer before any price multiplies it.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING

from .. import topology as topo
from ..catalog import Curve, DieYield
from ..scaling import check_linear, cost_hint, in_units
from ..units import exact

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


#: wafers per good die are rounded to this fraction of a wafer (a millionth: $0.016 of a $16,000 wafer)
DIE_FACTOR_RESOLUTION = Fraction(1, 10**6)


def wafers_per_good_die(dy: DieYield, units: int) -> float:
    """1 / (dies per wafer x Poisson yield) for a die holding ``units`` SRAM units (inf if no good die).
    It depends on the die's geometry and defects only, not on any price."""
    area = dy.logic_area_mm2 + units * dy.area_per_unit_mm2
    d = dy.wafer_diameter_mm
    dies = math.floor(math.pi * (d / 2) ** 2 / area - math.pi * d / math.sqrt(2 * area))
    if dies < 1:
        return math.inf
    yield_ = math.exp(-area / 100.0 * dy.defect_density_per_cm2)
    if yield_ == 0.0:
        return math.inf  # no good die at all (the yield underflows float)
    return 1 / (dies * yield_)


def die_cost_usd(dy: DieYield, units: int) -> float:
    """Cost of one good die holding ``units`` SRAM units: wafer cost / (dies per wafer * Poisson yield) + fixed."""
    f = wafers_per_good_die(dy, units)
    return math.inf if math.isinf(f) else dy.wafer_cost_usd * f + dy.fixed_usd


def die_cost_exact_usd(dy: DieYield, units: int) -> Fraction:
    """``die_cost_usd`` exactly: wafer cost x wafers per good die (to ``DIE_FACTOR_RESOLUTION``) + fixed, so
    scaling the wafer and fixed prices by k scales it by exactly k.  Only for units within ``die_max_units``."""
    f = Fraction(round(wafers_per_good_die(dy, units) / DIE_FACTOR_RESOLUTION)) * DIE_FACTOR_RESOLUTION
    return exact(dy.wafer_cost_usd) * f + exact(dy.fixed_usd)


def curve_domain(curve: Curve) -> tuple[int, int]:
    if curve.points is not None:
        return curve.points[0][0], curve.points[-1][0]
    return 1, die_max_units(curve.die_yield)


def curve_value(curve: Curve, q: int) -> Fraction:
    """The curve at integer quantity q inside its domain: linear between points, exact."""
    if curve.die_yield is not None:
        return die_cost_exact_usd(curve.die_yield, q)
    pts = curve.points
    for (q0, c0), (q1, c1) in zip(pts, pts[1:]):
        if q0 <= q <= q1:
            return exact(c0) + (exact(c1) - exact(c0)) * Fraction(q - q0, q1 - q0)
    if len(pts) == 1 and pts[0][0] == q:
        return exact(pts[0][1])
    raise ValueError(f"quantity {q} outside the curve's points {pts[0][0]}..{pts[-1][0]}")



def network_term_usd(term: topo.Term) -> Fraction:
    """The exact price of one item of a term, in the problem's cost basis."""
    return exact(term.usd)


def network_cost_usd(cfg: NetworkConfig, n: int) -> Fraction:
    """Network cost at node count n: the sum of term counts times their exact prices."""
    return sum((network_term_usd(t) * int(t.count(n, cfg.rack_nodes)) for t in cfg.terms), Fraction(0))


def network_cost_units(cfg: NetworkConfig, n, unit: Fraction):
    """``network_cost_usd`` in whole multiples of ``unit`` dollars (every item price must be one), for node
    count n as an int or a numpy integer array (the oracle's and the model's integer costs)."""
    each = [in_units(network_term_usd(t), unit) for t in cfg.terms]
    top = max(n) if hasattr(n, "__len__") and len(n) else n   # numpy wraps around silently: check the largest
    check_linear(f"network cost of {cfg.label}", [(e, int(t.count(top, cfg.rack_nodes))) for e, t in zip(each, cfg.terms)],
                 cost_hint(unit))
    total = 0 * n
    for e, t in zip(each, cfg.terms):
        if e:
            total = total + e * t.count(n, cfg.rack_nodes)
    return total


def network_power_w(cfg: NetworkConfig, n) -> Fraction:
    return sum((t.w * t.count(n, cfg.rack_nodes) for t in cfg.terms), Fraction(0))


def network_counts(cfg: NetworkConfig, n: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in cfg.terms:
        out[t.label] = out.get(t.label, 0) + int(t.count(n, cfg.rack_nodes))
    return out
