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
from typing import Optional, Sequence

import numpy as np

from . import physics
from .space import Space
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
        return (-Fraction(self.bandwidth_units, self.cost_units), self.cost_units) + d.tie_key()


def _per_class(cache, n, t: int, pp: np.ndarray, class_of: np.ndarray, fn) -> np.ndarray:
    """``fn(nodes, pp values)`` (node classes x PP) machine class by machine class over the full PP range
    (``physics.calibrated._per_machine``), spread to memory configurations x PP."""
    out = np.zeros((len(class_of), len(pp)), dtype=bool)
    for nodes, sel in cache.machine_groups(n, t):
        out[:, sel] = fn(nodes, pp[sel])[class_of]
    return out


def _chunks(space: Space, n_of_k: Optional[np.ndarray] = None, live: Optional[list] = None):
    """Yield (j, tau, K x P arrays...) of feasible designs, evaluated exactly in int64.

    ``live``: a list whose first item holds the indices of the memory configurations still worth evaluating
    and whose third a floor (a ratio, bandwidth units per USD, that K distinct designs reach, or None); the
    caller may change both between chunks.  A (network, TP)'s rows are then the live configurations whose
    nodes with this network's least cost per node could reach the floor, in that order (none: the chunk is
    skipped); the second item is set to the rows of the chunk just yielded.
    """
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
    memo: dict = {}   # the calibrated coefficients of each (TP, node class), worked out once
    # the distinct node classes (rows of the calibrated matrices), and each memory configuration's class
    classes, class_of = cache.node_classes if req.calibrated else ([], None)
    terms = [classes[i] for i in class_of.tolist()] if req.calibrated else []
    subsets: dict = {}   # the node classes of a set of rows, one list per set (speed_matrix's memo is by list)
    every = np.arange(len(mems))
    bw_float, cost_float = bw_units.astype(float), cost.astype(float)
    least: dict = {}

    def terms_of(rows) -> list:   # the node terms of these rows (quick mode's), one list per set of rows (memo)
        if len(rows) == len(mems):
            return terms
        return subsets.setdefault(("rows", rows.tobytes()), [terms[i] for i in rows.tolist()])
    if live is not None:   # each configuration's fewest nodes (capacity, speed, I/O; model.node_bounds)
        from .space import GROUPS
        fewest = np.array([cache.node_bounds(m, GROUPS)[0] for m in mems], dtype=np.int64)

    def least_per_node(n, rows) -> np.ndarray:
        """For each row, the least network cost per node at any node count it may use (a lower bound)."""
        if n.index not in least:   # with the near-tie margin, never negative
            least[n.index] = np.maximum(cache.least_network_cost_per_node(n) * (1 - REL_TIE), 0.0)
        table = least[n.index]
        return table[np.clip(fewest[rows], 1, len(table) - 1)]
    for n in nets:
        for t in tps:
            full = cache.pp_range(n, t)
            if full is None:
                continue
            rows = every if live is None else live[0]
            if live is not None and live[2] is not None:
                # a design's ratio is at most bw / (node cost + the network's least cost per node)
                rows = rows[bw_float[rows] >= live[2] * (1 - REL_TIE) * (cost_float[rows] + least_per_node(n, rows))]
            fits = compatible[rows, n.index]
            if not fits.any():
                continue   # no memory configuration left that this tier can join, or that could reach the floor
            if live is not None:
                live[1] = rows
            bw_r, cap_r, cost_r, flops_r = bw_units[rows], cap[rows], cost[rows], flops_units[rows]
            if terms and req.max_ttft_s is not None and n_of_k is None:   # the TTFT matrices: live rows' classes only
                present = np.unique(class_of[every if live is None else live[0]])
                sub = subsets.setdefault(tuple(present.tolist()), [classes[i] for i in present.tolist()])
                sub_of = np.searchsorted(present, class_of[rows])
            tp_ok = (cache.keep_up(exact(bal.tensor_parallel_ratio), pipeline=True)  # TP over both levels
                     if physics.spanning(n, t) else tp_keep_up)[rows, n.index]
            pp_ok = pp_keep_up[rows, n.index]
            lo_pp, hi_pp = int(full[0]), int(full[-1])
            pp = full
            if n_of_k is not None:  # quick mode: one column per k, the smallest N >= n_of_k[k]
                pp = np.clip(-(-np.maximum(n_of_k[rows], n.n_min) // t), lo_pp, hi_pp).astype(np.int64)[:, None]
            at = pp - lo_pp  # positions in the full PP range, where the cached masks are
            N = t * pp
            m_ = np.maximum(pp, conc)
            net_cost = cache.network_cost_units(n)[N]
            C0 = cost_r[:, None] * N + net_cost
            B = bw_r[:, None] * N
            ok0 = cap_r[:, None] * N >= physics.capacity_for_tp(req, t)
            if pcol is not None:
                pw0 = pw_mem[rows][:, None] * N
                for w, term in zip(pw_terms[n.index], n.terms):
                    if w:
                        pw0 = pw0 + w * term.count(N, n.rack_nodes)
            if r > 0:
                x = physics.moe_extra(req, pp)
                ok0 &= cw * pp + ck * m_ + cx * x <= cb * B
                ok0 &= cm * m_ + c0 <= cf * (flops_r[:, None] * N)
                if req.calibrated and n_of_k is None:   # communication within each node class's slack at this TP
                    ok0 &= cache.speed_ok(n, t, rows)
                elif req.calibrated:
                    ok0 &= physics.speed_matrix_at(req, n, t, p, terms_of(rows), pp, memo)
                else:
                    ok0 &= cache.comm_speed_mask(n, t)[at]
                ok0 &= N >= io_nodes
            if req.max_ttft_s is not None and req.calibrated and n_of_k is None:
                ok0 &= _per_class(cache, n, t, full, sub_of, lambda nodes, v: physics.ttft_matrix(
                    req, cache.base_comm(n, t, nodes), sub, t, v))
            elif req.max_ttft_s is not None and req.calibrated:
                ok0 &= physics.ttft_matrix_at(req, n, t, p, terms_of(rows), pp)
            elif req.max_ttft_s is not None:
                ok0 &= cache.ttft_pair_ok(t)[rows][:, None]
                ok0 &= cache.ttft_comm_mask(n, t)[at]
            if n.tier is not None and bal.rule == "ratio":
                if t > 1 and bal.tensor_parallel_ratio > 0:
                    ok0 &= tp_ok[:, None]
                if bal.pipeline_parallel_ratio > 0:
                    ok0 &= (pp <= 1) | pp_ok[:, None]
            if n.tier is not None and bal.rule == "comm_time":
                if n_of_k is not None:   # quick: the rule at this chunk's few PP values only
                    cols, where_pp = np.unique(pp[:, 0], return_inverse=True)
                    rule = cache.comm_rule_at(n, t, exact(bal.comm_time_ratio), cols)
                    ok0 &= rule[level_of_mem[rows], where_pp.ravel()][:, None]
                else:
                    ok0 &= cache.comm_rule_matrix(n, t, exact(bal.comm_time_ratio))[level_of_mem[rows]]
            ok0 &= fits[:, None]
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
                  quick: bool = False, floor: bool = True) -> list[Candidate]:
    """The top-K feasible designs in the solver's exact order (ratio, then cost, domains per TP group, PP, catalog order).
    ``floor=False``: every cell of every chunk, no configuration left out (the tests' plain oracle)."""
    return enumerate_ranked(space, top_k, distinct, quick, use_floor=floor)[0]


def enumerate_ranked(space: Space, top_k: int, distinct: str = "architecture", quick: bool = False,
                     deadline: Optional[float] = None, known: Sequence[Candidate] = (),
                     use_floor: bool = True, floor_k: Optional[int] = None) -> tuple[list[Candidate], bool]:
    """``enumerate_top``, and whether every cell was evaluated (False: ``deadline``, a ``time.monotonic()``
    instant, came first and the designs are the best of the cells seen).

    Each (network, TP, backing) chunk keeps only the cells that may still rank: for "design", those within
    a float near-tie of the chunk's K-th best ratio; otherwise, for every memory configuration (row) and
    architecture (what ``distinct`` compares; it can change with N), the cells within a near-tie of that
    row's best.  At the end the same cut is made across chunks, and only the cells left are ranked with
    the exact key (``Candidate.sort_key``, exact fractions).

    A floor rises as chunks are seen: the K-th best distinct key (or design) so far.  A memory configuration
    whose nodes alone (bandwidth over node cost, network and backing free) fall below it cannot rank, so
    the later chunks leave it out (``_chunks``' ``live``), as CP-SAT's ``solve._prune_below`` does.
    ``known``: feasible designs of this space (a sweep's previous point, re-checked): the floor starts at
    their K-th best distinct key.  Neither changes the answer.  ``use_floor=False`` turns the floor off: every
    configuration is evaluated in every chunk (the plain enumeration the tests check both engines against).
    ``floor_k``: the floor is the floor_k-th best distinct key instead of the top_k-th (quick mode has no floor
    unless it is given: the CP-SAT path asks for every key's quick design but needs only the K best exactly).
    """
    import time
    n_of_k = None
    if quick:
        from .space import GROUPS
        n_of_k = np.array([max(1, space.physics_cache.node_bounds(m, GROUPS)[0]) for m in space.mems],
                          dtype=np.int64)
    mems, cache = space.mems, space.physics_cache
    medium_names = sorted({m.memory.name for m in mems})
    medium_of = np.array([medium_names.index(m.memory.name) for m in mems], dtype=np.int64)
    arch_ids: dict = {}   # (tier, machine) as "distinct" sees it -> id
    kept = []             # per chunk: (network, TP, backing, ratio, row, node count, bandwidth units, cost, key)
    complete = True
    live = (None if (quick and floor_k is None) or not use_floor
            else [np.arange(len(mems)), None, None])   # rows worth evaluating, rows used, floor
    fk = top_k if floor_k is None else floor_k
    node_ratio = (np.array(space.bw_column.ints, dtype=float) / np.array([space.cost_units(m.cost_usd) for m in mems], dtype=float))
    best_of_key: dict = {}          # the best ratio seen of each distinct key (floats)
    top_seen = np.empty(0)          # "design": the K best ratios seen
    start = {}
    for c in sorted(known, key=Candidate.sort_key):
        start.setdefault(c.design.distinct_key(distinct), c)
    if live is not None and len(start) >= fk:
        floor = float(Fraction(list(start.values())[fk - 1].bandwidth_units,
                               list(start.values())[fk - 1].cost_units))
        live[0] = live[0][node_ratio[live[0]] >= floor * (1 - REL_TIE)]
        live[2] = floor
    for n, t, bk, N, B, C, ok in _chunks(space, n_of_k, live):
        here = None if live is None else live[1]   # this chunk's rows
        if deadline is not None and time.monotonic() > deadline:
            complete = False
            break
        if not ok.any():
            continue
        ratio = np.where(ok, B / np.maximum(C, 1), -1.0)
        if distinct == "design":
            flat = ratio.ravel()
            if (flat >= 0).sum() > top_k:
                kth = np.partition(flat, -top_k)[-top_k]
                rows, cols = np.nonzero(ratio >= kth * (1 - REL_TIE))
            else:
                rows, cols = np.nonzero(ratio >= 0)
            key = np.zeros(len(rows), dtype=np.int64)   # not used: every design is distinct
        else:
            if distinct == "architecture" and quick:   # a few node counts: their architectures one by one
                vals, where_n = np.unique(N, return_inverse=True)
                local = np.array([arch_ids.setdefault(n.arch(int(v)), len(arch_ids)) for v in vals.tolist()],
                                 dtype=np.int64)
                lab = local[where_n.reshape(N.shape)]
            elif distinct == "architecture":
                _, arch_lab, archs = cache.machine_classes(n)
                local = np.array([arch_ids.setdefault(a, len(arch_ids)) for a in archs], dtype=np.int64)
                lab = np.broadcast_to(local[arch_lab[N]], ratio.shape)
            else:
                lab = np.zeros(ratio.shape, dtype=np.int64)
            rows_l, cols_l = [], []
            for a in np.unique(lab[:, :1] if lab.shape[1] == 1 else lab[:1]).tolist():
                part = np.where(lab == a, ratio, -1.0)
                row_best = part.max(axis=1)
                near = (part >= (row_best * (1 - REL_TIE))[:, None]) & (row_best >= 0)[:, None]
                r_, c_ = np.nonzero(near)
                rows_l.append(r_)
                cols_l.append(c_)
            rows, cols = np.concatenate(rows_l), np.concatenate(cols_l)
            # the key: medium (and architecture) as one integer
            key = (medium_of[rows if here is None else here[rows]] * (1 << 32)
                   + (lab[rows, cols] if distinct == "architecture" else 0))
        r_kept = ratio[rows, cols]
        kept.append((n, t, bk, r_kept, rows if here is None else here[rows], N[rows, cols], B[rows, cols],
                     C[rows, cols], key))
        if live is not None and len(r_kept):   # raise the floor, drop the rows below it
            if distinct == "design":
                top_seen = np.concatenate([top_seen, r_kept])
                if len(top_seen) > fk:
                    top_seen = np.partition(top_seen, -fk)[-fk:]
                floor = top_seen.min() if len(top_seen) >= fk else None
            else:
                uk, inv = np.unique(key, return_inverse=True)
                kb = np.full(len(uk), -1.0)
                np.maximum.at(kb, inv, r_kept)
                for k_, v in zip(uk.tolist(), kb.tolist()):
                    if v > best_of_key.get(k_, -1.0):
                        best_of_key[k_] = v
                floor = sorted(best_of_key.values())[-fk] if len(best_of_key) >= fk else None
            if floor is not None and (live[2] is None or floor > live[2]):
                live[0] = live[0][node_ratio[live[0]] >= floor * (1 - REL_TIE)]
                live[2] = floor
    if not kept:
        return [], complete
    r_all = np.concatenate([k[3] for k in kept])
    if distinct == "design":
        pick = (r_all >= np.partition(r_all, -top_k)[-top_k] * (1 - REL_TIE) if len(r_all) > top_k
                else np.ones(len(r_all), dtype=bool))
    else:
        key_all = np.concatenate([k[8] for k in kept])
        uniq, inv = np.unique(key_all, return_inverse=True)
        key_best = np.full(len(uniq), -1.0)
        np.maximum.at(key_best, inv, r_all)
        cut = np.sort(key_best)[-top_k] * (1 - REL_TIE) if len(uniq) > top_k else -1.0
        pick = (key_best[inv] >= cut) & (r_all >= key_best[inv] * (1 - REL_TIE))
    cands = []
    at = 0
    for n, t, bk, r, rows, N, B, C, _ in kept:
        for i in np.nonzero(pick[at:at + len(r)])[0].tolist():
            cands.append(Candidate(Design(mems[rows[i]], n, int(N[i]), t, bk), int(B[i]), int(C[i])))
        at += len(r)
    cands.sort(key=Candidate.sort_key)
    if distinct == "design":
        return cands[:top_k], complete
    best: dict = {}
    for c in cands:   # in rank order: the first of each distinct key is its best
        best.setdefault(c.design.distinct_key(distinct), c)
    return list(best.values())[:top_k], complete
