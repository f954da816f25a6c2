"""The CP-SAT model of the design space: data, variables, constraints; no solving here.

Variables (one-hot families keyed by the configurations of ``physics``):

    use_mem[k]   memory configuration k (node type, medium, units per node) is chosen
    nodes_mem[k] = N if use_mem[k] else 0     (so capacity, bandwidth and node cost are linear)
    use_net[j]   network configuration j (tier, topology, fat-tree depth) is chosen; j = 0 is "single node"
    nodes_net[j] = N if use_net[j] else 0     (network item counts are ceil-linear in it)
    use_tp[t]    tensor-parallel degree t is chosen; nodes = t * pp_tp[t]
    N, PP, M = max(PP, c), PP2 = PP^2, PPM = PP * M

Every coefficient comes from ``physics``; the equations are in its docstring
and the README.  The objective is set by the caller (``solve``): CP-SAT sees only
integers, scaled in ``scaling``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from ortools.sat.python import cp_model

from . import physics
from .physics import MemoryConfig, NetworkConfig, Requirements
from .scaling import check_bound, check_linear, scale_column
from .topology import BEYOND_RACK
from .units import PS_PER_S, exact

#: constraint groups; infeasibility diagnosis drops them one at a time
GROUPS = ("capacity", "budget", "power", "speed", "balance")


@dataclass(frozen=True)
class Space:
    """The design space of one problem, as shared by the CP-SAT model and the oracle."""

    problem: object
    req: Requirements
    mems: tuple[MemoryConfig, ...]
    nets: tuple[NetworkConfig, ...]
    tps: tuple[int, ...]
    max_nodes: int

    @property
    def bw_column(self):
        return scale_column([Fraction(m.bandwidth_bytes_per_s) for m in self.mems])

    def media(self) -> list[str]:
        return sorted({m.memory.name for m in self.mems})

    def tiers(self) -> list[str]:
        return sorted({n.tier.name for n in self.nets if n.tier is not None})

    def topologies(self) -> list[str]:
        return sorted({n.topology.name for n in self.nets if n.topology is not None})


def build_space(problem) -> Space:
    return Space(problem=problem, req=physics.requirements(problem), mems=tuple(physics.memory_configs(problem)),
                 nets=tuple(physics.network_configs(problem)), tps=tuple(physics.tp_values(problem)),
                 max_nodes=problem.constraints.max_nodes)


def node_bounds(space: Space, m: MemoryConfig, groups: tuple[str, ...] = GROUPS) -> tuple[int, int]:
    """Implied bounds on N for memory configuration m: enough capacity and bandwidth, within budget.

    These follow from the constraints (PP >= 1 and M >= c make the memory-speed
    bound a relaxation); stating them per configuration tightens CP-SAT's
    linear relaxation, which otherwise sees only N <= max_nodes.
    """
    p, req = space.problem, space.req
    lo, hi = 1, space.max_nodes
    if "capacity" in groups:
        lo = max(lo, -(-req.capacity_required_bytes // m.capacity_bytes))
    r = req.min_tokens_per_s
    if "speed" in groups and r > 0:
        need = r * (req.active_weight_bytes + req.concurrency * req.kv_bytes_per_request)
        lo = max(lo, math.ceil(need / m.bandwidth_bytes_per_s))
    if "budget" in groups and p.constraints.budget_usd is not None:
        hi = min(hi, math.floor(exact(p.constraints.budget_usd) / m.cost_usd))
    return lo, hi


class DesignModel:
    """Builds the CP-SAT model of a ``Space``; ``groups`` selects which constraint groups are enforced."""

    def __init__(self, space: Space, groups: tuple[str, ...] = GROUPS) -> None:
        self.space = space
        self.groups = groups
        p, req = space.problem, space.req
        c = p.constraints
        mems, nets, tps, nmax = space.mems, space.nets, space.tps, space.max_nodes
        md = self.model = cp_model.CpModel()
        self._net_tp_lits: dict = {}
        self._mem_tp_lits: dict = {}
        conc = req.concurrency

        # -- variables ----------------------------------------------------------------------
        self.N = md.new_int_var(1, nmax, "N")
        self.use_mem = [md.new_bool_var(f"use_mem[{m.label}]") for m in mems]
        self.nodes_mem = [md.new_int_var(0, nmax, f"nodes_mem[{m.label}]") for m in mems]
        self.use_net = [md.new_bool_var(f"use_net[{n.label}]") for n in nets]
        self.nodes_net = [md.new_int_var(0, n.n_max, f"nodes_net[{n.label}]") for n in nets]
        self.use_tp = {t: md.new_bool_var(f"use_tp[{t}]") for t in tps}
        pp_tp = {t: md.new_int_var(0, nmax // t, f"pp_tp[{t}]") for t in tps}
        self.PP = md.new_int_var(1, nmax, "PP")
        self.M = md.new_int_var(max(1, conc), max(nmax, conc), "M")          # max(PP, c)
        self.PP2 = md.new_int_var(1, nmax * nmax, "PP2")                    # PP^2
        self.PPM = md.new_int_var(conc, nmax * max(nmax, conc), "PPM")      # PP * M

        # -- structure: one memory config, one network config, one TP degree ----------------
        md.add_exactly_one(self.use_mem)
        md.add_exactly_one(self.use_net)
        md.add_exactly_one(list(self.use_tp.values()))
        for m, u, x in zip(mems, self.use_mem, self.nodes_mem):
            lo, hi = node_bounds(space, m, groups)
            if lo > hi:
                md.add(u == 0)
            md.add(x <= hi * u)
            md.add(x >= lo * u)
        md.add(sum(self.nodes_mem) == self.N)
        for n, u, y in zip(nets, self.use_net, self.nodes_net):
            md.add(y <= n.n_max * u)
            md.add(y >= n.n_min * u)
        md.add(sum(self.nodes_net) == self.N)
        for n, u in zip(nets, self.use_net):
            barred = [a for m, a in zip(mems, self.use_mem) if not physics.compatible(m, n)]
            if barred:  # this tier cannot join these node types
                md.add(u + sum(barred) <= 1)
        for t in tps:
            md.add(pp_tp[t] <= (nmax // t) * self.use_tp[t])
        md.add(sum(t * pp_tp[t] for t in tps) == self.N)
        md.add(sum(pp_tp.values()) == self.PP)
        md.add_max_equality(self.M, [self.PP, conc])
        md.add_multiplication_equality(self.PP2, [self.PP, self.PP])
        md.add_multiplication_equality(self.PPM, [self.PP, self.M])

        # indices for tie-breaking and indicator sums for no-good cuts
        self.mem_index = md.new_int_var(0, len(mems) - 1, "mem_index")
        md.add(self.mem_index == sum(i * u for i, u in enumerate(self.use_mem)))
        self.net_index = md.new_int_var(0, len(nets) - 1, "net_index")
        md.add(self.net_index == sum(i * u for i, u in enumerate(self.use_net)))

        # -- bandwidth, capacity, cost, power --------------------------------------------------
        bwc = space.bw_column
        self.bw_unit = bwc.unit                          # bytes/s per unit of B
        bmax = nmax * max(bwc.ints)
        check_bound("total memory bandwidth", bmax)
        self.B = md.new_int_var(0, bmax, "B")
        md.add(self.B == sum(w * x for w, x in zip(bwc.ints, self.nodes_mem)))

        node_cost = sum(m.cost_usd * x for m, x in zip(mems, self.nodes_mem))
        net_cost_terms, net_power_terms = [], []
        for n, u, y in zip(nets, self.use_net, self.nodes_net):
            beyond = None
            for t in n.terms:
                usd_each = physics.network_term_usd(t)
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
                top = -((-t.num * hi) // t.den)
                cnt = md.new_int_var(0, top, f"{t.label}[{n.label}]")
                md.add(t.den * cnt >= t.num * base)
                md.add(t.den * cnt <= t.num * base + t.den - 1)
                net_cost_terms.append((usd_each * t.mult, cnt, top))
                net_power_terms.append((t.w * t.mult, cnt, top))
        cmax = nmax * max(m.cost_usd for m in mems) + sum(c_ * top for c_, _, top in net_cost_terms)
        if c.budget_usd is not None and "budget" in groups:
            cmax = min(cmax, math.floor(exact(c.budget_usd)))
        check_bound("total cost", cmax)
        self.cost_max = max(cmax, 1)
        self.C = md.new_int_var(1, self.cost_max, "C")
        md.add(self.C == node_cost + sum(c_ * v for c_, v, _ in net_cost_terms))

        if "capacity" in groups:
            capc = scale_column([Fraction(m.capacity_bytes) for m in mems] + [Fraction(req.capacity_required_bytes)])
            need = capc.ints[-1]  # the requirement shares the column's unit, so this is exact
            check_linear("capacity", [(w, nmax) for w in capc.ints])
            md.add(sum(w * x for w, x in zip(capc.ints[:-1], self.nodes_mem)) >= need)

        if c.max_power_w is not None and "power" in groups:
            pw = [m.power_w for m in mems] + [w for w, _, _ in net_power_terms] + [exact(c.max_power_w)]
            pc = scale_column([abs(Fraction(v)) for v in pw])
            k = len(mems)
            mem_part = sum(pc.ints[i] * x for i, x in enumerate(self.nodes_mem))
            net_part = sum(pc.ints[k + i] * v for i, (_, v, _) in enumerate(net_power_terms))
            check_linear("power", [(w, nmax) for w in pc.ints[:k]] +
                         [(pc.ints[k + i], top) for i, (_, _, top) in enumerate(net_power_terms)])
            md.add(mem_part + net_part <= pc.ints[-1])

        # -- speed: memory-bound and communication-bound time per token ----------------------------
        r = req.min_tokens_per_s
        self.comm = {}
        if r > 0 and "speed" in groups:
            # r * (PP * W + M * KV) <= B_bytes = bw_unit * B
            cw, ck, cb = physics.speed_coefficients(req, self.bw_unit)
            check_linear("memory speed", [(cw, nmax), (ck, max(nmax, conc)), (cb, bmax)])
            md.add(cw * self.PP + ck * self.M <= cb * self.B)
            # per (network, TP): r * PP * t_comm <= PP  (picoseconds)
            for n, u in zip(nets, self.use_net):
                for t in tps:
                    cc = physics.comm_coefficients(n, t, req)
                    if n.tier is None and t > 1:
                        continue
                    co = [cc.ar - cc.hop, cc.ar_tok - cc.hop_tok, cc.hop, cc.hop_tok]
                    if not any(co):
                        continue
                    self.comm[(n.index, t)] = cc
                    lhs = [r.numerator * x for x in co]
                    right = r.denominator * PS_PER_S
                    check_linear("communication speed", [(lhs[0] - right, nmax), (lhs[1], max(nmax, conc)),
                                                         (lhs[2], nmax * nmax), (lhs[3], nmax * max(nmax, conc))])
                    md.add(lhs[0] * self.PP + lhs[1] * self.M + lhs[2] * self.PP2 + lhs[3] * self.PPM
                           <= right * self.PP).only_enforce_if(self._net_tp(n.index, t))

        # -- interconnect balance ---------------------------------------------------------------------
        bal = c.balance
        if "balance" in groups and bal.rule == "ratio":
            lcol = scale_column([n.node_link_bytes_per_s for n in nets] + [Fraction(m.bandwidth_bytes_per_s) for m in mems])
            link = sum(w * u for w, u in zip(lcol.ints[:len(nets)], self.use_net))
            mem_bw = lcol.ints[len(nets):]
            self.pp_multi = md.new_bool_var("pp_multi")
            md.add(self.PP >= 2).only_enforce_if(self.pp_multi)
            md.add(self.PP <= 1).only_enforce_if(~self.pp_multi)
            tp_multi = [self.use_tp[t] for t in tps if t > 1]
            for ratio, lits in ((exact(bal.tensor_parallel_ratio), tp_multi), (exact(bal.pipeline_parallel_ratio), [self.pp_multi])):
                if ratio == 0 or not lits:
                    continue
                rhs = [ratio * w for w in mem_bw]
                den = math.lcm(*(x.denominator for x in rhs))
                check_linear("balance", [(w * den, 1) for w in lcol.ints] + [(int(x * den), 1) for x in rhs])
                for lit in lits:
                    md.add(den * link >= sum(int(x * den) * u for x, u in zip(rhs, self.use_mem))).only_enforce_if(lit)
        if "balance" in groups and bal.rule == "comm_time":
            ratio = exact(bal.comm_time_ratio)
            ppc_max = 0
            exprs = {}
            for n in nets:
                for t in tps:
                    cc = physics.comm_coefficients(n, t, req)
                    exprs[(n.index, t)] = cc
                    ppc_max = max(ppc_max, int(cc.pp_comm_ps(nmax, max(nmax, conc))))
            check_bound("communication time", ppc_max)
            ppc = md.new_int_var(0, ppc_max, "PP_t_comm_ps")
            for n, u in zip(nets, self.use_net):
                for t in tps:
                    cc = exprs[(n.index, t)]
                    md.add(ppc == (cc.ar - cc.hop) * self.PP + (cc.ar_tok - cc.hop_tok) * self.M
                           + cc.hop * self.PP2 + cc.hop_tok * self.PPM).only_enforce_if(self._net_tp(n.index, t))
            for m, u in zip(mems, self.use_mem):
                for t in tps:
                    cw, ck = physics.comm_rule_coefficients(m, t, req, ratio)
                    check_linear("communication-time rule", [(cw, nmax), (ck, max(nmax, conc))])
                    md.add(ppc <= cw * self.PP + ck * self.M).only_enforce_if(self._mem_tp(m.index, t))

        # indicator of each medium, tier and topology, for architecture no-goods
        self.medium_lits = self._indicators([m.memory.name for m in mems], self.use_mem)
        self.tier_lits = self._indicators([n.tier.name if n.tier else "-" for n in nets], self.use_net)
        self.topo_lits = self._indicators([n.topology.name if n.topology else "-" for n in nets], self.use_net)

    # -- pair literals ------------------------------------------------------------------------------
    # A constraint that holds for one (network, TP) or (memory, TP) pair is enforced by one literal
    # that is exactly "both are chosen", linked by transportation equalities (sum over TP = the
    # network's literal, sum over networks = the TP literal).  CP-SAT 9.15 declared feasible models
    # INFEASIBLE when such constraints carried two enforcement literals instead (see the README).
    def _pair(self, cache: dict, key: tuple, family: list, index: int, t: int, name: str):
        if not cache:
            md = self.model
            for i, lit in enumerate(family):
                for tt in self.space.tps:
                    cache[(i, tt)] = md.new_bool_var(f"{name}[{i},{tt}]")
            for i, lit in enumerate(family):
                md.add(sum(cache[(i, tt)] for tt in self.space.tps) == lit)
            for tt, z in self.use_tp.items():
                md.add(sum(cache[(i, tt)] for i in range(len(family))) == z)
        return cache[key]

    def _net_tp(self, j: int, t: int):
        """Literal: network configuration j and TP degree t are both chosen."""
        return self._pair(self._net_tp_lits, (j, t), self.use_net, j, t, "use_net_tp")

    def _mem_tp(self, k: int, t: int):
        """Literal: memory configuration k and TP degree t are both chosen."""
        return self._pair(self._mem_tp_lits, (k, t), self.use_mem, k, t, "use_mem_tp")

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
        """No later design may share this design's memory medium, interconnect tier and topology."""
        lits = [self.medium_lits[design.mem.memory.name],
                self.tier_lits[design.net.tier.name if design.net.tier else "-"],
                self.topo_lits[design.net.topology.name if design.net.topology else "-"]]
        self.model.add_bool_or([~l for l in lits])

    def forbid_design(self, design: physics.Design) -> None:
        """No later design may equal this one in every decision."""
        md = self.model
        same_n = md.new_bool_var("")
        md.add(self.N == design.nodes).only_enforce_if(same_n)
        md.add(self.N != design.nodes).only_enforce_if(~same_n)
        md.add_bool_or([~self.use_mem[design.mem.index], ~self.use_net[design.net.index],
                        ~self.use_tp[design.tensor_parallel], ~same_n])

    def design_from(self, solver: cp_model.CpSolver) -> physics.Design:
        s = self.space
        k = next(i for i, u in enumerate(self.use_mem) if solver.boolean_value(u))
        j = next(i for i, u in enumerate(self.use_net) if solver.boolean_value(u))
        t = next(t for t, u in self.use_tp.items() if solver.boolean_value(u))
        return physics.Design(s.mems[k], s.nets[j], int(solver.value(self.N)), t)
