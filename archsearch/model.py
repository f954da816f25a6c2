"""The CP-SAT model of the design space: data, variables, constraints; no solving here.

Variables (one-hot families keyed by the configurations of ``physics``):

    use_mem[k]   memory configuration k (node type, medium, units per node) is chosen
    nodes_mem[k] = N if use_mem[k] else 0     (so capacity, bandwidth and node cost are linear)
    use_net[j]   network configuration j (tier, topology, fat-tree depth) is chosen; j = 0 is "single node"
    nodes_net[j] = N if use_net[j] else 0     (network item counts are ceil-linear in it)
    use_tp[t]    tensor-parallel degree t is chosen; nodes = t * pp_tp[t]
    N, PP, M = max(PP, c)

Every coefficient comes from ``physics``; the equations are in its docstring
and docs/equations.md.  The objective is set by the caller (``solve``): CP-SAT sees only
integers, scaled in ``scaling``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional

import numpy as np
from .lazy_pandas import cp_model   # OR-Tools loads at first use (lazy_pandas)

from . import physics
from .pp_limits import PipelineSets, complement, count_runs, runs
from .scaling import check_bound, check_linear, cost_hint, scale_column
from .space import GROUPS, Space
from .topology import BEYOND_RACK
from .units import exact


class DesignModel(PipelineSets):
    """Builds the CP-SAT model of a ``Space``; ``groups`` selects which constraint groups are enforced.

    Data, variables, constraints, in the order of the CP-SAT samples: ``_variables`` and ``_structure``
    state the decisions, ``_totals`` the bandwidth and cost every group reads, then one method per
    constraint group of ``GROUPS`` (the names infeasibility diagnosis drops), then the indicators the
    ranking's cuts use.  The objective is set by the caller (``solve``).
    """

    def __init__(self, space: Space, groups: tuple[str, ...] = GROUPS, class_limits: tuple = (),
                 live: Optional[np.ndarray] = None) -> None:
        """``class_limits``: more calibrated limits, each a ``matrix`` as ``_class_pp`` takes it, stated with
        the groups' own (the disaggregated prefill pool's rate: its interval rows merge with TTFT's).
        ``live``: memory x network configurations that may hold a top-K design (``prune.live_pairs``).  The
        model has variables for the configurations in some live pair only (``mems``, ``nets``, in catalog
        order, so the tie-break order is unchanged); None: every configuration."""
        self.space = space
        self.groups = groups
        self.live = live
        self.mems = [m for m in space.mems if live is None or live[m.index].any()]
        self.nets = [n for n in space.nets if live is None or live[:, n.index].any()]
        self.pos_mem = {m.index: k for k, m in enumerate(self.mems)}
        self.pos_net = {n.index: j for j, n in enumerate(self.nets)}
        self.model = cp_model.CpModel()
        self._net_tp_lits: dict = {}
        self._pp_sets: dict = {}   # (j, t) -> (PP values, configurations x PP allowed), stated after the groups
        self._pp_any: dict = {}    # (j, t) -> PP values some configuration may use (``node_counts``)
        self._variables()
        self._structure()
        self._totals()
        for group in GROUPS:
            if group in groups:
                getattr(self, f"_{group}")()
        for matrix in class_limits:
            self._class_pp(matrix)
        self._state_pp_sets()
        # TP groups spanning k domains (k - 1, pair literal), for the tie-break: fewer first (solve.lex_cheapest)
        self.span_terms = [(t // n.domain_nodes - 1, self._net_tp(n.index, t)) for n in self.nets for t in space.tps
                           if physics.spanning(n, t) and self._pp_range(n, t) is not None]
        # indicator of each medium, for medium and architecture no-goods
        self.medium_lits = self._indicators([m.memory.name for m in self.mems], self.use_mem)

    # -- variables ----------------------------------------------------------------------------
    def _variables(self) -> None:
        md, space = self.model, self.space
        mems, nets, tps, nmax = self.mems, self.nets, space.tps, space.max_nodes
        conc = space.req.concurrency
        self.N = md.new_int_var(1, nmax, "N")
        self.use_mem = [md.new_bool_var(f"use_mem[{m.label}]") for m in mems]
        # each configuration's own node bound (capacity, budget): CP-SAT then sees costs no larger than they can be
        his = [(lambda lo, hi: hi if lo <= hi else 0)(*space.physics_cache.node_bounds(m, tuple(self.groups)))
               for m in mems]
        self.nodes_mem = [md.new_int_var(0, hi, f"nodes_mem[{m.label}]") for m, hi in zip(mems, his)]
        self.use_net = [md.new_bool_var(f"use_net[{n.label}]") for n in nets]
        self.nodes_net = [md.new_int_var(0, n.n_max, f"nodes_net[{n.label}]") for n in nets]
        self.use_tp = {t: md.new_bool_var(f"use_tp[{t}]") for t in tps}
        self.pp_tp = {t: md.new_int_var(0, nmax // t, f"pp_tp[{t}]") for t in tps}
        self.PP = md.new_int_var(1, nmax, "PP")
        self.M = md.new_int_var(max(1, conc), max(nmax, conc), "M")          # max(PP, c)
        backs = space.backs
        self.use_back = [md.new_bool_var(f"use_back[{b.label}]") for b in backs]

    # -- structure: one memory config, one network config, one TP degree, one backing tier --------
    def _structure(self) -> None:
        md, space, groups = self.model, self.space, self.groups
        mems, nets, tps, nmax = self.mems, self.nets, space.tps, space.max_nodes
        md.add_exactly_one(self.use_mem)
        md.add_exactly_one(self.use_net)
        md.add_exactly_one(list(self.use_tp.values()))
        for m, u, x in zip(mems, self.use_mem, self.nodes_mem):
            lo, hi = space.physics_cache.node_bounds(m, tuple(groups))
            if lo > hi:  # this configuration cannot hold the model, or be fast enough, within the limits
                md.add(u == 0)
                md.add(x == 0)
                continue
            md.add(x <= hi * u)
            md.add(x >= lo * u)
        md.add(sum(self.nodes_mem) == self.N)
        for n, u, y in zip(nets, self.use_net, self.nodes_net):
            md.add(y <= n.n_max * u)
            md.add(y >= n.n_min * u)
        md.add(sum(self.nodes_net) == self.N)
        for n, u in zip(nets, self.use_net):
            pair = self._pairs_of(n)
            barred = [a for m, a in zip(mems, self.use_mem) if not pair[m.index]]
            if barred:  # this tier cannot join these node types
                md.add(u + sum(barred) <= 1)
            too_wide = [self.use_tp[t] for t in tps if not physics.tp_fits(n, t, physics.spans_domains(space.problem))]
            if too_wide:  # a two-level network keeps tensor parallel inside one scale-up domain (or whole ones)
                md.add(u + sum(too_wide) <= 1)
        for t in tps:
            md.add(self.pp_tp[t] <= (nmax // t) * self.use_tp[t])
        md.add(sum(t * self.pp_tp[t] for t in tps) == self.N)
        md.add(sum(self.pp_tp.values()) == self.PP)
        md.add_max_equality(self.M, [self.PP, space.req.concurrency])
        # KV backing tier: one medium, its units fixed by the need (physics.backing_configs)
        if space.backs:
            md.add_exactly_one(self.use_back)

        # indices for tie-breaking and indicator sums for no-good cuts
        self.mem_index = md.new_int_var(0, len(mems) - 1, "mem_index")
        md.add(self.mem_index == sum(i * u for i, u in enumerate(self.use_mem)))
        self.net_index = md.new_int_var(0, len(nets) - 1, "net_index")
        md.add(self.net_index == sum(i * u for i, u in enumerate(self.use_net)))
        self.back_index = md.new_int_var(0, max(0, len(space.backs) - 1), "back_index")
        md.add(self.back_index == sum(i * u for i, u in enumerate(self.use_back)))

    # -- totals: bandwidth B and cost C (the objective's two sides) --------------------------------
    def _totals(self) -> None:
        md, space = self.model, self.space
        p, mems, nets = space.problem, self.mems, self.nets
        c = p.constraints
        bwc = space.bw_column                            # the space's unit, shared with the oracle's ratios
        self.bw_unit = bwc.unit                          # bytes/s per unit of B
        self.bw_ints = [bwc.ints[m.index] for m in mems]
        # B's bound from each configuration's own node bound (budget, capacity): CP-SAT's integer range then
        # leaves the Dinkelbach objective den*B - num*C more room than nmax x the widest node would
        his = [_ub(x) for x in self.nodes_mem]
        self.bmax = bmax = max(w * hi for w, hi in zip(self.bw_ints, his))
        check_bound("total memory bandwidth", bmax)
        self.B = md.new_int_var(0, bmax, "B")
        md.add(self.B == sum(w * x for w, x in zip(self.bw_ints, self.nodes_mem)))

        self.cost_unit = space.cost_unit                  # dollars per unit of C
        budget = space.budget_units() if c.budget_usd is not None and "budget" in self.groups else None
        self._budget_units = budget
        node_cost = sum(space.cost_units(m.cost_usd) * x for m, x in zip(mems, self.nodes_mem))
        net_cost_terms, self.net_power_terms = [], []
        self._shared_level_terms(net_cost_terms)
        for n, u, y in zip(nets, self.use_net, self.nodes_net):
            if n.domain_nodes:  # counted by _shared_level_terms
                continue
            beyond = None
            for t in n.terms:
                usd_each = space.cost_units(physics.network_term_usd(t))
                if usd_each == 0 and t.w == 0:
                    continue
                if t.base == BEYOND_RACK:
                    if n.n_max <= n.rack_nodes:
                        continue
                    if beyond is None:
                        beyond = md.new_int_var(0, n.n_max - n.rack_nodes, f"beyond_rack[{n.label}]")
                        md.add_max_equality(beyond, [0, y - n.rack_nodes * u])
                    base, hi = beyond, n.n_max - n.rack_nodes
                else:
                    base, hi = y, n.n_max
                top = self._count_top(-((-t.num * hi) // t.den), usd_each * t.mult)
                cnt = md.new_int_var(0, top, f"{t.label}[{n.label}]")
                md.add(t.den * cnt >= t.num * base)
                md.add(t.den * cnt <= t.num * base + t.den - 1)
                net_cost_terms.append((usd_each * t.mult, cnt, top))
                self.net_power_terms.append((t.w * t.mult, cnt, top))
        backs = space.backs
        back_cost = sum(space.cost_units(b.cost_usd) * u for b, u in zip(backs, self.use_back))
        parts = ([(space.cost_units(m.cost_usd), hi) for m, hi in zip(mems, his)]
                 + [(c_, top) for c_, _, top in net_cost_terms] + [(space.cost_units(b.cost_usd), 1) for b in backs])
        cmax = (max(c_ * hi for c_, hi in parts[:len(mems)]) + sum(c_ * top for c_, top in parts[len(mems):]))
        if budget is not None:
            cmax = min(cmax, budget)
        self.cost_max = max(cmax, 1)
        # C == node + network + backing cost, as CP-SAT checks it: every term at its bound, C at its own
        check_linear("total cost", parts + [(1, self.cost_max)], cost_hint(space.cost_unit))
        self.C = md.new_int_var(1, self.cost_max, "C")
        md.add(self.C == node_cost + sum(c_ * v for c_, v, _ in net_cost_terms) + back_cost)

    def _shared_level_terms(self, net_cost_terms: list) -> None:
        """The items of two-level configurations, one count variable per distinct term.

        Many two-level configurations share a level (one domain under several fabrics, one fabric over
        several domains), so they share its terms: at most one configuration is chosen, so a term's
        count over the sum of its configurations' node variables is the chosen one's count (0 if none).
        """
        md, nets = self.model, self.nets
        groups: dict[tuple, list[int]] = {}
        for j, n in enumerate(nets):
            if not n.domain_nodes:
                continue
            for t in n.terms:
                usd_each = self.space.cost_units(physics.network_term_usd(t))
                if usd_each == 0 and t.w == 0:
                    continue
                if t.base == BEYOND_RACK and n.n_max <= n.rack_nodes:
                    continue
                rack = n.rack_nodes if t.base == BEYOND_RACK else 0
                groups.setdefault((t.label, t.num, t.den, t.base, t.mult, usd_each, t.w, rack), []).append(j)
        for (label, num, den, base_kind, mult, usd_each, w, rack), js in groups.items():
            y = sum(self.nodes_net[j] for j in js)
            hi = max(nets[j].n_max for j in js)
            if base_kind == BEYOND_RACK:
                hi -= rack
                base = md.new_int_var(0, hi, f"beyond_rack[{label}, {len(net_cost_terms)}]")
                md.add_max_equality(base, [0, y - rack * sum(self.use_net[j] for j in js)])
            else:
                base = y
            top = self._count_top(-((-num * hi) // den), usd_each * mult)
            cnt = md.new_int_var(0, top, f"{label}[shared {len(net_cost_terms)}]")
            md.add(den * cnt >= num * base)
            md.add(den * cnt <= num * base + den - 1)
            net_cost_terms.append((usd_each * mult, cnt, top))
            self.net_power_terms.append((w * mult, cnt, top))

    def _count_top(self, top: int, usd_each: int) -> int:
        """An item count's upper bound: its node-count bound, and what the budget buys (C <= budget)."""
        if self._budget_units is None or usd_each <= 0:
            return top
        return min(top, self._budget_units // usd_each)

    # -- constraint groups (GROUPS) -------------------------------------------------------------
    def _capacity(self) -> None:
        """All weights and all KV fit: N x U x unit capacity >= capacity required.

        Calibrated, TP beyond the KV heads replicates the KV: the requirement at TP t is the base plus an
        extra that depends on t alone, stated linearly as base + sum_t extra_t x use_tp[t]."""
        space = self.space
        req, tps = space.req, space.tps
        needs = {t: physics.capacity_for_tp(req, t) for t in tps}
        capc = scale_column([Fraction(m.capacity_bytes) for m in self.mems]
                            + [Fraction(req.capacity_required_bytes)]
                            + [Fraction(needs[t] - req.capacity_required_bytes) for t in tps])
        k = len(self.mems)
        need = capc.ints[k]  # the requirement shares the column's unit, so this is exact
        extra = sum(w * self.use_tp[t] for w, t in zip(capc.ints[k + 1:], tps) if w)
        check_linear("capacity", [(w, space.max_nodes) for w in capc.ints])
        self.model.add(sum(w * x for w, x in zip(capc.ints[:k], self.nodes_mem)) >= need + extra)

    def _budget(self) -> None:
        """Cost <= budget: stated as the upper bound of C (``_totals``) and per configuration in ``node_bounds``."""

    def _power(self) -> None:
        """Nodes, network items and backing tier draw at most max_power_w."""
        space, c = self.space, self.space.problem.constraints
        if c.max_power_w is None:
            return
        mems, backs, nmax = self.mems, space.backs, space.max_nodes
        npt = self.net_power_terms
        pw = ([m.power_w for m in mems] + [w for w, _, _ in npt] + [b.power_w for b in backs]
              + [exact(c.max_power_w)])
        pc = scale_column([abs(Fraction(v)) for v in pw])
        k, t_ = len(mems), len(npt)
        mem_part = sum(pc.ints[i] * x for i, x in enumerate(self.nodes_mem))
        net_part = sum(pc.ints[k + i] * v for i, (_, v, _) in enumerate(npt))
        back_part = sum(pc.ints[k + t_ + i] * u for i, u in enumerate(self.use_back))
        check_linear("power", [(w, nmax) for w in pc.ints[:k]] +
                     [(pc.ints[k + i], top) for i, (_, _, top) in enumerate(npt)] +
                     [(w, 1) for w in pc.ints[k + t_:-1]])
        self.model.add(mem_part + net_part + back_part <= pc.ints[-1])

    def _speed(self) -> None:
        """The speed target on the memory-, compute- and communication-bound time per token.

        Constraints that depend on a (network, TP) pair are stated as the set of pipeline depths PP
        they allow, computed by physics: rows with coefficient 1 and one enforcement literal.  CP-SAT
        9.15 returned wrong INFEASIBLE and OPTIMAL answers on this model when the same conditions were
        enforced rows with coefficients above 2^31 (see docs/exact-search.md).
        """
        md, space = self.model, self.space
        req, nets, tps, nmax = space.req, self.nets, space.tps, space.max_nodes
        conc = req.concurrency
        if req.min_tokens_per_s <= 0:
            return
        # (r / a) * (PP * W1 + M * KV + X) <= B_bytes = bw_unit * B   (not enforced: large coefficients are safe)
        cw, ck, cx, cb = physics.speed_coefficients(req, self.bw_unit)
        xs = (0,) + req.moe_extra_bytes
        check_linear("memory speed", [(cw, nmax), (ck, max(nmax, conc)), (cx, max(xs)), (cb, self.bmax)])
        lhs = cw * self.PP + ck * self.M
        if req.moe_extra_bytes:  # X = the MoE table at min(PP, c): an element constraint
            ppc = md.new_int_var(1, min(conc, nmax), "min_pp_c")
            md.add_min_equality(ppc, [self.PP, conc])
            x = md.new_int_var(0, max(xs), "moe_extra")
            md.add_element(ppc, list(xs), x)
            lhs = lhs + cx * x
        md.add(lhs <= cb * self.B)
        # r * FLOPs per user token <= N * node FLOP/s: cm M + c0 <= cf F  (compute roofline; not enforced)
        fcol = space.flops_column
        flops = [fcol.ints[m.index] for m in self.mems]
        cm, c0, cf = physics.compute_coefficients(req, fcol.unit)
        check_linear("compute speed", [(cm, max(nmax, conc)), (c0, 1)] + [(cf * w, nmax) for w in flops])
        md.add(cm * self.M + c0 <= cf * sum(w * x for w, x in zip(flops, self.nodes_mem)))
        if req.calibrated:  # the rows above are the roofline, a relaxation; the calibrated time per class
            memo: dict = {}
            cache = space.physics_cache
            self._class_pp(lambda n, t, cls, pp: cache.by_machine(n, t, lambda nodes, v: physics.speed_matrix(
                req, cache.decode_comm(n, t, nodes), cls, t, v, memo)))
            return
        for n in nets:
            for t in tps:
                pp = self._pp_range(n, t)
                if pp is None:
                    continue
                ok = space.physics_cache.comm_speed_mask(n, t)
                self._note_pp(n, t, ok)
                self._allow_pp(self._net_tp(n.index, t), pp, ok)

    def _ttft(self) -> None:
        """Time to first token: compute and memory by (node, TP); communication by (network, TP) as PP sets."""
        md, space = self.model, self.space
        req = space.req
        if req.max_ttft_s is None:
            return
        if req.calibrated:
            cache = space.physics_cache
            self._class_pp(lambda n, t, cls, pp: cache.by_machine(n, t, lambda nodes, v: physics.ttft_matrix(
                req, cache.base_comm(n, t, nodes), cls, t, v)))
            return
        for t in space.tps:
            pair_ok = space.physics_cache.ttft_pair_ok(t)
            for m, a in zip(self.mems, self.use_mem):
                if not pair_ok[m.index]:
                    md.add_bool_or([~a, ~self.use_tp[t]])
        for n in self.nets:
            for t in space.tps:
                pp = self._pp_range(n, t)
                if pp is not None:
                    self._note_pp(n, t, space.physics_cache.ttft_comm_mask(n, t))
                    self._allow_pp(self._net_tp(n.index, t), pp, space.physics_cache.ttft_comm_mask(n, t))

    def _swap(self) -> None:
        """KV swapping: the backing tier's units fit the nodes' hosts, and the nodes' paths carry the I/O."""
        md, req = self.model, self.space.req
        for b, u in zip(self.space.backs, self.use_back):
            md.add(self.N >= b.min_nodes).only_enforce_if(u)
        if req.swap is not None and not self.space.backs:
            md.add_bool_or([])  # KV swapping, but no backing medium fits within max_nodes and the budget
        if req.min_tokens_per_s > 0:
            md.add(self.N >= physics.io_min_nodes(req))   # the nodes' paths to the KV backing tier

    def _balance(self) -> None:
        """Interconnect balance: the ratio rule (links >= ratio x node memory bandwidth) or the
        communication-time rule (t_comm <= ratio x t_mem)."""
        md, space = self.model, self.space
        p, req, mems, nets, tps = space.problem, space.req, self.mems, self.nets, space.tps
        bal = p.constraints.balance
        if bal.rule == "ratio":
            self.pp_multi = md.new_bool_var("pp_multi")
            md.add(self.PP >= 2).only_enforce_if(self.pp_multi)
            md.add(self.PP <= 1).only_enforce_if(~self.pp_multi)
            tp_multi = ~self.use_tp[1]
            for ratio, lit, pipeline in ((exact(bal.tensor_parallel_ratio), tp_multi, False),
                                         (exact(bal.pipeline_parallel_ratio), self.pp_multi, True)):
                if ratio == 0:
                    continue
                keep_up = space.physics_cache.keep_up(ratio, pipeline)
                for m, a in zip(mems, self.use_mem):
                    good = [b for n, b in zip(nets, self.use_net) if n.tier is not None and keep_up[m.index, n.index]]
                    md.add_bool_or([~a, ~lit] + good)  # more than one stage or TP group: links must keep up
            self._spanning_keep_up(exact(bal.tensor_parallel_ratio))
        if bal.rule == "comm_time":
            ratio = exact(bal.comm_time_ratio)
            # t_comm <= ratio * t_mem is harder the more bandwidth a node has: per-node bandwidth classes
            bws = [physics.effective_bandwidth(req, m) for m in mems]
            levels = tuple(sorted(set(bws)))   # the model's node bandwidths (effective ones when calibrated)
            at_least = {}

            def at_least_lit(v: int):  # the chosen configuration's node bandwidth is >= v (made on first use)
                if v not in at_least:
                    at_least[v] = md.new_bool_var(f"node_bw_at_least[{v}]")
                    md.add(sum(a for b, a in zip(bws, self.use_mem) if b >= v) == at_least[v])
                return at_least[v]
            for n in nets:
                if n.tier is None:
                    continue
                for t in tps:
                    pp = self._pp_range(n, t)
                    if pp is None:
                        continue
                    masks = space.physics_cache.comm_rule_rows(n, t, ratio, levels)
                    row_of = {v: i for i, v in enumerate(levels)}
                    self._note_pp(n, t, masks[[row_of[b] for b in bws]])
                    if self._collect_intervals(n.index, t, pp, masks[[row_of[b] for b in bws]]):
                        continue
                    # the rule tightens as node bandwidth grows: a level whose allowed PP set equals the
                    # level below it is implied by that level's constraint (its nodes are a subset)
                    changed = np.ones(len(levels), dtype=bool)
                    changed[1:] = (masks[1:] != masks[:-1]).any(axis=1)
                    for v, ok, new in zip(levels, masks, changed):
                        if new:
                            self._allow_pp([self._net_tp(n.index, t), at_least_lit(v)], pp, ok)

    def _spanning_keep_up(self, ratio) -> None:
        """Ratio rule: a TP group spanning domains (``physics.spanning``) all-reduces over both levels, so
        both must keep up (the pipeline's matrix, at the tensor-parallel ratio)."""
        if ratio <= 0:
            return
        both = self.space.physics_cache.keep_up(ratio, True)
        for n, b in zip(self.nets, self.use_net):
            wide = [self.use_tp[t] for t in self.space.tps if physics.spanning(n, t) and self._pp_range(n, t) is not None]
            for m, a in zip(self.mems, self.use_mem):
                if wide and not both[m.index, n.index]:
                    for w in wide:
                        self.model.add_bool_or([~a, ~b, ~w])


    def _indicators(self, names: list[str], lits: list) -> dict[str, object]:
        out = {}
        for name in dict.fromkeys(names):
            members = [l for n, l in zip(names, lits) if n == name]
            if len(members) == 1:
                out[name] = members[0]
                continue
            b = self.model.new_bool_var(f"is[{name}]")
            self.model.add(sum(members) == b)
            out[name] = b
        return out

    # -- cuts used by the ranking -----------------------------------------------------------------
    def forbid_architecture(self, design: physics.Design) -> None:
        """No later design may share this design's memory medium, interconnect tier and machine topology.

        The machine topology depends on the node count (a 2-node ring, mesh and all-to-all are one
        pair): for each network configuration of the tier, the node counts at which it is wired as
        this machine are forbidden together with the medium.
        """
        medium, tier, topology = design.architecture()
        md, a = self.model, self.medium_lits[medium]
        for n, u in zip(self.nets, self.use_net):
            if n.tier_key != tier:
                continue
            _, arch_lab, archs = self.space.physics_cache.machine_classes(n)
            labels = [i for i, (_, name) in enumerate(archs) if name == topology]
            if not labels:
                continue
            can = self.node_counts(n)   # the node counts this network may take here (a superset)
            can = can[(can >= max(1, n.n_min)) & (can <= min(n.n_max, self.space.max_nodes))]
            same = can[np.isin(arch_lab[can], labels)]
            if not len(same):
                continue
            if len(same) == len(can):
                lits = [a, u]
                # the single-node configuration's literal may be the medium's too: de-duplicate, since
                # CP-SAT 9.15 without presolve mishandled a clause with a repeat
                md.add_bool_or([~l for l in {l.index: l for l in lits}.values()])
            else:   # N outside ``can`` is excluded by the model already: state the set with fewer intervals
                outside = complement(same, self.space.max_nodes)
                inside = can[~np.isin(can, same)]
                allowed = outside if len(outside) <= count_runs(inside) else runs(inside)
                md.add_linear_expression_in_domain(self.N, cp_model.Domain.from_intervals(allowed)
                                                   ).only_enforce_if([a, u])

    def forbid_medium(self, design: physics.Design) -> None:
        """No later design may use this design's memory medium."""
        self.model.add(self.medium_lits[design.mem.memory.name] == 0)

    def forbid_design(self, design: physics.Design) -> None:
        """No later design may equal this one in every decision."""
        md = self.model
        same_n = md.new_bool_var("")
        md.add(self.N == design.nodes).only_enforce_if(same_n)
        md.add(self.N != design.nodes).only_enforce_if(~same_n)
        lits = [~self.use_mem[self.pos_mem[design.mem.index]], ~self.use_net[self.pos_net[design.net.index]],
                ~self.use_tp[design.tensor_parallel], ~same_n]
        if design.backing is not None:
            lits.append(~self.use_back[design.backing.index])
        md.add_bool_or(lits)

    def design_from(self, solver: cp_model.CpSolver) -> physics.Design:
        s = self.space
        k = next(i for i, u in enumerate(self.use_mem) if solver.boolean_value(u))
        j = next(i for i, u in enumerate(self.use_net) if solver.boolean_value(u))
        t = next(t for t, u in self.use_tp.items() if solver.boolean_value(u))
        b = next((s.backs[i] for i, u in enumerate(self.use_back) if solver.boolean_value(u)), None)
        return physics.Design(self.mems[k], self.nets[j], int(solver.value(self.N)), t, b)


def _ub(var: cp_model.IntVar) -> int:
    """A variable's upper bound (9.15's pybind domain list gives element 0 for index -1)."""
    domain = var.proto.domain
    return int(domain[len(domain) - 1])
