"""Evaluating one fixed design with exactly the equations the search uses, and ranking it against the optimum.

A design is written ``memory=hbm4,units=6,node=gpu-hbm,nodes=2,tp=2,interconnect=ucie-d2d,topology=ring``
(``node`` may be left out when one node type carries the memory; ``interconnect`` and ``topology`` when
``nodes`` is 1; ``tp`` defaults to 1, so PP = nodes / tp; ``backing`` names the KV backing medium of a
problem that swaps KV, the cheapest by default; under kv_swap mode ``best`` a design without ``backing``
takes the better of swapping and recomputing).  A two-level design adds ``domain`` (nodes per scale-up
domain, D), ``fabric`` and ``fabric_topology``: ``interconnect`` and ``topology`` then wire each domain
and the fabric joins all nodes, e.g. ``...,nodes=256,tp=8,interconnect=nvlink4,topology=single-switch,
domain=8,fabric=infiniband-ndr,fabric_topology=fat-tree``.  It is evaluated even when it breaks the
problem's constraints: every constraint says whether it holds and by how much.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

from . import physics
from .errors import InfeasibleError, UsageError
from .physics import Check, Design
from .solve import RankedDesign, SolveResult, solve
from .ranges import RANGES
from .yamlio import check_number, shown

FIELDS = ("memory", "units", "node", "nodes", "tp", "interconnect", "topology", "backing", "domain", "fabric",
          "fabric_topology")
LEVEL_FIELDS = ("domain", "fabric", "fabric_topology")


@dataclass(frozen=True)
class DesignSpec:
    memory: str
    units: int
    nodes: int
    tensor_parallel: int
    node: Optional[str]
    interconnect: Optional[str]
    topology: Optional[str]
    backing: Optional[str] = None       # KV backing medium (problems with kv_swap)
    domain: Optional[int] = None        # two-level: nodes per scale-up domain
    fabric: Optional[str] = None        # two-level: the scale-out tier
    fabric_topology: Optional[str] = None


@dataclass(frozen=True)
class Evaluation:
    design: RankedDesign                # rank 0: not ranked by the search
    structure: tuple[Check, ...]        # whether the design is one the search could return at all
    best: Optional[RankedDesign]        # the search's best design (None when the problem is infeasible)
    versus_best: Optional[Fraction]     # this design's bandwidth per dollar / the best's
    infeasible: Optional[str]           # why the problem has no feasible design, if so


def parse_design(text: str) -> DesignSpec:
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or not value.strip() or "=" in value or len(value.split()) > 1:
            raise UsageError(f"--design: expected key=value pairs separated by commas, found {shown(part.strip())}")
        if key not in FIELDS:
            raise UsageError(f"--design: unknown key {shown(key)} (keys: {', '.join(FIELDS)})")
        if key in fields:
            raise UsageError(f"--design: '{key}' given twice")
        fields[key] = value.strip()
    for key in ("memory", "units", "nodes"):
        if key not in fields:
            raise UsageError(f"--design: missing '{key}'")

    def whole(key: str, default: Optional[int] = None) -> int:
        if key not in fields:
            return default  # type: ignore[return-value]
        rng = RANGES[f"designs.design.{key}"]
        return int(check_number(fields[key], rng, lambda exp, found: UsageError(
            f"--design: {key}: expected {exp}, found {shown(found)}")))

    spec = DesignSpec(memory=fields["memory"], units=whole("units"), nodes=whole("nodes"),
                      tensor_parallel=whole("tp", 1), node=fields.get("node"),
                      interconnect=fields.get("interconnect"), topology=fields.get("topology"),
                      backing=fields.get("backing"), domain=whole("domain"), fabric=fields.get("fabric"),
                      fabric_topology=fields.get("fabric_topology"))
    check_levels(spec)
    if spec.nodes % spec.tensor_parallel:
        raise UsageError(f"--design: tp {spec.tensor_parallel} does not divide nodes {spec.nodes} (PP = nodes / tp)")
    if spec.nodes > 1 and (spec.interconnect is None or spec.topology is None):
        raise UsageError("--design: more than one node needs an interconnect and a topology")
    return spec


def check_levels(spec: DesignSpec, where: str = "--design") -> None:
    """A two-level design gives domain, fabric and fabric_topology together, more nodes than one domain,
    and a TP that divides the domain or covers whole domains (the second only under expert parallel on a
    MoE model, which ``physics.checks`` reports)."""
    given = [k for k in LEVEL_FIELDS if getattr(spec, k) is not None]
    if not given:
        return
    if len(given) < len(LEVEL_FIELDS):
        missing = [k for k in LEVEL_FIELDS if k not in given]
        raise UsageError(f"{where}: a two-level design gives {', '.join(LEVEL_FIELDS)}; missing {', '.join(missing)}")
    if spec.nodes <= spec.domain:
        raise UsageError(f"{where}: nodes {spec.nodes} fit in one domain of {spec.domain}; a two-level design "
                         f"has more nodes than its domain")
    if spec.domain % spec.tensor_parallel and spec.tensor_parallel % spec.domain:
        raise UsageError(f"{where}: tp {spec.tensor_parallel} neither divides domain {spec.domain} nor covers "
                         f"whole domains (tensor parallel stays inside a domain, or spans whole ones)")


def _two_level_config(unlimited, spec: DesignSpec):
    """The two-level configuration of ``spec`` (domain tier and topology, D, fabric tier and topology)."""
    cat = unlimited.catalog
    for key, name in (("interconnect", spec.interconnect), ("fabric", spec.fabric)):
        if name not in cat.interconnects:
            raise UsageError(f"--design: {key}: unknown interconnect '{name}' "
                             f"(known: {', '.join(sorted(cat.interconnects))})")
    dom, fab = cat.interconnects[spec.interconnect], cat.interconnects[spec.fabric]
    if spec.domain not in dom.domain_sizes:
        sizes = ", ".join(map(str, dom.domain_sizes)) or "none: it has no domain role"
        raise UsageError(f"--design: domain: {spec.interconnect} is built in domains of {sizes}, not {spec.domain}")
    if "fabric" not in fab.roles:
        raise UsageError(f"--design: fabric: {spec.fabric} has no fabric role")
    open_ = dataclasses.replace(unlimited, search=dataclasses.replace(unlimited.search, two_level=True),
                                constraints=dataclasses.replace(unlimited.constraints, balance=dataclasses.replace(
                                    unlimited.constraints.balance, pipeline_parallel_ratio=0)))
    nets = [n for n in physics.two_level_configs(open_, 0)
            if n.domain_nodes == spec.domain and n.tier.name == spec.interconnect
            and n.topology.name == spec.topology and n.fabric.tier.name == spec.fabric
            and n.fabric.topology.name == spec.fabric_topology]
    nc = next((n for n in nets if n.n_min <= spec.nodes <= n.n_max), None)
    if nc is None:
        spans = ", ".join(f"{n.n_min}..{n.n_max}" for n in nets) or "no node counts"
        raise UsageError(f"--design: {spec.interconnect} {spec.topology} x{spec.domain} + {spec.fabric} "
                         f"{spec.fabric_topology} spans {spans}, not {spec.nodes} nodes")
    return nc


def build_design(problem, spec: DesignSpec) -> Design:
    """The design in ``problem``'s physics, whatever the problem's limits (they are checked, not imposed)."""
    cat = problem.catalog
    if spec.memory not in cat.memory:
        raise UsageError(f"--design: unknown memory '{spec.memory}' (known: {', '.join(sorted(cat.memory))})")
    carriers = [n.name for n in cat.nodes.values() if spec.memory in n.memory]
    node = spec.node or (carriers[0] if len(carriers) == 1 else None)
    if node is None:
        raise UsageError(f"--design: memory '{spec.memory}' is carried by several node types; give node= "
                         f"({', '.join(carriers)})")
    if node not in carriers:
        raise UsageError(f"--design: node '{node}' does not carry memory '{spec.memory}' "
                         f"(nodes that do: {', '.join(carriers) or 'none'})")
    unlimited = dataclasses.replace(
        problem, search=dataclasses.replace(problem.search, include={}),
        constraints=dataclasses.replace(problem.constraints, max_nodes=max(spec.nodes, problem.constraints.max_nodes)))
    mems = [m for m in physics.memory_configs(unlimited) if m.node.name == node and m.memory.name == spec.memory]
    mc = next((m for m in mems if m.units == spec.units), None)
    if mc is None:
        offered = f"{mems[0].units}..{mems[-1].units}" if mems else "none"
        raise UsageError(f"--design: units: {spec.units} units of {spec.memory} on {node} are not offered "
                         f"(offered: {offered})")
    if spec.domain is not None:
        nc = _two_level_config(unlimited, spec)
    elif spec.nodes == 1:
        nc = physics.network_configs(unlimited)[0]
    else:
        if spec.interconnect not in cat.interconnects:
            raise UsageError(f"--design: unknown interconnect '{spec.interconnect}' "
                             f"(known: {', '.join(sorted(cat.interconnects))})")
        nets = [n for n in physics.network_configs(unlimited)[1:]
                if not n.domain_nodes and n.tier.name == spec.interconnect and n.topology.name == spec.topology]
        if not nets:
            tier = cat.interconnects[spec.interconnect]
            raise UsageError(f"--design: {spec.interconnect} cannot be wired as '{spec.topology}' "
                             f"(it can: {', '.join(tier.topologies)})")
        nc = next((n for n in nets if n.n_min <= spec.nodes <= n.n_max), None)
        if nc is None:
            spans = ", ".join(f"{n.n_min}..{n.n_max}" for n in nets)
            raise UsageError(f"--design: {spec.interconnect} {spec.topology} spans {spans} nodes, not {spec.nodes}")
    return Design(mc, nc, spec.nodes, spec.tensor_parallel, _backing(problem, spec))


def _backing(problem, spec: DesignSpec):
    """The design's KV backing tier: the one named, else the cheapest (None when the problem does not swap)."""
    backs = physics.backing_configs(problem, physics.requirements(problem))
    if not backs:
        if spec.backing is not None:
            raise UsageError("--design: backing: the problem does not swap KV (workload.kv_swap with mode swap)")
        return None
    if spec.backing is None:
        return min(backs, key=lambda b: (b.cost_usd, b.index))
    named = [b for b in backs if b.memory.name == spec.backing]
    if not named:
        raise UsageError(f"--design: backing: '{spec.backing}' is not one of the problem's backing media "
                         f"({', '.join(b.memory.name for b in backs)})")
    return named[0]


def for_design(problem, spec: DesignSpec):
    """Under kv_swap mode best, the mode the design uses: swap when it names a backing tier; otherwise the
    better of swapping (cheapest backing tier) and recomputing: fewer broken constraints, then more
    bandwidth per dollar (as the search would choose)."""
    ks = problem.workload.kv_swap
    if ks is None or ks.mode != "best":
        return problem
    from .solve import swap_variant
    if spec.backing:
        return swap_variant(problem, "swap")

    def rank(v):
        d = build_design(v, spec)
        req = physics.requirements(v)
        broken = sum(not c.ok for c in physics.checks(d, req, v))
        return (broken, -physics.evaluate(d, req, v).bandwidth_per_dollar)
    return min((swap_variant(problem, m) for m in ("swap", "recompute")), key=rank)


def structure_checks(problem, design: Design) -> list[Check]:
    """What makes a design one the search could return, beyond the constraints in ``physics.checks``."""
    c = problem.constraints
    tau = design.tensor_parallel
    allowed = physics.tp_values(dataclasses.replace(
        problem, constraints=dataclasses.replace(c, max_nodes=max(c.max_nodes, design.nodes))))
    rule = "divides the attention heads" if c.tensor_parallel == "divides_heads" else "any degree"
    out = [Check("tensor parallel", tau in allowed and tau <= c.max_tensor_parallel, 0.0,
                 f"TP {tau}: {rule}, at most {c.max_tensor_parallel}")]
    out.append(Check("node type on this interconnect", physics.compatible(design.mem, design.net), 0.0,
                     f"{design.mem.node.name} on {design.net.label}"))
    inc = problem.search.include
    if inc:
        net = design.net
        parts = [("memory", design.mem.memory.name), ("nodes", design.mem.node.name),
                 ("interconnects", net.tier.name if net.tier else None),
                 ("topologies", net.topology.name if net.topology else None)]
        if net.domain_nodes:
            parts += [("interconnects", net.fabric.tier.name), ("topologies", net.fabric.topology.name)]
        outside = [f"{sec} {name}" for sec, name in parts if name and sec in inc and name not in inc[sec]]
        out.append(Check("search.include", not outside, 0.0,
                         f"outside the problem's include lists: {', '.join(outside)}" if outside
                         else "every part is in the problem's include lists"))
    return out


_SEARCH = object()


def evaluate_fixed(problem, spec: DesignSpec, best: Optional[RankedDesign] = _SEARCH,
                   infeasible: Optional[str] = None) -> Evaluation:
    """Evaluate ``spec`` on ``problem``; ``best`` is the search's best design (found here when not given)."""
    full, problem = problem, for_design(problem, spec)
    design = build_design(problem, spec)
    req = physics.requirements(problem)
    chk = tuple(physics.checks(design, req, problem))
    rd = RankedDesign(0, design, physics.evaluate(design, req, problem), chk, physics.binding(list(chk)), False)
    if best is _SEARCH:
        best = None
        try:
            best = solve(full, top_k=1).designs[0]
        except InfeasibleError as exc:
            infeasible = str(exc)
    ratio = rd.metrics.bandwidth_per_dollar / best.metrics.bandwidth_per_dollar if best else None
    return Evaluation(rd, tuple(structure_checks(problem, design)), best, ratio, infeasible)


def evaluate_design(problem, spec: DesignSpec) -> Evaluation:
    return evaluate_fixed(problem, spec)


def as_result(problem, ev: Evaluation) -> SolveResult:
    """A one-design result, so the design prints as one row of ``solve``'s table."""
    return SolveResult(status="EVALUATED", problem=problem, requirements=physics.requirements(problem),
                       designs=(ev.design,), bound_bytes_per_s_per_usd=None, wall_time_s=0.0, iterations=0,
                       settings={"seed": problem.search.seed, "workers": 1, "distinct": "design"})
