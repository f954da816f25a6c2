"""Every constraint the search enforces, evaluated for one design: held or broken, and the room left."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Optional

import numpy as np

from ..units import PS_PER_S, exact, gb_to_bytes
from .configs import links_keep_up, spanning, spans_domains, tp_fits
from .decode import compute_ok, micro_batch_m, speed_ok
from .design import Design, design_comm, evaluate, io_bandwidth_bytes_per_s
from .network import base_comm, comm_rule_matrix, comm_speed_ok
from .prefill import ttft_pair_ok
from .requirements import Requirements, capacity_for_tp
from .calibrated import effective_bandwidth, node_terms, speed_matrix, ttft_matrix

if TYPE_CHECKING:  # pragma: no cover
    from ..problem import Problem


@dataclass(frozen=True)
class Check:
    """One constraint of one design: its name, whether it holds, and how much room is left (fraction)."""

    name: str
    ok: bool
    slack: float
    detail: str


def checks(design: Design, req: Requirements, problem: "Problem") -> list[Check]:
    """Every constraint the search enforces, evaluated for one design with the same integers."""
    from ..units import format_bytes, format_usd  # local: formatting only
    c = problem.constraints
    met = evaluate(design, req, problem)
    mc, nc, n, tau = design.mem, design.net, design.nodes, design.tensor_parallel
    pp = n // tau
    m = micro_batch_m(pp, req.concurrency)
    out = []
    need = capacity_for_tp(req, tau)
    out.append(Check("capacity", met.capacity_bytes >= need, float(Fraction(met.capacity_bytes - need, need)),
                     f"holds {format_bytes(met.capacity_bytes)}, needs {format_bytes(need)}"))
    out.append(Check("max_nodes", n <= c.max_nodes, float(Fraction(c.max_nodes - n, c.max_nodes)),
                     f"{n} of {c.max_nodes} nodes"))
    if nc.domain_nodes and not tp_fits(nc, tau, spans_domains(problem)):
        whole = ("" if tau % nc.domain_nodes else
                 " and only expert parallel on a MoE model spans whole domains" if not spans_domains(problem) else
                 f" and a TP group spans whole domains only over a switched fabric, not a {nc.fabric.topology.kind}")
        out.append(Check("TP inside a domain", False, -1.0,
                         f"TP {tau} does not divide the {nc.domain_nodes}-node scale-up domain{whole}"))
    if nc.tier is not None:
        out.append(Check("reach", nc.n_min <= n <= nc.n_max, float(Fraction(nc.n_max - n, nc.n_max)),
                         f"{nc.label} spans {nc.n_min}..{nc.n_max} nodes"))
    if c.budget_usd is not None:
        b = exact(c.budget_usd)
        out.append(Check("budget", met.cost_usd <= b, float((b - met.cost_usd) / b),
                         f"costs {format_usd(met.cost_usd)} of {format_usd(b)} ({problem.cost.basis} cost)"))
    if c.max_power_w is not None:
        p = exact(c.max_power_w)
        out.append(Check("power", met.power_w <= p, float((p - met.power_w) / p),
                         f"draws {float(met.power_w) / 1e3:,.1f} kW of {float(p) / 1e3:,.1f} kW"))
    if req.min_tokens_per_s > 0 and req.calibrated:
        r = req.min_tokens_per_s
        ok = bool(speed_matrix(req, design_comm(design, req, problem), [node_terms(req, mc)], tau,
                               np.array([pp], dtype=np.int64))[0, 0])
        t = max(met.t_mem_s, met.t_comp_s) + met.t_comm_s + met.t_fixed_s
        part = "memory" if met.t_mem_s >= met.t_comp_s else "compute"
        out.append(Check("speed", ok, float(1 - t * r),
                         f"{float(t) * 1e3:.3g} ms per token ({part} {float(max(met.t_mem_s, met.t_comp_s)) * 1e3:.3g}"
                         f" + communication {float(met.t_comm_s) * 1e3:.3g} + fixed {float(met.t_fixed_s) * 1e3:.3g}),"
                         f" target {float(1 / r) * 1e3:.3g} ms"))
    elif req.min_tokens_per_s > 0:
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
        cc0 = base_comm(nc, tau, req, problem, nodes=n)
        if req.calibrated:
            ok = bool(ttft_matrix(req, cc0, [node_terms(req, mc)], tau, np.array([pp], dtype=np.int64))[0, 0])
        else:
            ok = ttft_pair_ok(req, mc, tau) and cc0.prompt_ps(pp, req.prompt_tokens) <= math.floor(t * PS_PER_S)
        out.append(Check("time to first token", ok, float(1 - met.ttft_s / t),
                         f"TTFT {float(met.ttft_s) * 1e3:,.1f} ms, limit {float(t) * 1e3:,.1f} ms"))
    bal = c.balance
    if nc.tier is not None and bal.rule == "ratio":
        for name, active, ratio, pipe in (
                # a TP group spanning domains all-reduces over both levels: both must keep up
                ("balance (tensor parallel)", tau > 1, exact(bal.tensor_parallel_ratio), spanning(nc, tau)),
                ("balance (pipeline parallel)", pp > 1, exact(bal.pipeline_parallel_ratio), True)):
            if active and ratio > 0:
                ok = links_keep_up(nc, mc, ratio, pipe)
                have = (nc.pp_link_bytes_per_s if pipe else nc.node_link_bytes_per_s) / mc.bandwidth_bytes_per_s
                out.append(Check(name, ok, float(have / ratio - 1),
                                 f"links {float(have):.3g}x node memory bandwidth, rule {float(ratio):g}x"))
    if nc.tier is not None and bal.rule == "comm_time":
        ratio = exact(bal.comm_time_ratio)
        ok = bool(comm_rule_matrix(design_comm(design, req, problem), req, [effective_bandwidth(req, mc)], tau, ratio,
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
