"""One design (its decisions) and its figures (Metrics), evaluated with the functions of this package."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

from ..units import PS_PER_S, gb_per_s_to_bytes_per_s
from .configs import BackingConfig, MemoryConfig, NetworkConfig, tp_group_domains
from .costs import network_cost_usd, network_counts, network_power_w
from .decode import compute_per_token_flops, micro_batch_m, step_bytes
from .levels import level_comm_s
from .network import CommCoefficients, base_comm, decode_comm
from .prefill import ttft_compute_s, ttft_memory_s
from .requirements import Requirements
from .calibrated import node_terms, step_times, ttft_ps as calibrated_ttft_ps


# -- one design, evaluated --------------------------------------------------------------------
@dataclass(frozen=True)
class Design:
    mem: MemoryConfig
    net: NetworkConfig
    nodes: int
    tensor_parallel: int
    backing: Optional[BackingConfig] = None

    def __repr__(self) -> str:
        net = f"{self.net.tier.name} {self.wiring.name}" if self.net.tier else "single node"
        back = f", backing={self.backing.label!r}" if self.backing else ""
        return (f"Design({self.mem.label!r}, nodes={self.nodes}, tp={self.tensor_parallel}, "
                f"pp={self.pipeline_parallel}, network={net!r}{back})")

    @property
    def pipeline_parallel(self) -> int:
        return self.nodes // self.tensor_parallel

    def key(self) -> tuple[int, int, int, int, int]:
        """Every decision: memory configuration, network configuration, nodes, TP, backing tier."""
        return (self.mem.index, self.net.index, self.nodes, self.tensor_parallel,
                self.backing.index if self.backing else -1)

    def tie_key(self) -> tuple[int, int, int, int, int]:
        """The order among designs of equal bandwidth per dollar and cost: a TP group over fewer scale-up
        domains, fewer pipeline stages, then catalog order of memory, network and backing configuration.  The
        oracle's sort key and ``solve``'s merge read it; ``solve.lex_cheapest`` states it as integers."""
        return (tp_group_domains(self.net, self.tensor_parallel), self.pipeline_parallel, self.mem.index,
                self.net.index, self.backing.index if self.backing else -1)

    @property
    def wiring(self):
        """The physical network (topologies that coincide at this node count identified)."""
        return self.net.wiring(self.nodes)

    def architecture(self) -> tuple[str, str, str]:
        """What makes designs distinct by default: memory medium, interconnect tier and the topology the
        nodes are really wired as (a ring of 2 nodes and a 2-node mesh are one pair, one machine); a
        two-level network names both levels' tiers and machines."""
        return (self.mem.memory.name,) + self.net.arch(self.nodes)

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
    node_cost_usd: Fraction                 # exact costs in the problem's basis (physics.costs)
    network_cost_usd: Fraction
    backing_cost_usd: Fraction
    cost_usd: Fraction
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
    link_bandwidth_bytes_per_s: Fraction    # every node's (scale-up) links, both directions summed (0 for one node)
    ttft_s: Optional[Fraction]              # time to first token of one prompt (None without prefill)
    network_counts: dict
    # the speed model (docs/calibration.md): under ``calibrated`` the times above are the calibrated parts,
    # time per token = max(t_mem, t_comp) + t_comm + t_fixed (and t_io), and the roofline stays beside
    # them as the upper bound it is; under ``roofline`` the bound is the figure itself
    speed_model: str = "roofline"
    t_fixed_s: Fraction = Fraction(0)       # layers x the node's per-layer overhead, per token per user
    decode_tokens_per_s_per_user_bound: Optional[Fraction] = None
    ttft_bound_s: Optional[Fraction] = None
    level_comm: Optional[dict] = None       # two-level: t_comm on the domain and on the fabric, and their hops


def design_comm(design: "Design", req: Requirements, problem) -> CommCoefficients:
    return decode_comm(design.net, design.tensor_parallel, req, problem, nodes=design.nodes)


def ttft_s(design: "Design", req: Requirements, problem) -> Optional[Fraction]:
    """Time to first token of one prompt, stage after stage (None without prefill): under the roofline
    max(compute, memory, communication); calibrated, max(compute, memory) + communication + layers x t_layer."""
    if not req.prompt_tokens:
        return None
    mc, tau, pp = design.mem, design.tensor_parallel, design.pipeline_parallel
    cc = base_comm(design.net, tau, req, problem, nodes=design.nodes)
    if req.calibrated:
        import numpy as np
        ps = calibrated_ttft_ps(req, cc, [node_terms(req, mc)], tau, np.array([pp], dtype=np.int64))
        return Fraction(int(ps[0, 0]), PS_PER_S)
    comm = Fraction(cc.prompt_ps(pp, req.prompt_tokens), PS_PER_S)
    return max(ttft_compute_s(req, mc, tau), ttft_memory_s(req, mc, tau), comm)


def roofline(req: Requirements) -> Requirements:
    """The same requirements under the roofline speed model (prefill at peak when calibrated): the bound."""
    return dataclasses.replace(req, speed_model="roofline") if req.calibrated else req


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
    net_cost = network_cost_usd(nc, n)
    back_cost = design.backing.cost_usd if design.backing else Fraction(0)
    cost = node_cost + net_cost + back_cost
    m = micro_batch_m(pp, req.concurrency)
    a = req.accepted_per_step
    roof = roofline(req)
    t_mem = Fraction(step_bytes(req, pp, m), bw) / a
    cc = design_comm(design, req, problem)   # the speed model's own coefficients (per level when two-level)
    t_comm = Fraction(design_comm(design, roof, problem).pp_comm_ps(pp, m), pp * PS_PER_S) / a
    t_comp = compute_per_token_flops(req, m) / (n * mc.compute_flops)
    t_io = (req.swap.io_bytes_per_user_token / io_bandwidth_bytes_per_s(design, req)
            if design.backing else Fraction(0))
    per_user = bound = 1 / max(t_mem, t_comm, t_comp, t_io)
    t_fix = Fraction(0)
    if req.calibrated:
        import numpy as np
        parts = step_times(req, cc, [node_terms(req, mc)], tau,
                           np.array([pp], dtype=np.int64))
        t_mem, t_comp, t_comm, t_fix = (Fraction(int(x[0, 0]), pp * PS_PER_S) / a for x in parts)
        per_user = 1 / max(max(t_mem, t_comp) + t_comm + t_fix, t_io)
    balance = (nc.node_link_bytes_per_s / mc.bandwidth_bytes_per_s) if nc.tier else Fraction(0)
    power = n * mc.power_w + network_power_w(nc, n) + (design.backing.power_w if design.backing else 0)
    return Metrics(
        capacity_bytes=cap, bandwidth_bytes_per_s=bw, node_cost_usd=node_cost, network_cost_usd=net_cost,
        backing_cost_usd=back_cost, cost_usd=cost, power_w=power,
        bandwidth_per_dollar=bw / cost, t_mem_s=t_mem, t_comm_s=t_comm, t_comp_s=t_comp, t_io_s=t_io,
        decode_tokens_per_s_per_user=per_user, system_tokens_per_s=req.concurrency * per_user,
        pipeline_busy_fraction=Fraction(min(req.concurrency, pp), pp), balance_ratio=balance,
        comm_ratio=t_comm / t_mem, compute_flops=Fraction(n * mc.compute_flops),
        link_bandwidth_bytes_per_s=2 * n * nc.node_link_bytes_per_s if nc.tier else Fraction(0),
        ttft_s=ttft_s(design, req, problem), network_counts=network_counts(nc, n),
        speed_model=req.speed_model, t_fixed_s=t_fix, decode_tokens_per_s_per_user_bound=bound,
        ttft_bound_s=ttft_s(design, roof, problem),
        level_comm=level_comm_s(nc, cc, pp, m, a) if nc.domain_nodes else None,
    )
