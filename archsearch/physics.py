"""The physics of a design: one set of pure functions shared by the CP-SAT model,
the exhaustive oracle and the reports.

A design is: a memory configuration (node type, memory medium, units per node),
a network configuration (interconnect tier, topology, fat-tree depth), a node
count N, and a parallel split N = TP x PP.  Equations (also in the README):

    KV bytes per token  = layers * kv_elements_per_layer * kv_dtype_bytes
                          (kv_elements_per_layer = 2 * kv_heads * head_dim unless overridden)
    capacity required   = (weights + concurrency * context * KV per token) * (1 + overhead)
    capacity held       = N * units * unit capacity
    bandwidth B         = N * units * unit bandwidth
    cost                = N * (node curve(units) + memory curve(units)) + network terms(N)
    objective           = B / cost                                   (maximised exactly)

    decode, c concurrent requests in k = min(c, PP) micro-batches, M = PP * c / k = max(PP, c):
    t_mem  = (PP * W_active + M * KV_request) / B      per token per user (busy fraction k / PP)
    t_comm = (2 * layers * AR(TP, S) + (PP - 1) * hop(S)),  S = (c / k) * hidden * act_bytes
    t_comp = 2 * P_active * M / (N * node FLOP/s)     (each token of the batch costs 2 FLOPs per active parameter)
    time per token per user = max(t_mem, t_comm, t_comp)   (overlapped: a roofline bound)

Exact arithmetic: byte and bandwidth figures are exact rationals; costs are whole
dollars; communication coefficients are whole picoseconds rounded up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Optional

from . import topology as topo
from .catalog import Curve, DieYield, Interconnect, Memory, Node, Topology
from .units import (PS_PER_S, dtype_bytes, exact, gb_per_s_to_bytes_per_s, gb_to_bytes, ns_to_s, port_power_w,
                    s_to_ps_ceil, usd)

if TYPE_CHECKING:  # pragma: no cover
    from .problem import CostSettings, Problem


# -- requirements ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Requirements:
    weights_bytes: int
    active_weight_bytes: int
    kv_bytes_per_token: int
    kv_bytes_per_request: int
    kv_bytes_total: int
    capacity_required_bytes: int
    activation_bytes_per_token: int
    concurrency: int
    layers: int
    active_parameters: int
    min_tokens_per_s: Fraction


def requirements(problem: "Problem") -> Requirements:
    m, w = problem.model, problem.workload
    wb, kb, ab = dtype_bytes(w.weight_dtype), dtype_bytes(w.kv_dtype), dtype_bytes(w.activation_dtype)
    weights = math.ceil(exact(m.parameters) * wb)
    active = math.ceil(exact(m.active_parameters) * wb)
    kv_tok = math.ceil(m.layers * m.kv_elements_per_layer * kb)
    kv_req = kv_tok * w.context_length
    kv_total = kv_req * w.concurrency
    overhead = exact(problem.constraints.capacity_overhead_fraction)
    return Requirements(
        weights_bytes=weights, active_weight_bytes=active, kv_bytes_per_token=kv_tok,
        kv_bytes_per_request=kv_req, kv_bytes_total=kv_total,
        capacity_required_bytes=math.ceil((weights + kv_total) * (1 + overhead)),
        activation_bytes_per_token=math.ceil(m.hidden_size * ab),
        concurrency=w.concurrency, layers=m.layers, active_parameters=math.ceil(exact(m.active_parameters)),
        min_tokens_per_s=exact(w.min_decode_tokens_per_s_per_user),
    )


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
    while units > 0 and math.isinf(die_cost_usd(dy, units)):
        units -= 1
    return units


def die_cost_usd(dy: DieYield, units: int) -> float:
    """Cost of one good die holding ``units`` SRAM units: wafer cost / (dies per wafer * Poisson yield) + fixed."""
    area = dy.logic_area_mm2 + units * dy.area_per_unit_mm2
    d = dy.wafer_diameter_mm
    dies = math.floor(math.pi * (d / 2) ** 2 / area - math.pi * d / math.sqrt(2 * area))
    if dies < 1:
        return math.inf
    yield_ = math.exp(-area / 100.0 * dy.defect_density_per_cm2)
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


# -- memory configurations --------------------------------------------------------------------
@dataclass(frozen=True)
class MemoryConfig:
    """One node type carrying ``units`` of one memory medium: per-node figures."""

    index: int
    node: Node
    memory: Memory
    units: int
    capacity_bytes: int
    bandwidth_bytes_per_s: int
    cost_usd: int
    power_w: Fraction
    compute_flops: int          # FLOP/s of one node (dense peak in the workload's compute dtype)

    @property
    def label(self) -> str:
        return f"{self.memory.name} x{self.units} on {self.node.name}"


def memory_configs(problem: "Problem") -> list[MemoryConfig]:
    cat, inc = problem.catalog, problem.search.include
    out: list[MemoryConfig] = []
    for node in cat.nodes.values():
        if "nodes" in inc and node.name not in inc["nodes"]:
            continue
        nlo, nhi = curve_domain(node.cost_usd)
        for mname in node.memory:
            mem = cat.memory[mname]
            if "memory" in inc and mname not in inc["memory"]:
                continue
            mlo, mhi = curve_domain(mem.cost_usd)
            lo = max(node.min_units, nlo, mlo)
            hi = min(node.max_units, mem.max_units_per_node, nhi, mhi)
            for u in range(lo, hi + 1):
                cost = (curve_value(node.cost_usd, u) * basis_factor(node.cost_basis, problem.cost)
                        + curve_value(mem.cost_usd, u) * basis_factor(mem.cost_basis, problem.cost))
                cap = gb_to_bytes(mem.capacity_gb) * u
                bw = gb_per_s_to_bytes_per_s(mem.bandwidth_gb_per_s) * u
                out.append(MemoryConfig(
                    index=len(out), node=node, memory=mem, units=u,
                    capacity_bytes=math.floor(cap), bandwidth_bytes_per_s=math.floor(bw),
                    cost_usd=max(1, usd(cost)),
                    power_w=exact(node.power_w) + exact(mem.power_w) * u,
                    compute_flops=math.floor(exact(node.tflops(problem.workload.compute_dtype)) * 10**12),
                ))
    return out


# -- network configurations -------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkConfig:
    """One interconnect tier wired as one topology (at one fat-tree depth), for n_min..n_max nodes.

    ``tier`` and ``topology`` are None for the single-node configuration (N = 1, no network).
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

    @property
    def label(self) -> str:
        if self.tier is None:
            return "single node"
        lvl = f" ({self.level}-level)" if self.topology.kind == "fat_tree" else ""
        return f"{self.tier.name} {self.topology.name}{lvl}"


def network_configs(problem: "Problem") -> list[NetworkConfig]:
    """The single-node configuration first, then every wireable (tier, topology, depth)."""
    cat, inc, nmax = problem.catalog, problem.search.include, problem.constraints.max_nodes
    out = [NetworkConfig(0, None, None, 0, 1, 1, 1, (), Fraction(0), Fraction(0), Fraction(0))]
    for tier in cat.interconnects.values():
        if "interconnects" in inc and tier.name not in inc["interconnects"]:
            continue
        f = basis_factor(tier.cost_basis, problem.cost)
        link = gb_per_s_to_bytes_per_s(tier.link_bandwidth_gb_per_s)
        for tname in tier.topologies:
            t = cat.topologies[tname]
            if "topologies" in inc and tname not in inc["topologies"]:
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
                    index=len(out), tier=tier, topology=t, level=level, n_min=lo, n_max=hi,
                    rack_nodes=tier.rack_nodes, terms=tuple(terms),
                    node_link_bytes_per_s=link * tier.links_per_node, link_bytes_per_s=link,
                    latency_s=ns_to_s(tier.latency_ns)))
    return out


def compatible(mc: MemoryConfig, nc: NetworkConfig) -> bool:
    """Whether nodes of this memory configuration can be joined by this network's tier."""
    return nc.tier is None or nc.tier.node_types is None or mc.node.name in nc.tier.node_types


def links_keep_up(nc: NetworkConfig, mc: MemoryConfig, ratio: Fraction) -> bool:
    """The ratio rule: per-node link bandwidth >= ratio x per-node memory bandwidth (exact, in integers)."""
    link = nc.node_link_bytes_per_s
    return link.numerator * ratio.denominator >= ratio.numerator * mc.bandwidth_bytes_per_s * link.denominator


def links_keep_up_matrix(mems, nets, ratio: Fraction):
    """``links_keep_up`` for every (memory configuration, network configuration) pair, as a K x J bool array."""
    import numpy as np
    return np.array([[links_keep_up(n, m, ratio) for n in nets] for m in mems], dtype=bool).reshape(len(mems), len(nets))


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


# -- parallelism and communication -------------------------------------------------------------
def tp_values(problem: "Problem") -> list[int]:
    """Tensor-parallel degrees on offer: <= max_tensor_parallel and, by default, dividing the attention heads."""
    c = problem.constraints
    hi = min(c.max_tensor_parallel, c.max_nodes)
    if c.tensor_parallel == "divides_heads":
        return [t for t in range(1, hi + 1) if problem.model.attention_heads % t == 0]
    return list(range(1, hi + 1))


@dataclass(frozen=True)
class CommCoefficients:
    """Per-token communication of one user, as whole picoseconds (rounded up).

    PP * t_comm = ar * PP + ar_tok * M + hop * (PP^2 - PP) + hop_tok * (PP*M - M),  M = max(PP, c).
    """

    ar: int       # latency part of the 2 * layers all-reduces
    ar_tok: int   # bandwidth part of the 2 * layers all-reduces, per token in the micro-batch
    hop: int      # latency of one pipeline hop
    hop_tok: int  # bandwidth part of one pipeline hop, per token in the micro-batch

    def pp_comm_ps(self, pp, m):
        """PP times the communication time per token per user, in picoseconds (exact for int or numpy input)."""
        return self.ar * pp + self.ar_tok * m + self.hop * (pp * pp - pp) + self.hop_tok * (pp * m - m)


def comm_coefficients(cfg: NetworkConfig, tau: int, req: Requirements) -> CommCoefficients:
    if cfg.tier is None:
        return CommCoefficients(0, 0, 0, 0)
    s_tok = req.activation_bytes_per_token
    two_l = 2 * req.layers
    ar = topo.allreduce(cfg.topology, cfg.tier, cfg.level, tau, cfg.link_bytes_per_s)
    hops, p2p_bw = topo.point_to_point(cfg.topology, cfg.tier, cfg.level, cfg.link_bytes_per_s)
    return CommCoefficients(
        ar=s_to_ps_ceil(two_l * ar.steps * ar.hops * cfg.latency_s),
        ar_tok=s_to_ps_ceil(two_l * ar.volume * s_tok / ar.bandwidth_bytes_per_s),
        hop=s_to_ps_ceil(hops * cfg.latency_s),
        # each of the tau nodes of a stage sends its 1/tau shard of the activations in parallel
        hop_tok=s_to_ps_ceil(Fraction(s_tok, tau) / p2p_bw),
    )


def micro_batch_m(pp, c: int):
    """M = PP * (tokens per micro-batch) = max(PP, c): c requests in min(c, PP) micro-batches."""
    try:
        return pp.clip(min=c)  # numpy
    except AttributeError:
        return max(pp, c)


def speed_ok(req: Requirements, pp, m, bandwidth_bytes_per_s) -> bool:
    """Memory-bound speed target: r * (PP * W + M * KV) <= B, in exact integers."""
    r = req.min_tokens_per_s
    return r.numerator * (pp * req.active_weight_bytes + m * req.kv_bytes_per_request) <= \
        r.denominator * bandwidth_bytes_per_s


def speed_coefficients(req: Requirements, bw_unit: Fraction) -> tuple[int, int, int]:
    """(cw, ck, cb) with  memory speed ok  <=>  cw * PP + ck * M <= cb * B_units,  B_units = B / bw_unit.

    The same integers as ``speed_ok``, divided by their common factor, so that
    the CP-SAT model and the oracle compare identical, smaller numbers.
    """
    r = req.min_tokens_per_s
    cw = Fraction(r.numerator * req.active_weight_bytes)
    ck = Fraction(r.numerator * req.kv_bytes_per_request)
    cb = r.denominator * bw_unit
    den = cb.denominator
    cw, ck, cb = int(cw * den), int(ck * den), int(cb * den)
    g = math.gcd(cw, ck, cb)
    return cw // g, ck // g, cb // g


def compute_flops_needed(req: Requirements, m) -> int:
    """FLOPs the system must do per token per user: 2 x active parameters x M (M = max(PP, c))."""
    return 2 * req.active_parameters * m


def compute_ok(req: Requirements, m, flops_per_s) -> bool:
    """Compute-bound speed target: r * 2 * P_active * M <= N * node FLOP/s, in exact integers."""
    r = req.min_tokens_per_s
    return r.numerator * compute_flops_needed(req, m) <= r.denominator * flops_per_s


def compute_coefficients(req: Requirements, flops_unit: Fraction) -> tuple[int, int]:
    """(cm, cf) with  compute ok  <=>  cm * M <= cf * F_units,  F_units = N * node FLOP/s / flops_unit.

    The integers of ``compute_ok``, divided by their common factor (shared by the model and the oracle).
    """
    r = req.min_tokens_per_s
    cm = Fraction(r.numerator * 2 * req.active_parameters)
    cf = r.denominator * flops_unit
    den = cf.denominator
    cm, cf = int(cm * den), int(cf * den)
    g = math.gcd(cm, cf)
    return cm // g, cf // g


def comm_speed_ok(req: Requirements, pp_comm_ps, pp) -> bool:
    """Communication speed target: r * PP * t_comm <= PP (seconds), at picosecond resolution."""
    r = req.min_tokens_per_s
    return r.numerator * pp_comm_ps <= r.denominator * PS_PER_S * pp


def comm_speed_mask(req: Requirements, cc: CommCoefficients, pp):
    """``comm_speed_ok`` over a numpy array of PP values, in int64 where that is exact, else in Python ints."""
    import numpy as np
    from .scaling import exact_arrays
    m = micro_batch_m(pp, req.concurrency)
    r = req.min_tokens_per_s
    top = max(r.numerator * cc.pp_comm_ps(int(pp.max()), int(m.max())), r.denominator * PS_PER_S * int(pp.max()))
    pp, m = exact_arrays(top, pp, m)
    return np.asarray(comm_speed_ok(req, cc.pp_comm_ps(pp, m), pp), dtype=bool)


def comm_rule_mask(cc: CommCoefficients, cw, ck, pp, m):
    """The communication-time rule  PP * t_comm <= cW * PP + cK * M  over arrays, exact (see comm_rule_coefficients).

    ``cw``/``ck`` may be numbers or column arrays (one row per memory configuration).
    """
    import numpy as np
    from .scaling import exact_arrays
    top = max(cc.pp_comm_ps(int(pp.max()), int(m.max())), int(np.max(cw)) * int(pp.max()) + int(np.max(ck)) * int(m.max()))
    pp, m, cw, ck = exact_arrays(top, pp, m, np.asarray(cw), np.asarray(ck))
    return np.asarray(cc.pp_comm_ps(pp, m) <= cw * pp + ck * m, dtype=bool)


def comm_rule_coefficients(mc: MemoryConfig, tau: int, req: Requirements, ratio: Fraction) -> tuple[int, int]:
    """(cW, cK) with  t_comm <= ratio * t_mem  <=>  PP * t_comm[ps] <= cW * PP + cK * M  (floored to ps).

    t_mem = (PP * W + M * KV) / (tau * PP * b_node), so ratio * PP * t_mem = ratio * (PP*W + M*KV) / (tau * b_node).
    """
    per = ratio * PS_PER_S / (tau * mc.bandwidth_bytes_per_s)
    return math.floor(per * req.active_weight_bytes), math.floor(per * req.kv_bytes_per_request)


# -- one design, evaluated --------------------------------------------------------------------
@dataclass(frozen=True)
class Design:
    mem: MemoryConfig
    net: NetworkConfig
    nodes: int
    tensor_parallel: int

    @property
    def pipeline_parallel(self) -> int:
        return self.nodes // self.tensor_parallel

    def key(self) -> tuple[int, int, int, int]:
        """Every decision: memory configuration, network configuration, nodes, TP."""
        return (self.mem.index, self.net.index, self.nodes, self.tensor_parallel)

    def architecture(self) -> tuple[str, str, str]:
        """What makes designs distinct by default: memory medium, interconnect tier, topology."""
        net = self.net
        return (self.mem.memory.name, net.tier.name if net.tier else "-", net.topology.name if net.topology else "-")

    def distinct_key(self, distinct: str) -> tuple:
        """The key ranks must differ in: the architecture, the memory medium only, or (``design``) every decision."""
        if distinct == "architecture":
            return self.architecture()
        if distinct == "medium":
            return (self.mem.memory.name,)
        return self.key()


@dataclass(frozen=True)
class Metrics:
    capacity_bytes: int
    bandwidth_bytes_per_s: int
    node_cost_usd: int
    network_cost_usd: int
    cost_usd: int
    power_w: Fraction
    bandwidth_per_dollar: Fraction          # bytes/s per USD
    t_mem_s: Fraction
    t_comm_s: Fraction
    t_comp_s: Fraction
    decode_tokens_per_s_per_user: Fraction
    system_tokens_per_s: Fraction
    pipeline_busy_fraction: Fraction
    balance_ratio: Fraction                 # per-node link bandwidth / per-node memory bandwidth
    comm_ratio: Fraction                    # t_comm / t_mem
    compute_flops: Fraction
    link_bandwidth_bytes_per_s: Fraction    # every node's links, both directions summed (0 for one node)
    network_counts: dict


def evaluate(design: Design, req: Requirements) -> Metrics:
    mc, nc, n, tau = design.mem, design.net, design.nodes, design.tensor_parallel
    pp = n // tau
    cap = n * mc.capacity_bytes
    bw = n * mc.bandwidth_bytes_per_s
    node_cost = n * mc.cost_usd
    net_cost = int(network_cost_usd(nc, n))
    cost = node_cost + net_cost
    m = micro_batch_m(pp, req.concurrency)
    t_mem = Fraction(pp * req.active_weight_bytes + m * req.kv_bytes_per_request, bw)
    cc = comm_coefficients(nc, tau, req)
    t_comm = Fraction(cc.pp_comm_ps(pp, m), pp * PS_PER_S)
    t_comp = Fraction(compute_flops_needed(req, m), n * mc.compute_flops)
    t_user = max(t_mem, t_comm, t_comp)
    per_user = 1 / t_user
    balance = (nc.node_link_bytes_per_s / mc.bandwidth_bytes_per_s) if nc.tier else Fraction(0)
    return Metrics(
        capacity_bytes=cap, bandwidth_bytes_per_s=bw, node_cost_usd=node_cost, network_cost_usd=net_cost,
        cost_usd=cost, power_w=n * mc.power_w + network_power_w(nc, n),
        bandwidth_per_dollar=Fraction(bw, cost), t_mem_s=t_mem, t_comm_s=t_comm, t_comp_s=t_comp,
        decode_tokens_per_s_per_user=per_user, system_tokens_per_s=req.concurrency * per_user,
        pipeline_busy_fraction=Fraction(min(req.concurrency, pp), pp), balance_ratio=balance,
        comm_ratio=t_comm / t_mem, compute_flops=Fraction(n * mc.compute_flops),
        link_bandwidth_bytes_per_s=2 * n * nc.node_link_bytes_per_s if nc.tier else Fraction(0),
        network_counts=network_counts(nc, n),
    )


@dataclass(frozen=True)
class Check:
    """One constraint of one design: its name, whether it holds, and how much room is left (fraction)."""

    name: str
    ok: bool
    slack: float
    detail: str


def checks(design: Design, req: Requirements, problem: "Problem") -> list[Check]:
    """Every constraint the search enforces, evaluated for one design with the same integers."""
    from .units import format_bytes, format_usd  # local: formatting only
    c = problem.constraints
    met = evaluate(design, req)
    mc, nc, n, tau = design.mem, design.net, design.nodes, design.tensor_parallel
    pp = n // tau
    m = micro_batch_m(pp, req.concurrency)
    out = []
    need = req.capacity_required_bytes
    out.append(Check("capacity", met.capacity_bytes >= need, float(Fraction(met.capacity_bytes - need, need)),
                     f"holds {format_bytes(met.capacity_bytes)}, needs {format_bytes(need)}"))
    out.append(Check("max_nodes", n <= c.max_nodes, float(Fraction(c.max_nodes - n, c.max_nodes)),
                     f"{n} of {c.max_nodes} nodes"))
    if nc.tier is not None:
        out.append(Check("reach", nc.n_min <= n <= nc.n_max, float(Fraction(nc.n_max - n, nc.n_max)),
                         f"{nc.label} spans {nc.n_min}..{nc.n_max} nodes"))
    if c.budget_usd is not None:
        b = exact(c.budget_usd)
        out.append(Check("budget", met.cost_usd <= b, float((b - met.cost_usd) / b),
                         f"costs {format_usd(met.cost_usd)} of {format_usd(b)}"))
    if c.max_power_w is not None:
        p = exact(c.max_power_w)
        out.append(Check("power", met.power_w <= p, float((p - met.power_w) / p),
                         f"draws {float(met.power_w) / 1e3:,.1f} kW of {float(p) / 1e3:,.1f} kW"))
    if req.min_tokens_per_s > 0:
        r = req.min_tokens_per_s
        ok = speed_ok(req, pp, m, met.bandwidth_bytes_per_s)
        out.append(Check("speed (memory)", ok, float(1 - met.t_mem_s * r),
                         f"t_mem {float(met.t_mem_s) * 1e3:.3g} ms per token, target {float(1 / r) * 1e3:.3g} ms"))
        cc = comm_coefficients(nc, tau, req)
        ok = comm_speed_ok(req, cc.pp_comm_ps(pp, m), pp)
        out.append(Check("speed (communication)", ok, float(1 - met.t_comm_s * r),
                         f"t_comm {float(met.t_comm_s) * 1e3:.3g} ms per token, target {float(1 / r) * 1e3:.3g} ms"))
        ok = compute_ok(req, m, n * mc.compute_flops)
        out.append(Check("speed (compute)", ok, float(1 - met.t_comp_s * r),
                         f"t_comp {float(met.t_comp_s) * 1e3:.3g} ms per token, target {float(1 / r) * 1e3:.3g} ms"))
    bal = c.balance
    if nc.tier is not None and bal.rule == "ratio":
        for name, active, ratio in (("balance (tensor parallel)", tau > 1, exact(bal.tensor_parallel_ratio)),
                                    ("balance (pipeline parallel)", pp > 1, exact(bal.pipeline_parallel_ratio))):
            if active and ratio > 0:
                ok = links_keep_up(nc, mc, ratio)
                out.append(Check(name, ok, float(met.balance_ratio / ratio - 1),
                                 f"links {float(met.balance_ratio):.3g}x node memory bandwidth, rule {float(ratio):g}x"))
    if nc.tier is not None and bal.rule == "comm_time":
        ratio = exact(bal.comm_time_ratio)
        cw, ck = comm_rule_coefficients(mc, tau, req, ratio)
        cc = comm_coefficients(nc, tau, req)
        ok = cc.pp_comm_ps(pp, m) <= cw * pp + ck * m
        out.append(Check("balance (communication time)", ok, float(1 - met.comm_ratio / ratio),
                         f"t_comm {float(met.comm_ratio):.3g}x t_mem, rule {float(ratio):g}x"))
    return out


#: a constraint with less room than this (fraction) is reported as binding
BINDING_SLACK = 0.05


def tightest(chk: list[Check]) -> Optional[Check]:
    """The held constraint with the least room left."""
    held = [c for c in chk if c.ok]
    return min(held, key=lambda c: c.slack) if held else None


def binding(chk: list[Check]) -> str:
    """The tightest constraint if it has under 5% room left, else 'none' (the cost curves decided)."""
    t = tightest(chk)
    return t.name if t is not None and t.slack <= BINDING_SLACK else "none"
