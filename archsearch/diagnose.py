"""Why a problem is infeasible: which requirement cannot be met, and by how much.

Each constraint group of the CP-SAT model is dropped in turn; the groups whose removal makes the
problem feasible are the culprits, and each is explained with the figure that falls short (the
largest capacity within max_nodes, the cheapest design's cost, the fastest speed, ...).
"""

from __future__ import annotations

from fractions import Fraction

from . import physics
from .lazy_pandas import cp_model   # OR-Tools loads at first use (lazy_pandas)
from .model import DesignModel
from .space import GROUPS, Space
from .units import PS_PER_S, format_bytes, format_usd


def explain_infeasible(space: Space, run) -> str:
    """Which requirement cannot be met, and by how much (``run``: a ``solve._Solver``)."""
    p, req = space.problem, space.req
    c = p.constraints
    culprits = []
    for g in GROUPS:
        dm = DesignModel(space, tuple(x for x in GROUPS if x != g))
        dm.model.maximize(dm.B)
        status, _ = run.run(dm.model)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            culprits.append(g)
    need = req.capacity_required_bytes
    def most_nodes(m) -> int:
        return min(space.max_nodes, max(n.n_max for n in space.nets if physics.compatible(m, n)))

    largest = max(((m.capacity_bytes * most_nodes(m), m) for m in space.mems), key=lambda x: x[0])
    parts = []
    held, m = largest
    others = [g for g in culprits if g != "capacity"]
    if held < need:
        parts.append(f"capacity: needs {format_bytes(need)} (weights {format_bytes(req.weights_bytes)} + KV "
                     f"{format_bytes(req.kv_bytes_total)} + overhead); the largest design within max_nodes "
                     f"{space.max_nodes} holds {format_bytes(held)} ({m.label})")
    elif not others:
        parts.append(f"capacity: needs {format_bytes(need)}; designs that hold it break the other requirements "
                     "together")
    if "budget" in culprits:
        dm = DesignModel(space, tuple(x for x in GROUPS if x != "budget"))
        dm.model.minimize(dm.C)
        status, s = run.run(dm.model)
        cheapest = f"{format_usd(s.value(dm.C) * dm.cost_unit)}" if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else "unknown"
        parts.append(f"budget: the cheapest design meeting the other requirements costs {cheapest}; "
                     f"budget_usd is {format_usd(c.budget_usd)} ({space.problem.cost.basis} cost)")
    if "speed" in culprits:
        dm = DesignModel(space, tuple(x for x in GROUPS if x != "speed"))
        dm.model.add(dm.PP == 1)
        dm.model.maximize(dm.B)
        status, s = run.run(dm.model)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            b = s.value(dm.B) * dm.bw_unit
            best = float(b * req.accepted_per_step / physics.step_bytes(req, 1))
            if req.calibrated:  # the calibrated speed of that design (its roofline is the bound above)
                best = float(physics.evaluate(dm.design_from(s), req, p).decode_tokens_per_s_per_user)
            parts.append(f"speed: needs {float(req.min_tokens_per_s):g} tokens/s per user; without pipelining, the "
                         f"most memory bandwidth meeting the other requirements ({float(b) / 1e12:,.1f} TB/s) gives "
                         f"{best:,.1f}")
        else:
            parts.append(f"speed: needs {float(req.min_tokens_per_s):g} tokens/s per user, out of reach together "
                         "with the other requirements")
    if "power" in culprits:
        parts.append(f"power: no design meeting the other requirements draws under {c.max_power_w:,.0f} W")
    if "swap" in culprits:
        io = float(req.min_tokens_per_s * req.swap.io_bytes_per_user_token) / 1e9
        n_io = physics.io_min_nodes(req)
        parts.append(f"KV swapping: {format_bytes(req.swap.parked_bytes)} parked and {io:,.1f} GB/s each way at the "
                     f"target need at least {n_io:,} node{'s' if n_io != 1 else ''} for the host paths "
                     f"({float(req.swap.node_io_bytes_per_s) / 1e9:g} GB/s each, max_nodes {space.max_nodes:,}); "
                     f"{physics.backing_shortfall(p, req)}")
    if "ttft" in culprits:
        if req.calibrated:  # compute or weight reads, plus the per-layer time: no communication counted
            import numpy as np
            none = physics.CommCoefficients(0, 0, 0, 0)
            fastest = min((Fraction(int(physics.ttft_ps(req, none, [physics.node_terms(req, m)], t,
                                                        np.array([1]))[0, 0]), PS_PER_S)
                           for m in space.mems for t in space.tps), default=None)
        else:
            fastest = min((max(physics.ttft_compute_s(req, m, t), physics.ttft_memory_s(req, m, t))
                           for m in space.mems for t in space.tps), default=None)
        what = (f"a {req.prompt_tokens:,}-token prompt" if req.prompt_tokens == p.workload.prompt_tokens else
                f"{req.prompt_tokens:,} tokens before the first token ({p.workload.prompt_tokens:,} of prompt, the "
                "rest recomputed history)")
        parts.append(f"time to first token: needs {c.max_ttft_ms:g} ms for {what}; "
                     f"compute and weight reads alone take {float(fastest) * 1e3:.3g} ms at best (fastest node, widest "
                     "tensor parallel), and no design's prompt communication fits with the other requirements"
                     if fastest is not None else "time to first token: out of reach")
    if "balance" in culprits:
        parts.append(f"balance: no interconnect meets the '{c.balance.rule}' rule for a design that needs more "
                     "than one node")
    if not parts:
        parts = ["several requirements conflict together (dropping any one alone does not help)"]
    return "infeasible: " + "; ".join(parts)
