"""The configurations a design is built from: memory (node x medium x units), network (tier x topology x
depth), KV backing tier, and the tensor-parallel degrees on offer."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Optional

from .. import topology as topo
from ..catalog import Interconnect, Memory, Node, Topology
from ..memo import exact_cache
from ..units import exact, format_usd_full, gb_per_s_to_bytes_per_s, gb_to_bytes, ns_to_s, port_power_w
from .costs import basis_factor, curve_domain, curve_value

if TYPE_CHECKING:  # pragma: no cover
    from ..problem import CostSettings, Problem
    from .requirements import Requirements


# -- memory configurations --------------------------------------------------------------------
#: a node configuration whose node and memory cost nothing still costs a cent, so bandwidth per dollar stays finite
MIN_NODE_COST_USD = Fraction(1, 100)


@dataclass(frozen=True)
class MemoryConfig:
    """One node type carrying ``units`` of one memory medium: per-node figures."""

    index: int
    node: Node
    memory: Memory
    units: int
    capacity_bytes: int
    bandwidth_bytes_per_s: int
    cost_usd: Fraction          # exact, in the problem's cost basis (physics.costs)
    power_w: Fraction
    compute_flops: int          # FLOP/s of one node (dense peak in the workload's compute dtype)

    @property
    def label(self) -> str:
        return f"{self.memory.name} x{self.units} on {self.node.name}"


def memory_configs(problem: "Problem") -> list[MemoryConfig]:
    """Every (node, medium, units) the catalog and the problem's include lists allow, in catalog order.

    Remembered (``memory_configs_of``) by exactly what it reads: points of a sweep or study that change only
    the workload get the same configurations, worked out once."""
    cat, inc = problem.catalog, problem.search.include
    return list(memory_configs_of(tuple(cat.nodes.values()), tuple(cat.memory.items()), inc.get("nodes"),
                                  inc.get("memory"), problem.cost, problem.workload.compute_dtype))


@exact_cache(64)
def memory_configs_of(nodes: tuple[Node, ...], memory: tuple[tuple[str, Memory], ...],
                      include_nodes: Optional[tuple[str, ...]], include_memory: Optional[tuple[str, ...]],
                      cost: "CostSettings", compute_dtype: str) -> tuple[MemoryConfig, ...]:
    """``memory_configs`` from what it reads: the catalog's nodes (in order) and memory media (by name), the
    include lists of nodes and media (None: all), the cost settings (the basis prices are taken to) and the
    compute dtype (FLOP/s).  Frozen, hashable arguments: the cache's key is exactly its inputs."""
    media = dict(memory)
    out: list[MemoryConfig] = []
    for node in nodes:
        if include_nodes is not None and node.name not in include_nodes:
            continue
        nlo, nhi = curve_domain(node.cost_usd)
        for mname in node.memory:
            mem = media[mname]
            if include_memory is not None and mname not in include_memory:
                continue
            mlo, mhi = curve_domain(mem.cost_usd)
            lo = max(node.min_units, nlo, mlo)
            hi = min(node.max_units, mem.max_units_per_node, nhi, mhi)
            for u in range(lo, hi + 1):
                price = (curve_value(node.cost_usd, u) * basis_factor(node.cost_basis, cost)
                         + curve_value(mem.cost_usd, u) * basis_factor(mem.cost_basis, cost))
                cap = gb_to_bytes(mem.capacity_gb) * u
                bw = gb_per_s_to_bytes_per_s(mem.bandwidth_gb_per_s) * u
                out.append(MemoryConfig(
                    index=len(out), node=node, memory=mem, units=u,
                    capacity_bytes=math.floor(cap), bandwidth_bytes_per_s=math.floor(bw),
                    cost_usd=price if price > 0 else MIN_NODE_COST_USD,
                    power_w=exact(node.power_w) + exact(mem.power_w) * u,
                    compute_flops=math.floor(exact(node.tflops(compute_dtype)) * 10**12),
                ))
    return tuple(out)


# -- network configurations -------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkConfig:
    """One interconnect tier wired as one topology (at one fat-tree depth), for n_min..n_max nodes.

    ``tier`` and ``topology`` are None for the single-node configuration (N = 1, no network).

    A two-level configuration (``domain_nodes`` D > 0) joins scale-up domains of D nodes, each wired
    as the single-level configuration ``domain``, by the scale-out ``fabric`` (a single-level
    configuration over all N nodes, each node with the fabric tier's ports); N > D.  Its ``tier``,
    ``topology``, ``level``, links and latency are the domain's (tensor parallel runs there), its
    ``terms`` both levels' items (domain items per whole domain, ceil(N / D) domains).
    """

    index: int
    tier: Optional[Interconnect]
    topology: Optional[Topology]
    level: int
    n_min: int
    n_max: int
    rack_nodes: int
    terms: tuple[topo.Term, ...]
    node_link_bytes_per_s: Fraction
    link_bytes_per_s: Fraction
    latency_s: Fraction
    domain_nodes: int = 0
    domain: Optional["NetworkConfig"] = None
    fabric: Optional["NetworkConfig"] = None

    def __hash__(self) -> int:
        """The dataclass's hash (of every field, as equality compares them), worked out once per object: a
        network is part of the key of cached communication coefficients (``network.comm_coefficients_of``),
        looked up for every (TP, machine) of every point of a sweep."""
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash(tuple(getattr(self, f.name) for f in dataclasses.fields(self)))
            object.__setattr__(self, "_hash", h)
        return h

    def __getstate__(self) -> dict:
        """Pickled and copied without the remembered hash (string hashes differ from one process to another)."""
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}

    def wiring(self, nodes: int) -> topo.Wiring:
        """The machine ``nodes`` nodes of this configuration really are (coinciding topologies identified)."""
        if self.tier is None:
            return topo.Wiring("single", (1,), 0, 1)
        if self.domain_nodes:  # the domain's machine (the fabric's is self.fabric.wiring(nodes))
            return self.domain.wiring(self.domain_nodes)
        return topo.canonical(self.topology, self.tier, nodes, self.level)

    @property
    def label(self) -> str:
        if self.tier is None:
            return "single node"
        if self.domain_nodes:
            return f"{self.domain.label} x{self.domain_nodes} + {self.fabric.label}"
        lvl = f" ({self.level}-level)" if self.topology.kind == "fat_tree" else ""
        return f"{self.tier.name} {self.topology.name}{lvl}"

    @property
    def tier_key(self) -> str:
        """The tier as the ranking's "distinct" sees it; a two-level network names both levels' tiers."""
        if self.tier is None:
            return "-"
        return f"{self.domain.tier.name} / {self.fabric.tier.name}" if self.domain_nodes else self.tier.name

    def arch(self, nodes: int) -> tuple[str, str]:
        """(tier, machine topology) at ``nodes`` nodes as "distinct" sees them: a two-level network names the
        domain's machine (D nodes) and the fabric's (all nodes)."""
        if self.tier is None:
            return "-", "-"
        if self.domain_nodes:
            return self.tier_key, (f"{self.domain.wiring(self.domain_nodes).name} / "
                                   f"{self.fabric.wiring(nodes).name}")
        return self.tier.name, self.wiring(nodes).name

    @property
    def key(self) -> tuple:
        """What identifies the configuration across problems: tier, topology, depth (and D and fabric)."""
        own = (self.tier.name if self.tier else "-", self.topology.name if self.topology else "-", self.level)
        return own + ((self.domain_nodes,) + self.fabric.key if self.domain_nodes else ())

    @property
    def pp_link_bytes_per_s(self) -> Fraction:
        """Per-node link bandwidth pipeline hops may use: the slower level's in a two-level network."""
        if self.domain_nodes:
            return min(self.node_link_bytes_per_s, self.fabric.node_link_bytes_per_s)
        return self.node_link_bytes_per_s


def tier_configs(problem: "Problem", tier: Interconnect, nmax: int, start: int) -> list[NetworkConfig]:
    """Every wireable (topology, depth) of one tier within nmax nodes, indexed from ``start``.

    Remembered (``tier_configs_of``) by exactly what it reads, so the points of a sweep or study share the same
    configuration objects (and the caches keyed on them hit at once)."""
    cat, inc = problem.catalog, problem.search.include
    return list(tier_configs_of(tier, tuple((name, cat.topologies[name]) for name in tier.topologies),
                                inc.get("topologies"), problem.cost, nmax, start))


@exact_cache(1024)
def tier_configs_of(tier: Interconnect, topologies: tuple[tuple[str, Topology], ...],
                    include_topologies: Optional[tuple[str, ...]], cost: "CostSettings", nmax: int,
                    start: int) -> tuple[NetworkConfig, ...]:
    """``tier_configs`` from what it reads: the tier, its topologies' catalog entries (by name, in the tier's
    order), the include list of topologies (None: all), the cost settings, nmax and the first index.  Frozen,
    hashable arguments: the cache's key is exactly its inputs."""
    f = basis_factor(tier.cost_basis, cost)
    link = gb_per_s_to_bytes_per_s(tier.link_bandwidth_gb_per_s)
    out: list[NetworkConfig] = []
    for tname, t in topologies:
        if include_topologies is not None and tname not in include_topologies:
            continue
        for level, lo, hi in topo.node_ranges(t, tier):
            hi = min(hi, tier.reach_nodes, nmax)
            if hi < lo:
                continue
            sw = exact(tier.switch.cost_usd) * f if tier.switch else Fraction(0)
            terms = topo.terms(t, tier, level, port_usd=exact(tier.port_cost_usd) * f,
                               cable_usd=exact(tier.cable_cost_usd) * f,
                               optics_usd=exact(tier.optics_cost_usd) * f, switch_usd=sw,
                               port_w=port_power_w(tier.energy_pj_per_bit, link))
            out.append(NetworkConfig(
                index=start + len(out), tier=tier, topology=t, level=level, n_min=lo, n_max=hi,
                rack_nodes=tier.rack_nodes, terms=tuple(terms),
                node_link_bytes_per_s=link * tier.links_per_node, link_bytes_per_s=link,
                latency_s=ns_to_s(tier.latency_ns)))
    return tuple(out)


def network_configs(problem: "Problem") -> list[NetworkConfig]:
    """The single-node configuration first, then every wireable (tier, topology, depth), then (where the
    problem and the catalog allow) every two-level (domain, D, fabric) configuration."""
    cat, inc, nmax = problem.catalog, problem.search.include, problem.constraints.max_nodes
    out = [NetworkConfig(0, None, None, 0, 1, 1, 1, (), Fraction(0), Fraction(0), Fraction(0))]
    for tier in cat.interconnects.values():
        if "interconnects" in inc and tier.name not in inc["interconnects"]:
            continue
        out += tier_configs(problem, tier, nmax, len(out))
    if problem.search.two_level:
        from .levels import two_level_configs
        out += two_level_configs(problem, len(out))
    return out


@dataclass(frozen=True)
class BackingConfig:
    """A KV backing tier: ``units`` of one medium, the fewest that hold the parked KV and carry its I/O.

    The units sit in the nodes' hosts, at most the medium's max_units_per_node per node, so a
    design needs at least ``min_nodes`` nodes to carry them.
    """

    index: int
    memory: Memory
    units: int
    cost_usd: Fraction
    power_w: Fraction
    min_nodes: int

    @property
    def label(self) -> str:
        return f"{self.memory.name} x{self.units}"


def _backing(problem: "Problem", req: "Requirements", name: str, index: int) -> BackingConfig:
    """The fewest units of medium ``name`` that hold the parked history and carry the swap I/O both ways."""
    mem = problem.catalog.memory[name]
    io = req.min_tokens_per_s * req.swap.io_bytes_per_user_token
    cap, bw = gb_to_bytes(mem.capacity_gb), gb_per_s_to_bytes_per_s(mem.bandwidth_gb_per_s)
    units = max(1, math.ceil(req.swap.parked_bytes / cap), math.ceil(2 * io / bw))  # the device reads and writes
    lo, hi = curve_domain(mem.cost_usd)
    each = curve_value(mem.cost_usd, lo) / lo if lo else curve_value(mem.cost_usd, hi) / hi
    return BackingConfig(index=index, memory=mem, units=units,
                         cost_usd=each * units * basis_factor(mem.cost_basis, problem.cost),
                         power_w=exact(mem.power_w) * units, min_nodes=-(-units // mem.max_units_per_node))


def _backing_limits(problem: "Problem", b: BackingConfig) -> list[str]:
    """The limits a backing configuration breaks on its own: nodes to carry it, or its cost."""
    c = problem.constraints
    out = [f"{b.min_nodes:,} nodes > max_nodes {c.max_nodes:,}"] if b.min_nodes > c.max_nodes else []
    if c.budget_usd is not None and b.cost_usd > exact(c.budget_usd):
        out.append(f"{format_usd_full(b.cost_usd)} > budget {format_usd_full(c.budget_usd)}")
    return out


def backing_configs(problem: "Problem", req: "Requirements") -> list[BackingConfig]:
    """One configuration per backing medium the problem allows (none without KV swapping), leaving out
    any that no design within max_nodes can carry or that alone costs more than the budget."""
    if req.swap is None:
        return []
    out: list[BackingConfig] = []
    for name in req.swap.backing:
        b = _backing(problem, req, name, len(out))
        if not _backing_limits(problem, b):
            out.append(b)
    return out


def backing_shortfall(problem: "Problem", req: "Requirements") -> str:
    """Why no backing medium can serve (for infeasibility messages): its units, nodes and cost."""
    parts = []
    for name in req.swap.backing:
        b = _backing(problem, req, name, 0)
        over = _backing_limits(problem, b)
        parts.append(f"{name} needs {b.units:,} units on {b.min_nodes:,} node{'s' if b.min_nodes != 1 else ''} "
                     f"for {format_usd_full(b.cost_usd)}" + (f" ({'; '.join(over)})" if over else ""))
    return "; ".join(parts)


def io_min_nodes(req: "Requirements") -> int:
    """Nodes whose backing-tier paths (full duplex: out and in each use one direction) carry the swap I/O."""
    if req.swap is None:
        return 1
    return max(1, math.ceil(req.min_tokens_per_s * req.swap.io_bytes_per_user_token / req.swap.node_io_bytes_per_s))


def compatible(mc: MemoryConfig, nc: NetworkConfig) -> bool:
    """Whether nodes of this memory configuration can be joined by this network's tier."""
    if nc.domain_nodes:
        return compatible(mc, nc.domain) and compatible(mc, nc.fabric)
    return nc.tier is None or nc.tier.node_types is None or mc.node.name in nc.tier.node_types


def links_keep_up(nc: NetworkConfig, mc: MemoryConfig, ratio: Fraction, pipeline: bool = False) -> bool:
    """The ratio rule: per-node link bandwidth >= ratio x per-node memory bandwidth (exact, in integers).
    ``pipeline``: the links pipeline hops use (both levels of a two-level network), else tensor parallel's."""
    link = nc.pp_link_bytes_per_s if pipeline else nc.node_link_bytes_per_s
    return link.numerator * ratio.denominator >= ratio.numerator * mc.bandwidth_bytes_per_s * link.denominator


def links_keep_up_matrix(mems, nets, ratio: Fraction, pipeline: bool = False):
    """``links_keep_up`` for every (memory configuration, network configuration) pair, as a K x J bool array.
    ``pipeline``: the links pipeline hops use (both levels of a two-level network), else tensor parallel's.

    Vectorised and exact: for a whole number of bytes/s b, link >= ratio x b  iff  b <= floor(link / ratio),
    so each network's threshold is computed once in integers.
    """
    import numpy as np
    ratio = Fraction(ratio)
    bws = [m.bandwidth_bytes_per_s for m in mems]
    if ratio <= 0 or not mems or not nets or any(not isinstance(b, int) for b in bws):
        return np.array([[links_keep_up(n, m, ratio, pipeline) for n in nets] for m in mems],
                        dtype=bool).reshape(len(mems), len(nets))
    cap = max(bws)  # thresholds above every bandwidth all mean "keeps up": clip them so they fit int64
    links = [n.pp_link_bytes_per_s if pipeline else n.node_link_bytes_per_s for n in nets]
    limits = [min(cap, (link.numerator * ratio.denominator) // (ratio.numerator * link.denominator))
              for link in links]
    return np.array(bws, dtype=np.int64)[:, None] <= np.array(limits, dtype=np.int64)[None, :]



# -- parallelism and communication -------------------------------------------------------------
def tp_values(problem: "Problem") -> list[int]:
    """Tensor-parallel degrees on offer: <= max_tensor_parallel and, by default, dividing the attention heads."""
    c = problem.constraints
    hi = min(c.max_tensor_parallel, c.max_nodes)
    if c.tensor_parallel == "divides_heads":
        return [t for t in range(1, hi + 1) if problem.model.attention_heads % t == 0]
    return list(range(1, hi + 1))


#: fabric topologies whose nodes all reach each other at full port bandwidth (through switches), the
#: only ones a TP group may span: a ring, torus or mesh would put a group's D parallel all-reduces on
#: the same links, which ``network.spanning_comm`` does not count
SWITCHED_FABRICS = ("fat_tree", "switch", "dragonfly")


def tp_fits(nc: NetworkConfig, tau: int, span: bool = False) -> bool:
    """Tensor parallel stays inside one scale-up domain: TP divides D (always true for one level).
    ``span`` (``spans_domains``: expert parallel on a MoE model): the TP and expert-parallel group may
    instead cover whole domains of a switched fabric (``SWITCHED_FABRICS``), TP a multiple of D, its
    collectives crossing the fabric (``network.spanning_comm``)."""
    d = nc.domain_nodes
    return (d == 0 or d % tau == 0
            or (span and tau % d == 0 and nc.fabric.topology.kind in SWITCHED_FABRICS))


def spans_domains(problem: "Problem") -> bool:
    """Whether a two-level design's TP group may span domains: expert parallel on a MoE model, whose expert
    all-to-all then crosses the fabric (issue 11: PP, EP and replicas may cross domains).  Dense models keep
    TP inside one domain."""
    return bool(problem.constraints.expert_parallel and problem.model.moe is not None)


def spanning(nc: NetworkConfig, tau: int) -> bool:
    """The design's TP group covers more than one scale-up domain (TP a multiple of D, D < TP)."""
    return bool(nc.domain_nodes) and tau > nc.domain_nodes


def tp_group_domains(nc: NetworkConfig, tau: int) -> int:
    """Scale-up domains one TP group covers: TP / D when it spans whole domains, else 1.  Ties in bandwidth
    per dollar and cost go to fewer (the same nodes cut as TP inside a domain and more pipeline stages
    communicate less over the fabric): the oracle's sort key and CP-SAT's tie-break both read it."""
    return tau // nc.domain_nodes if spanning(nc, tau) else 1
