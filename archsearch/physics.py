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

    decode, c concurrent requests in k = min(c, PP) micro-batches, M = PP * c / k = max(PP, c); a step
    verifies gamma + 1 tokens per request (speculative decoding; 0 drafted without it) and yields a:
    step bytes = PP * W1 + M * KV_read + X(min(PP, c))   (W1: one request's step; X: MoE experts a
                 micro-batch touches beyond W1, from E (1 - (1 - k/E)^m); KV_read: the KV sparsity share)
    t_mem  = step bytes / (a B)                          per token per user (busy fraction k / PP)
    t_comm = (n_AR AR(TP, S) + n_A2A A2A(TP, k_e S / TP) + (PP - 1) hop(S)) / a,  S = (gamma+1)(c/k) hidden act_bytes
             + c L / (O PP) x (bandwidth parts of the all-reduces and hops, per token)   (amortised prefill)
    t_comp = (2 P (gamma+1) + 2 P_draft gamma) M / (a N F) + c (prefill + recompute FLOPs) / (O eff N F)
    t_io   = c KV_hist / (O min(backing bandwidth / 2, N node_io))   (KV swapping; out and in each way)
    time per token per user = max(t_mem, t_comm, t_comp, t_io)   (overlapped: a roofline bound)
    TTFT   = max(prefill FLOPs / (TP F eff), W(L) / (TP b), prompt all-reduces and hops)

Exact arithmetic: byte and bandwidth figures are exact rationals; costs are whole
dollars; communication coefficients are whole picoseconds rounded up.
"""

from __future__ import annotations

import dataclasses
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
    """Everything a design must carry and move, in whole bytes and FLOPs (from the model and workload)."""

    weights_bytes: int
    active_weight_bytes: int            # weights one token reads (MoE: its active experts)
    kv_bytes_per_token: int
    kv_bytes_per_request: int
    kv_bytes_total: int
    capacity_required_bytes: int
    activation_bytes_per_token: int
    concurrency: int
    layers: int
    active_parameters: int
    min_tokens_per_s: Fraction
    # decode step (speculative decoding: a step verifies gamma + 1 tokens per request, yields a)
    kv_read_bytes_per_request: int      # KV read per request per step: ceil(kv_read_fraction x KV)
    step_tokens: int                    # tokens verified per request per step: gamma + 1 (1 without)
    accepted_per_step: Fraction         # tokens a step yields per request: a (1 without)
    step_weight_bytes: int              # W1: weights one request's step reads, plus gamma draft passes
    moe_extra_bytes: tuple[int, ...]    # X(p), p = 1..c: extra bytes of p micro-batches over p x W1 (MoE)
    step_flops_per_m: int               # FLOPs of a step per request slot: 2 P (gamma+1) + 2 P_draft gamma
    # prefill before a first token (0 and None when prompt_tokens is 0): the prompt, or under KV
    # recompute the whole context (the history is prefilled again before the turn's first token)
    prompt_tokens: int
    prefill_flops: int                  # 2 P L + 2 layers L^2 heads head_dim
    prefill_weight_bytes: int           # weights it reads (MoE: the experts L tokens touch)
    prefill_efficiency: Fraction
    amortised_flops_per_token: Fraction  # prefill (and KV recompute) FLOPs at peak per user token: c F / (O eff)
    max_ttft_s: Optional[Fraction]
    output_tokens: int
    # KV swapping (zero when off): parked KV and the I/O a turn costs
    swap: Optional["SwapNeed"]


@dataclass(frozen=True)
class SwapNeed:
    """KV parked between turns in a backing tier, and the I/O that moving it costs.

    A returning request brings back its history (context - prompt tokens of KV; its new prompt is
    prefilled anyway): each turn moves it out and, at the next turn, back in.
    """

    parked_bytes: int                   # idle requests x history KV
    io_bytes_per_user_token: Fraction   # each way: c x history KV / O (out and in each carry this)
    node_io_bytes_per_s: Fraction       # each node's path to the backing tier
    backing: tuple[str, ...]


def moe_weight_bytes(model, weight_bytes_per_param: Fraction, tokens: Fraction) -> int:
    """Weight bytes a micro-batch of ``tokens`` tokens reads: the shared part plus the distinct experts it touches.

    Expected distinct experts per MoE layer with E experts, k per token, m tokens routed
    independently and uniformly: E (1 - (1 - k/E)^m).  A dense model reads all its weights.
    """
    if model.moe is None:
        return math.ceil(exact(model.active_parameters) * weight_bytes_per_param)
    moe = model.moe
    miss = (1.0 - moe.active_experts / moe.experts) ** float(tokens)   # share of expert weights not read
    # the one floating-point step, quantised to 1e-12 so that last-bit libm differences cannot move a byte
    touched = 1 - Fraction(round(miss * 10**12), 10**12)
    params = exact(model.parameters) - exact(moe.expert_parameters) + exact(moe.expert_parameters) * touched
    return math.ceil(params * weight_bytes_per_param)


def prefill_flops(model, tokens: int) -> int:
    """FLOPs of prefilling ``tokens`` tokens: 2 x active parameters per token plus causal attention,
    QK^T and AV each 2 L^2 d / 2 per layer (d = attention heads x head dim)."""
    d = model.attention_heads * model.head_dim
    return 2 * math.ceil(exact(model.active_parameters)) * tokens + 2 * model.layers * tokens * tokens * d


def requirements(problem: "Problem") -> Requirements:
    m, w = problem.model, problem.workload
    wb, kb, ab = dtype_bytes(w.weight_dtype), dtype_bytes(w.kv_dtype), dtype_bytes(w.activation_dtype)
    c = w.concurrency
    weights = math.ceil(exact(m.parameters) * wb)
    kv_tok = math.ceil(m.layers * m.kv_elements_per_layer * kb)
    kv_req = kv_tok * w.context_length
    kv_total = kv_req * c
    overhead = exact(problem.constraints.capacity_overhead_fraction)
    sp = w.speculative
    gamma = sp.draft_tokens if sp else 0
    accepted = exact(sp.accepted_tokens_per_step) if sp else Fraction(1)
    p_draft = math.ceil(exact(sp.draft_parameters)) if sp else 0
    draft_bytes = math.ceil(p_draft * wb)
    step = gamma + 1
    w1 = moe_weight_bytes(m, wb, Fraction(step)) + gamma * draft_bytes
    extra: tuple[int, ...] = ()
    if m.moe is not None:  # X(p) is only ever read at p = min(PP, c) <= max_nodes
        base = moe_weight_bytes(m, wb, Fraction(step))
        top = min(c, problem.constraints.max_nodes)
        extra = tuple(p * (moe_weight_bytes(m, wb, Fraction(step * c, p)) - base) for p in range(1, top + 1))
    active = math.ceil(exact(m.active_parameters))
    eff = exact(w.prefill_compute_efficiency)
    lp = w.prompt_tokens
    pf = prefill_flops(m, lp) if lp else 0
    amort = Fraction(c * pf, w.output_tokens_per_request) / eff if lp and w.prefill_here else Fraction(0)
    swap = None
    history = w.context_length - lp        # what a returning request brings back: all but its new prompt
    if w.kv_swap is not None:
        if w.kv_swap.mode == "recompute":  # a turn re-prefills the history instead of swapping it in
            more = prefill_flops(m, w.context_length) - pf
            amort += Fraction(c * more, w.output_tokens_per_request) / eff
        else:
            swap = SwapNeed(parked_bytes=w.kv_swap.idle_requests * kv_tok * history,
                            io_bytes_per_user_token=Fraction(c * kv_tok * history, w.output_tokens_per_request),
                            node_io_bytes_per_s=gb_per_s_to_bytes_per_s(w.kv_swap.node_io_gb_per_s),
                            backing=w.kv_swap.backing)
    recompute = w.kv_swap is not None and w.kv_swap.mode == "recompute"
    first = w.context_length if recompute and lp else lp
    ttft = problem.constraints.max_ttft_ms
    return Requirements(
        weights_bytes=weights, active_weight_bytes=moe_weight_bytes(m, wb, Fraction(1)), kv_bytes_per_token=kv_tok,
        kv_bytes_per_request=kv_req, kv_bytes_total=kv_total,
        capacity_required_bytes=math.ceil((weights + draft_bytes + kv_total) * (1 + overhead)),
        activation_bytes_per_token=math.ceil(m.hidden_size * ab),
        concurrency=c, layers=m.layers, active_parameters=active,
        min_tokens_per_s=exact(w.min_decode_tokens_per_s_per_user),
        kv_read_bytes_per_request=math.ceil(exact(w.kv_read_fraction) * kv_req),
        step_tokens=step, accepted_per_step=accepted, step_weight_bytes=w1, moe_extra_bytes=extra,
        step_flops_per_m=2 * active * step + 2 * p_draft * gamma,
        prompt_tokens=first if w.prefill_here else 0,
        prefill_flops=prefill_flops(m, first) if first and w.prefill_here else 0,
        prefill_weight_bytes=moe_weight_bytes(m, wb, Fraction(first)) if first and w.prefill_here else 0,
        prefill_efficiency=eff, amortised_flops_per_token=amort,
        max_ttft_s=exact(ttft) / 1000 if ttft is not None else None,
        output_tokens=w.output_tokens_per_request, swap=swap,
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


@dataclass(frozen=True)
class BackingConfig:
    """A KV backing tier: ``units`` of one medium, the fewest that hold the parked KV and carry its I/O.

    The units sit in the nodes' hosts, at most the medium's max_units_per_node per node, so a
    design needs at least ``min_nodes`` nodes to carry them.
    """

    index: int
    memory: Memory
    units: int
    cost_usd: int
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
                         cost_usd=usd(each * units * basis_factor(mem.cost_basis, problem.cost)),
                         power_w=exact(mem.power_w) * units, min_nodes=-(-units // mem.max_units_per_node))


def _backing_limits(problem: "Problem", b: BackingConfig) -> list[str]:
    """The limits a backing configuration breaks on its own: nodes to carry it, or its cost."""
    c = problem.constraints
    out = [f"{b.min_nodes:,} nodes > max_nodes {c.max_nodes:,}"] if b.min_nodes > c.max_nodes else []
    if c.budget_usd is not None and b.cost_usd > exact(c.budget_usd):
        out.append(f"${b.cost_usd:,} > budget ${float(c.budget_usd):,.0f}")
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
                     f"for ${b.cost_usd:,}" + (f" ({'; '.join(over)})" if over else ""))
    return "; ".join(parts)


def io_min_nodes(req: "Requirements") -> int:
    """Nodes whose backing-tier paths (full duplex: out and in each use one direction) carry the swap I/O."""
    if req.swap is None:
        return 1
    return max(1, math.ceil(req.min_tokens_per_s * req.swap.io_bytes_per_user_token / req.swap.node_io_bytes_per_s))


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

    PP * t_comm = ar * PP + ar_tok * M + hop * (PP^2 - PP) + hop_tok * (PP*M - M)
                  + pf_ar + pf_hop * (PP - 1),                     M = max(PP, c).

    The last two terms are the prefill's link traffic amortised per decode step (zero without prefill).
    """

    ar: int       # latency part of the 2 * layers all-reduces
    ar_tok: int   # bandwidth part of the 2 * layers all-reduces, per token in the micro-batch
    hop: int      # latency of one pipeline hop
    hop_tok: int  # bandwidth part of one pipeline hop, per token in the micro-batch
    pf_ar: int = 0   # amortised prefill: a c L / O x ar_tok (rounded up)
    pf_hop: int = 0  # amortised prefill: a c L / O x hop_tok (rounded up)

    def pp_comm_ps(self, pp, m):
        """PP times the communication time per token per user, in picoseconds (exact for int or numpy input)."""
        return (self.ar * pp + self.ar_tok * m + self.hop * (pp * pp - pp) + self.hop_tok * (pp * m - m)
                + self.pf_ar + self.pf_hop * (pp - 1))

    def scaled(self, tokens: int) -> "CommCoefficients":
        """The same links carrying ``tokens`` tokens per request slot (a speculative step verifies gamma + 1)."""
        return CommCoefficients(self.ar, self.ar_tok * tokens, self.hop, self.hop_tok * tokens, self.pf_ar,
                                self.pf_hop)

    def prompt_ps(self, pp: int, tokens: int) -> int:
        """One prompt of ``tokens`` tokens through the pipeline as one micro-batch: all-reduces, then PP - 1 hops."""
        return self.ar + self.ar_tok * tokens + (pp - 1) * (self.hop + self.hop_tok * tokens)


def comm_coefficients(cfg: NetworkConfig, tau: int, req: Requirements, expert_parallel: bool = False,
                      moe=None) -> CommCoefficients:
    """Per-token coefficients.  Tensor parallel: 2 all-reduces per layer (attention, MLP).  With expert
    parallel on a MoE model, each MoE layer's MLP all-reduce becomes two all-to-alls (dispatch and combine):
    each of the tau nodes sends k_e copies of its 1/tau share of the tokens (k_e experts per token)."""
    if cfg.tier is None:
        return CommCoefficients(0, 0, 0, 0)
    s_tok = req.activation_bytes_per_token
    ar = topo.allreduce(cfg.topology, cfg.tier, cfg.level, tau, cfg.link_bytes_per_s)
    n_ar = 2 * req.layers
    a2a_lat, a2a_tok = Fraction(0), Fraction(0)
    if expert_parallel and moe is not None and tau > 1:
        n_ar -= moe.layers
        a2a = topo.alltoall(cfg.topology, cfg.tier, cfg.level, tau, cfg.link_bytes_per_s)
        a2a_lat = 2 * moe.layers * a2a.steps * a2a.hops * cfg.latency_s
        # TP leaves every token's activations on all tau nodes; each node dispatches its 1/tau of the tokens
        a2a_tok = 2 * moe.layers * a2a.volume * Fraction(moe.active_experts * s_tok, tau) / a2a.bandwidth_bytes_per_s
    hops, p2p_bw = topo.point_to_point(cfg.topology, cfg.tier, cfg.level, cfg.link_bytes_per_s)
    return CommCoefficients(
        ar=s_to_ps_ceil(n_ar * ar.steps * ar.hops * cfg.latency_s + a2a_lat),
        ar_tok=s_to_ps_ceil(n_ar * ar.volume * s_tok / ar.bandwidth_bytes_per_s + a2a_tok),
        hop=s_to_ps_ceil(hops * cfg.latency_s),
        # each of the tau nodes of a stage sends its 1/tau shard of the activations in parallel
        hop_tok=s_to_ps_ceil(Fraction(s_tok, tau) / p2p_bw),
    )


def decode_comm(cfg: NetworkConfig, tau: int, req: Requirements, problem: "Problem") -> CommCoefficients:
    """The coefficients of one decode step (gamma + 1 tokens per request slot), with the prefill's link
    traffic amortised over the step: a step yields a tokens for each of c requests, and every O tokens a
    request brings a prompt of L tokens whose all-reduces and hops are bandwidth-bound (L tokens at once)."""
    base = comm_coefficients(cfg, tau, req, problem.constraints.expert_parallel, problem.model.moe)
    step = base.scaled(req.step_tokens)
    if not req.prompt_tokens:
        return step
    share = req.accepted_per_step * req.concurrency * req.prompt_tokens / req.output_tokens
    return dataclasses.replace(step, pf_ar=math.ceil(share * base.ar_tok), pf_hop=math.ceil(share * base.hop_tok))


def base_comm(cfg: NetworkConfig, tau: int, req: Requirements, problem: "Problem") -> CommCoefficients:
    """Per-token coefficients (a prompt's tokens)."""
    return comm_coefficients(cfg, tau, req, problem.constraints.expert_parallel, problem.model.moe)


# -- prefill: time to first token ---------------------------------------------------------------
def ttft_compute_s(req: Requirements, mc: MemoryConfig, tau: int) -> Fraction:
    """A prompt's FLOPs on one stage's tau nodes at the prefill efficiency (stages work in turn)."""
    return Fraction(req.prefill_flops) / (tau * mc.compute_flops * req.prefill_efficiency)


def ttft_memory_s(req: Requirements, mc: MemoryConfig, tau: int) -> Fraction:
    """Each stage reads its weights once: PP x (W_prefill / PP) / (tau x b_node)."""
    return Fraction(req.prefill_weight_bytes, tau * mc.bandwidth_bytes_per_s)


def ttft_pair_ok(req: Requirements, mc: MemoryConfig, tau: int) -> bool:
    """The compute and memory parts of the TTFT limit, which depend on the node and TP degree only."""
    t = req.max_ttft_s
    return t is None or (ttft_compute_s(req, mc, tau) <= t and ttft_memory_s(req, mc, tau) <= t)


def prompt_comm_mask(cc: CommCoefficients, tokens: int, pp, factor: Fraction, const_ps: int, per_stage_ps: int):
    """factor x (one prompt's communication, ``prompt_ps``) <= const_ps + per_stage_ps x PP, over an array of PP
    values, exact (int64 where that holds, else Python integers)."""
    import numpy as np
    from .scaling import exact_arrays
    top_pp = int(pp.max())
    top = max(factor.numerator * cc.prompt_ps(top_pp, tokens), factor.denominator * (const_ps + per_stage_ps * top_pp))
    (pp_x,) = exact_arrays(top, pp)
    return np.asarray(factor.numerator * cc.prompt_ps(pp_x, tokens)
                      <= factor.denominator * (const_ps + per_stage_ps * pp_x), dtype=bool)


def ttft_comm_mask(req: Requirements, cc: CommCoefficients, pp):
    """The communication part of the TTFT limit over an array of PP values (cc: per-token coefficients)."""
    import numpy as np
    if req.max_ttft_s is None:
        return np.ones(pp.shape, dtype=bool)
    return prompt_comm_mask(cc, req.prompt_tokens, pp, Fraction(1), math.floor(req.max_ttft_s * PS_PER_S), 0)


def micro_batch_m(pp, c: int):
    """M = PP * (requests per micro-batch) = max(PP, c): c requests in min(c, PP) micro-batches."""
    try:
        return pp.clip(min=c)  # numpy
    except AttributeError:
        return max(pp, c)


def moe_extra(req: Requirements, pp):
    """X(min(PP, c)): the MoE weight bytes a step reads beyond PP x W1 (0 for dense models; int or numpy)."""
    if isinstance(pp, int):
        return req.moe_extra_bytes[min(pp, req.concurrency) - 1] if req.moe_extra_bytes else 0
    import numpy as np
    if not req.moe_extra_bytes:
        return np.zeros(pp.shape, dtype=pp.dtype)
    table = np.array((0,) + req.moe_extra_bytes, dtype=object)
    out = table[np.minimum(pp.astype(np.int64), req.concurrency)]
    return out if pp.dtype == object or max(req.moe_extra_bytes) >= 2**62 else out.astype(np.int64)


def step_bytes(req: Requirements, pp, m=None):
    """Bytes one decode step reads along the pipeline: PP x W1 + M x KV_read + X(min(PP, c)).

    Per stage and micro-batch of c/k requests the stage reads its 1/PP of the weights and of
    the micro-batch's KV at 1/PP of the bandwidth; PP stages in turn give PP x W1 + M x KV.
    """
    m = micro_batch_m(pp, req.concurrency) if m is None else m
    return req.step_weight_bytes * pp + req.kv_read_bytes_per_request * m + moe_extra(req, pp)


def step_rate(req: Requirements) -> Fraction:
    """Steps per second per user the speed target needs: r / a (a = tokens a step yields)."""
    return req.min_tokens_per_s / req.accepted_per_step


def speed_ok(req: Requirements, pp, m, bandwidth_bytes_per_s) -> bool:
    """Memory-bound speed target: (r / a) x step bytes <= B, in exact integers."""
    r = step_rate(req)
    return r.numerator * step_bytes(req, pp, m) <= r.denominator * bandwidth_bytes_per_s


def speed_coefficients(req: Requirements, bw_unit: Fraction) -> tuple[int, int, int, int]:
    """(cw, ck, cx, cb) with  memory speed ok  <=>  cw PP + ck M + cx X <= cb B_units,  B_units = B / bw_unit.

    The integers of ``speed_ok`` divided by their common factor, so that the CP-SAT model and the
    oracle compare identical, smaller numbers.
    """
    r = step_rate(req)
    vals = [Fraction(r.numerator * req.step_weight_bytes), Fraction(r.numerator * req.kv_read_bytes_per_request),
            Fraction(r.numerator if req.moe_extra_bytes else 0), r.denominator * bw_unit]
    return _integers(vals)


def _integers(vals: list[Fraction]) -> tuple[int, ...]:
    """Fractions scaled by one factor to the smallest integers in the same proportion."""
    den = math.lcm(*(v.denominator for v in vals))
    ints = [int(v * den) for v in vals]
    g = math.gcd(*ints) or 1
    return tuple(i // g for i in ints)


def compute_per_token_flops(req: Requirements, m) -> Fraction:
    """FLOPs per user token at peak: a step's 2 P (gamma+1) + 2 P_draft gamma per request slot times M,
    over the a tokens it yields, plus the amortised prefill (and KV recompute) at its efficiency."""
    return Fraction(req.step_flops_per_m * m) / req.accepted_per_step + req.amortised_flops_per_token


def compute_ok(req: Requirements, m, flops_per_s) -> bool:
    """Compute-bound speed target: r x FLOPs per user token <= N x node FLOP/s, exact."""
    return req.min_tokens_per_s * compute_per_token_flops(req, m) <= flops_per_s


def compute_coefficients(req: Requirements, flops_unit: Fraction) -> tuple[int, int, int]:
    """(cm, c0, cf) with  compute ok  <=>  cm M + c0 <= cf F_units,  F_units = N x node FLOP/s / flops_unit."""
    r = req.min_tokens_per_s
    return _integers([r * req.step_flops_per_m / req.accepted_per_step, r * req.amortised_flops_per_token,
                      flops_unit])


def comm_speed_ok(req: Requirements, pp_comm_ps, pp) -> bool:
    """Communication speed target: (r / a) x PP x t_step_comm <= PP (seconds), at picosecond resolution."""
    r = step_rate(req)
    return r.numerator * pp_comm_ps <= r.denominator * PS_PER_S * pp


def comm_speed_mask(req: Requirements, cc: "CommCoefficients", pp):
    """``comm_speed_ok`` over a numpy array of PP values (cc: the decode step's coefficients), exact."""
    import numpy as np
    from .scaling import exact_arrays
    m = micro_batch_m(pp, req.concurrency)
    r = step_rate(req)
    top = max(r.numerator * cc.pp_comm_ps(int(pp.max()), int(m.max())), r.denominator * PS_PER_S * int(pp.max()))
    pp, m = exact_arrays(top, pp, m)
    return np.asarray(comm_speed_ok(req, cc.pp_comm_ps(pp, m), pp), dtype=bool)


def comm_rule_matrix(cc: "CommCoefficients", req: Requirements, node_bws: list[int], tau: int, ratio: Fraction, pp):
    """The communication-time rule  PP t_comm <= ratio PP t_mem  for several per-node bandwidths, exact.

    ratio x PP x t_mem = ratio x step bytes / (tau x b_node) picoseconds, taken term by term, each
    floored: floor(ratio W1 / (tau b)) PP + floor(ratio KV / (tau b)) M + floor(ratio X(min(PP, c)) / (tau b)).
    ``node_bws``: one per-node memory bandwidth (bytes/s) for each row; ``pp``: a 1-D array (the same
    PP values for every row, giving rows x PP) or a column (one PP per row).
    """
    import numpy as np
    from .scaling import INT_LIMIT
    m = micro_batch_m(pp, req.concurrency)
    num = ratio.numerator * PS_PER_S

    def fl(x: int, b: int) -> int:  # floor(ratio x PS x x / (tau x b)), in integers
        return (num * x) // (ratio.denominator * tau * b)

    cw = [fl(req.step_weight_bytes, b) for b in node_bws]
    ck = [fl(req.kv_read_bytes_per_request, b) for b in node_bws]
    xt = ([[0] + [fl(x, b) for x in req.moe_extra_bytes] for b in node_bws] if req.moe_extra_bytes
          else [[0] for _ in node_bws])
    top = max(cc.pp_comm_ps(int(pp.max()), int(m.max())),
              max(cw) * int(pp.max()) + max(ck) * int(m.max()) + max(max(r) for r in xt))
    kind = np.int64 if top < INT_LIMIT else object
    cw_c = np.array(cw, dtype=kind)[:, None]
    ck_c = np.array(ck, dtype=kind)[:, None]
    pp_k, m_k = pp.astype(kind), m.astype(kind)
    rhs = cw_c * pp_k + ck_c * m_k
    if req.moe_extra_bytes:
        table = np.array(xt, dtype=kind)
        rhs = rhs + table[np.arange(len(node_bws))[:, None], np.minimum(pp, req.concurrency).astype(np.int64)]
    return np.asarray(cc.pp_comm_ps(pp_k, m_k) <= rhs, dtype=bool)


# -- one design, evaluated --------------------------------------------------------------------
@dataclass(frozen=True)
class Design:
    mem: MemoryConfig
    net: NetworkConfig
    nodes: int
    tensor_parallel: int
    backing: Optional[BackingConfig] = None

    @property
    def pipeline_parallel(self) -> int:
        return self.nodes // self.tensor_parallel

    def key(self) -> tuple[int, int, int, int, int]:
        """Every decision: memory configuration, network configuration, nodes, TP, backing tier."""
        return (self.mem.index, self.net.index, self.nodes, self.tensor_parallel,
                self.backing.index if self.backing else -1)

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
    backing_cost_usd: int
    cost_usd: int
    power_w: Fraction
    bandwidth_per_dollar: Fraction          # bytes/s per USD
    t_mem_s: Fraction                       # per token per user, each part of the roofline
    t_comm_s: Fraction
    t_comp_s: Fraction
    t_io_s: Fraction                        # KV swap I/O (0 without)
    decode_tokens_per_s_per_user: Fraction
    system_tokens_per_s: Fraction
    pipeline_busy_fraction: Fraction
    balance_ratio: Fraction                 # per-node link bandwidth / per-node memory bandwidth
    comm_ratio: Fraction                    # t_comm / t_mem
    compute_flops: Fraction
    link_bandwidth_bytes_per_s: Fraction    # every node's links, both directions summed (0 for one node)
    ttft_s: Optional[Fraction]              # time to first token of one prompt (None without prefill)
    network_counts: dict


def design_comm(design: "Design", req: Requirements, problem) -> CommCoefficients:
    return decode_comm(design.net, design.tensor_parallel, req, problem)


def ttft_s(design: "Design", req: Requirements, problem) -> Optional[Fraction]:
    """max(compute, memory, communication) of one prompt, stage after stage (None without prefill)."""
    if not req.prompt_tokens:
        return None
    mc, tau, pp = design.mem, design.tensor_parallel, design.pipeline_parallel
    comm = Fraction(base_comm(design.net, tau, req, problem).prompt_ps(pp, req.prompt_tokens), PS_PER_S)
    return max(ttft_compute_s(req, mc, tau), ttft_memory_s(req, mc, tau), comm)


def io_bandwidth_bytes_per_s(design: "Design", req: Requirements) -> Fraction:
    """Swap I/O each way the design sustains: half its backing units' bandwidth (they read and write),
    or its nodes' paths to them (full duplex), whichever is less."""
    b = design.backing
    return min(gb_per_s_to_bytes_per_s(b.memory.bandwidth_gb_per_s) * b.units / 2,
               design.nodes * req.swap.node_io_bytes_per_s)


def evaluate(design: Design, req: Requirements, problem) -> Metrics:
    mc, nc, n, tau = design.mem, design.net, design.nodes, design.tensor_parallel
    pp = n // tau
    cap = n * mc.capacity_bytes
    bw = n * mc.bandwidth_bytes_per_s
    node_cost = n * mc.cost_usd
    net_cost = int(network_cost_usd(nc, n))
    back_cost = design.backing.cost_usd if design.backing else 0
    cost = node_cost + net_cost + back_cost
    m = micro_batch_m(pp, req.concurrency)
    a = req.accepted_per_step
    t_mem = Fraction(step_bytes(req, pp, m), bw) / a
    t_comm = Fraction(design_comm(design, req, problem).pp_comm_ps(pp, m), pp * PS_PER_S) / a
    t_comp = compute_per_token_flops(req, m) / (n * mc.compute_flops)
    t_io = (req.swap.io_bytes_per_user_token / io_bandwidth_bytes_per_s(design, req)
            if design.backing else Fraction(0))
    t_user = max(t_mem, t_comm, t_comp, t_io)
    per_user = 1 / t_user
    balance = (nc.node_link_bytes_per_s / mc.bandwidth_bytes_per_s) if nc.tier else Fraction(0)
    power = n * mc.power_w + network_power_w(nc, n) + (design.backing.power_w if design.backing else 0)
    return Metrics(
        capacity_bytes=cap, bandwidth_bytes_per_s=bw, node_cost_usd=node_cost, network_cost_usd=net_cost,
        backing_cost_usd=back_cost, cost_usd=cost, power_w=power,
        bandwidth_per_dollar=Fraction(bw, cost), t_mem_s=t_mem, t_comm_s=t_comm, t_comp_s=t_comp, t_io_s=t_io,
        decode_tokens_per_s_per_user=per_user, system_tokens_per_s=req.concurrency * per_user,
        pipeline_busy_fraction=Fraction(min(req.concurrency, pp), pp), balance_ratio=balance,
        comm_ratio=t_comm / t_mem, compute_flops=Fraction(n * mc.compute_flops),
        link_bandwidth_bytes_per_s=2 * n * nc.node_link_bytes_per_s if nc.tier else Fraction(0),
        ttft_s=ttft_s(design, req, problem), network_counts=network_counts(nc, n),
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
    met = evaluate(design, req, problem)
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
        target = f"target {float(1 / r) * 1e3:.3g} ms"
        ok = speed_ok(req, pp, m, met.bandwidth_bytes_per_s)
        out.append(Check("speed (memory)", ok, float(1 - met.t_mem_s * r),
                         f"t_mem {float(met.t_mem_s) * 1e3:.3g} ms per token, {target}"))
        cc = design_comm(design, req, problem)
        ok = comm_speed_ok(req, cc.pp_comm_ps(pp, m), pp)
        out.append(Check("speed (communication)", ok, float(1 - met.t_comm_s * r),
                         f"t_comm {float(met.t_comm_s) * 1e3:.3g} ms per token, {target}"))
        ok = compute_ok(req, m, n * mc.compute_flops)
        out.append(Check("speed (compute)", ok, float(1 - met.t_comp_s * r),
                         f"t_comp {float(met.t_comp_s) * 1e3:.3g} ms per token, {target}"))
    if req.swap is not None:
        b = design.backing
        if b is None:
            out.append(Check("KV backing tier", False, -1.0, "KV swapping needs a backing tier; the design has none"))
        else:
            cap_b = gb_to_bytes(b.memory.capacity_gb) * b.units
            out.append(Check("KV backing capacity", cap_b >= req.swap.parked_bytes,
                             float(Fraction(math.floor(cap_b) - req.swap.parked_bytes, max(1, req.swap.parked_bytes))),
                             f"{b.label} holds {format_bytes(math.floor(cap_b))}, parked KV "
                             f"{format_bytes(req.swap.parked_bytes)}"))
            out.append(Check("KV backing slots", n >= b.min_nodes, float(Fraction(n - b.min_nodes, n)),
                             f"{b.units} units need {b.min_nodes} nodes at {b.memory.max_units_per_node} per node"))
            need = req.min_tokens_per_s * req.swap.io_bytes_per_user_token
            have = io_bandwidth_bytes_per_s(design, req)
            out.append(Check("KV swap I/O", have >= need, float((have - need) / need) if need else 1.0,
                             f"moves {float(have) / 1e9:,.1f} GB/s, swapping needs {float(need) / 1e9:,.1f} GB/s"))
    if req.max_ttft_s is not None:
        t = req.max_ttft_s
        cc0 = base_comm(nc, tau, req, problem)
        ok = ttft_pair_ok(req, mc, tau) and cc0.prompt_ps(pp, req.prompt_tokens) <= math.floor(t * PS_PER_S)
        out.append(Check("time to first token", ok, float(1 - met.ttft_s / t),
                         f"TTFT {float(met.ttft_s) * 1e3:,.1f} ms, limit {float(t) * 1e3:,.1f} ms"))
    bal = c.balance
    if nc.tier is not None and bal.rule == "ratio":
        for name, active, ratio in (("balance (tensor parallel)", tau > 1, exact(bal.tensor_parallel_ratio)),
                                    ("balance (pipeline parallel)", pp > 1, exact(bal.pipeline_parallel_ratio))):
            if active and ratio > 0:
                ok = links_keep_up(nc, mc, ratio)
                out.append(Check(name, ok, float(met.balance_ratio / ratio - 1),
                                 f"links {float(met.balance_ratio):.3g}x node memory bandwidth, rule {float(ratio):g}x"))
    if nc.tier is not None and bal.rule == "comm_time":
        import numpy as np
        ratio = exact(bal.comm_time_ratio)
        ok = bool(comm_rule_matrix(design_comm(design, req, problem), req, [mc.bandwidth_bytes_per_s], tau, ratio,
                                   np.array([pp], dtype=np.int64))[0, 0])
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
