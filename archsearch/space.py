"""The design space of one problem: its configurations and the exact integer columns both engines share.

``Space`` holds what is searched (memory configurations, network configurations, TP degrees, node range,
KV backing tiers) and the scalings every engine counts in (bandwidth, FLOP/s and cost units);
``node_bounds`` the node counts each memory configuration needs.  The CP-SAT model (``model``), the
enumeration (``oracle``) and the pruning (``prune``) read it; nothing here solves.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

from . import physics
from .memo import exact_cache
from .physics import MemoryConfig, NetworkConfig, Requirements
from .scaling import fraction_gcd, in_units, scale_column
from .units import exact

#: constraint groups; infeasibility diagnosis drops them one at a time
GROUPS = ("capacity", "budget", "power", "speed", "ttft", "swap", "balance")


@dataclass(frozen=True)
class Space:
    """The design space of one problem, as shared by the CP-SAT model and the oracle."""

    problem: object
    req: Requirements
    mems: tuple[MemoryConfig, ...]
    nets: tuple[NetworkConfig, ...]
    tps: tuple[int, ...]
    max_nodes: int
    backs: tuple[physics.BackingConfig, ...] = ()

    @functools.cached_property
    def physics_cache(self):
        """Per-(network, TP) physics computed once, shared by the oracle bounds and the model (physics_cache)."""
        from .physics_cache import PhysicsCache
        return PhysicsCache(self)

    @functools.cached_property
    def flops_column(self):
        """Per-node FLOP/s as exact integers in one common unit."""
        return _scaled(tuple(m.compute_flops for m in self.mems))

    @functools.cached_property
    def cost_unit(self) -> Fraction:
        """Dollars per unit of the integer costs CP-SAT and the oracle add up: the greatest common divisor of
        every price in the space (node configurations, network items, backing tiers), so each price is a whole
        number of units and nothing is rounded (a $6 port at 0.37 is 222 units of $0.01)."""
        return _gcd(tuple([m.cost_usd for m in self.mems] + [b.cost_usd for b in self.backs]
                          + [physics.network_term_usd(t) for n in self.nets for t in n.terms]))

    def cost_units(self, usd: Fraction) -> int:
        """A price of this space as a whole number of ``cost_unit`` (exact)."""
        return _in_units(usd, self.cost_unit)

    def budget_units(self) -> int | None:
        """The budget in cost units, rounded down (C <= budget exactly when C_units <= this); None without one."""
        b = self.problem.constraints.budget_usd
        return None if b is None else math.floor(exact(b) / self.cost_unit)

    @functools.cached_property
    def bound_terms(self) -> tuple:
        """What ``node_bounds`` needs of the space, the same for every memory configuration: the bytes and FLOPs
        per second the speed target needs, the nodes the swap I/O needs (None without a speed target), and the
        budget (None without one)."""
        p, req = self.problem, self.req
        r = req.min_tokens_per_s
        need_bytes = need_flops = io_nodes = None
        if r > 0:
            # step bytes and FLOPs are smallest at PP = 1 (M >= c; PP x W(c/PP) >= W(c) for the concave MoE read)
            need_bytes = physics.step_rate(req) * physics.step_bytes(req, 1)
            need_flops = r * physics.compute_per_token_flops(req, req.concurrency)
            io_nodes = physics.io_min_nodes(req)
        b = p.constraints.budget_usd
        return need_bytes, need_flops, io_nodes, None if b is None else exact(b)

    @functools.cached_property
    def bw_column(self):
        """Per-node memory bandwidths as exact integers in one common unit (``unit`` bytes/s)."""
        return _scaled(tuple(m.bandwidth_bytes_per_s for m in self.mems))


# the same columns and units at every point of a sweep that leaves the configurations alone: remembered by value
@exact_cache(64)
def _scaled(values: tuple[int, ...]):
    """``scale_column`` of whole numbers (a frozen ``Column``)."""
    return scale_column([Fraction(v) for v in values])


@exact_cache(64)
def _gcd(values: tuple[Fraction, ...]) -> Fraction:
    return fraction_gcd(values)


@exact_cache(4096)
def _in_units(usd: Fraction, unit: Fraction) -> int:
    return in_units(usd, unit)


def build_space(problem) -> Space:
    req = physics.requirements(problem)
    return Space(problem=problem, req=req, mems=tuple(physics.memory_configs(problem)),
                 nets=tuple(physics.network_configs(problem)), tps=tuple(physics.tp_values(problem)),
                 max_nodes=problem.constraints.max_nodes, backs=tuple(physics.backing_configs(problem, req)))


def node_bounds(space: Space, m: MemoryConfig, groups: tuple[str, ...] = GROUPS) -> tuple[int, int]:
    """Implied bounds on N for memory configuration m: enough capacity and bandwidth, within budget.

    These follow from the constraints (PP >= 1 and M >= c make the memory-speed
    bound a relaxation); stating them per configuration tightens CP-SAT's
    linear relaxation, which otherwise sees only N <= max_nodes.
    """
    req = space.req
    need_bytes, need_flops, io_nodes, budget = space.bound_terms
    lo, hi = 1, space.max_nodes
    if "capacity" in groups:
        lo = max(lo, -(-req.capacity_required_bytes // m.capacity_bytes))
    r = req.min_tokens_per_s
    if "speed" in groups and r > 0:
        lo = max(lo, math.ceil(need_bytes / m.bandwidth_bytes_per_s))
        lo = max(lo, math.ceil(need_flops / m.compute_flops))
    if "swap" in groups and r > 0:
        lo = max(lo, io_nodes)
    if "budget" in groups and budget is not None:
        hi = min(hi, math.floor(budget / m.cost_usd))
    return lo, hi
