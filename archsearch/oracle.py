"""The exhaustive oracle: every design of a ``Space``, enumerated with numpy over the same physics.

It exists to check the CP-SAT model (tests compare their top-K exactly) and to
measure what exhaustive search costs (the benchmark).  It evaluates, for every
network configuration j and tensor-parallel degree t, all memory
configurations k (rows) against all pipeline depths PP (columns) at once, with
the integer coefficients that ``physics`` gives the model, and keeps the best
candidates; near-ties in floating point are settled with exact fractions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

import numpy as np

from . import physics
from .model import Space
from .physics import Design
from .scaling import INT_LIMIT, check_bound, check_linear, cost_hint, scale_column
from .units import exact

REL_TIE = 1e-12


@dataclass(frozen=True)
class Candidate:
    """A feasible design with its exact ranking key."""

    design: Design
    bandwidth_units: int
    cost_units: int             # the exact cost in the space's integer cost units (Space.cost_unit dollars each)

    def sort_key(self):
        return self._sort_key

    @functools.cached_property
    def _sort_key(self):  # computed once: sorting and the top-K merge compare candidates many times
        d = self.design
        return (-Fraction(self.bandwidth_units, self.cost_units), self.cost_units, d.pipeline_parallel,
                d.mem.index, d.net.index, d.backing.index if d.backing else -1)


def _chunks(space: Space, n_of_k: Optional[np.ndarray] = None):
    """Yield (j, tau, K x P arrays...) of feasible designs, evaluated exactly in int64."""
    p, req = space.problem, space.req
    c = p.constraints
    mems, nets, tps, nmax = space.mems, space.nets, space.tps, space.max_nodes
    conc = req.concurrency
    bwc = space.bw_column
    bw_units = np.array(bwc.ints, dtype=np.int64)
    cap = np.array([m.capacity_bytes for m in mems], dtype=np.int64)
    cost_ints = [space.cost_units(m.cost_usd) for m in mems]   # exact costs in whole units (Space.cost_unit)
    back_max = max((space.cost_units(b.cost_usd) for b in space.backs), default=0)
    net_max = max(int(space.physics_cache.network_cost_units(n)[-1]) for n in nets)
    check_bound("oracle cost", max(cost_ints) * nmax + back_max + net_max, cost_hint(space.cost_unit))
    cost = np.array(cost_ints, dtype=np.int64)
    check_bound("oracle capacity", int(cap.max()) * nmax)
    check_bound("oracle bandwidth", int(bw_units.max()) * nmax)
    budget = space.budget_units()
    budget = min(budget, INT_LIMIT) if budget is not None else None   # every cost is below INT_LIMIT (above)
    r = req.min_tokens_per_s
    cw, ck, cx, cb = physics.speed_coefficients(req, bwc.unit) if r > 0 else (0, 0, 0, 0)
    fcol = space.flops_column
    flops_units = np.array(fcol.ints, dtype=np.int64)
    cm, c0, cf = physics.compute_coefficients(req, fcol.unit) if r > 0 else (0, 0, 0)
    check_linear("oracle compute speed", [(cm, max(nmax, req.concurrency)), (c0, 1),
                                          (cf * int(flops_units.max()), nmax)])
    xmax = max((0,) + req.moe_extra_bytes)
    check_linear("oracle memory speed", [(cw, nmax), (ck, max(nmax, req.concurrency)), (cx, xmax),
                                         (cb, int(bw_units.max()) * nmax)])
    io_nodes = physics.io_min_nodes(req) if r > 0 else 1
    backs = list(space.backs) or [None]
    if req.swap is not None and not space.backs:
        return  # KV swapping, but no backing medium fits within max_nodes and the budget
    # power, on one integer scale with the network terms and the backing tiers
    pcol = None
    if c.max_power_w is not None:
        vals = ([m.power_w for m in mems] + [t.w for n in nets for t in n.terms] + [b.power_w for b in space.backs]
                + [exact(c.max_power_w)])
        pcol = scale_column(vals)
        pw_mem = np.array(pcol.ints[:len(mems)], dtype=np.int64)
        pw_terms, i = {}, len(mems)
        for n in nets:
            pw_terms[n.index] = pcol.ints[i:i + len(n.terms)]
            i += len(n.terms)
        pw_back = pcol.ints[i:i + len(space.backs)]
        p_max = pcol.ints[-1]
        check_linear("oracle power", [(w, nmax) for w in pw_mem.tolist()] +
                     [(w, int(t.count(nmax, n.rack_nodes))) for n in nets for w, t in zip(pw_terms[n.index], n.terms)]
                     + [(w, 1) for w in pw_back])
    bal = c.balance
    cache = space.physics_cache  # per-(network, TP) physics shared with the model (physics_cache)
    tp_keep_up = cache.keep_up(exact(bal.tensor_parallel_ratio))
    pp_keep_up = cache.keep_up(exact(bal.pipeline_parallel_ratio), pipeline=True)
    compatible = cache.compatible
    level_of_mem = cache.level_of_mem   # rows of the comm-time rule (effective bandwidths when calibrated)
    terms = [physics.node_terms(req, m) for m in mems] if req.calibrated else []
    memo: dict = {}   # the calibrated coefficients of each (TP, node class), worked out once
    for n in nets:
        tp_ok, pp_ok = tp_keep_up[:, n.index], pp_keep_up[:, n.index]
        for t in tps:
            full = cache.pp_range(n, t)
            if full is None:
                continue
            lo_pp, hi_pp = int(full[0]), int(full[-1])
            pp = full
            if n_of_k is not None:  # quick mode: one column per k, the smallest N >= n_of_k[k]
                pp = np.clip(-(-np.maximum(n_of_k, n.n_min) // t), lo_pp, hi_pp).astype(np.int64)[:, None]
            at = pp - lo_pp  # positions in the full PP range, where the cached masks are
            N = t * pp
            m_ = np.maximum(pp, conc)
            net_cost = cache.network_cost_units(n)[N]
            C0 = cost[:, None] * N + net_cost
            B = bw_units[:, None] * N
            ok0 = cap[:, None] * N >= physics.capacity_for_tp(req, t)
            if pcol is not None:
                pw0 = pw_mem[:, None] * N
                for w, term in zip(pw_terms[n.index], n.terms):
                    if w:
                        pw0 = pw0 + w * term.count(N, n.rack_nodes)
            if r > 0:
                x = physics.moe_extra(req, pp)
                ok0 &= cw * pp + ck * m_ + cx * x <= cb * B
                ok0 &= cm * m_ + c0 <= cf * (flops_units[:, None] * N)
                if req.calibrated:
                    ok0 &= physics.speed_matrix_at(req, n, t, p, terms, pp, memo)
                else:
                    ok0 &= cache.comm_speed_mask(n, t)[at]
                ok0 &= N >= io_nodes
            if req.max_ttft_s is not None and req.calibrated:
                ok0 &= physics.ttft_matrix_at(req, n, t, p, terms, pp)
            elif req.max_ttft_s is not None:
                ok0 &= cache.ttft_pair_ok(t)[:, None]
                ok0 &= cache.ttft_comm_mask(n, t)[at]
            if n.tier is not None and bal.rule == "ratio":
                if t > 1 and bal.tensor_parallel_ratio > 0:
                    ok0 &= tp_ok[:, None]
                if bal.pipeline_parallel_ratio > 0:
                    ok0 &= (pp <= 1) | pp_ok[:, None]
            if n.tier is not None and bal.rule == "comm_time":
                rule = cache.comm_rule_matrix(n, t, exact(bal.comm_time_ratio))
                ok0 &= rule[level_of_mem[:, None], at] if n_of_k is not None else rule[level_of_mem]
            ok0 &= compatible[:, n.index][:, None]
            for bk in backs:
                C = C0 + (space.cost_units(bk.cost_usd) if bk else 0)
                ok = ok0.copy()
                if bk is not None:
                    ok &= N >= bk.min_nodes
                if budget is not None:
                    ok &= C <= budget
                if pcol is not None:
                    ok &= pw0 + (pw_back[bk.index] if bk else 0) <= p_max
                yield n, t, bk, np.broadcast_to(N, ok.shape), B, np.broadcast_to(C, ok.shape), ok


def enumerate_top(space: Space, top_k: int, distinct: str = "architecture",
                  quick: bool = False) -> list[Candidate]:
    """The top-K feasible designs in the solver's exact order (ratio, then cost, PP, catalog order)."""
    n_of_k = None
    if quick:
        from .model import GROUPS
        n_of_k = np.array([max(1, space.physics_cache.node_bounds(m, GROUPS)[0]) for m in space.mems],
                          dtype=np.int64)
    mems = space.mems
    best: dict[tuple, Candidate] = {}
    pool: list[Candidate] = []
    for n, t, bk, N, B, C, ok in _chunks(space, n_of_k):
        if not ok.any():
            continue
        ratio = np.where(ok, B / np.maximum(C, 1), -1.0)
        if distinct != "design":
            # the machine (and so the architecture) can change with N: best per row within each machine
            for _, sel in physics.machine_groups(n, t, (N[:1] if N.shape[1] > 1 else N) // t):
                sel = np.broadcast_to(sel, ratio.shape)
                part = np.where(sel, ratio, -1.0)
                row_best = part.max(axis=1)
                for k in np.nonzero(row_best >= 0)[0]:
                    cols = np.nonzero(part[k] >= row_best[k] * (1 - REL_TIE))[0]
                    cands = [Candidate(Design(mems[k], n, int(N[k, q]), t, bk), int(B[k, q]), int(C[k, q]))
                             for q in cols]
                    cand = min(cands, key=Candidate.sort_key)
                    key = cand.design.distinct_key(distinct)
                    if key not in best or cand.sort_key() < best[key].sort_key():
                        best[key] = cand
        else:
            flat = ratio.ravel()
            if (flat >= 0).sum() > top_k:
                kth = np.partition(flat, -top_k)[-top_k]
                idx = np.nonzero(flat >= kth * (1 - REL_TIE))[0]
            else:
                idx = np.nonzero(flat >= 0)[0]
            for i in idx:
                k, q = np.unravel_index(i, ratio.shape)
                pool.append(Candidate(Design(mems[k], n, int(N[k, q]), t, bk), int(B[k, q]), int(C[k, q])))
            pool = sorted(pool, key=Candidate.sort_key)[: max(top_k, 1) * 4]
    ranked = sorted(best.values() if distinct != "design" else pool, key=Candidate.sort_key)
    return ranked[:top_k]
