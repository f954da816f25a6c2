"""Solving: exact Dinkelbach iterations on the CP-SAT model, then the K best designs in order.

For a ratio B / C (memory bandwidth over cost), Dinkelbach's method solves
``max  den * B - num * C`` for lam = num/den, sets lam to the ratio of the design
found, and stops when the maximum is exactly 0 and CP-SAT proved it OPTIMAL:
then lam is the certified best ratio (``../shared/reference/cpsat.md``).  Ties at
that ratio are broken inside CP-SAT, lexicographically: lower cost, a TP group over
fewer scale-up domains, fewer pipeline stages, then catalog order of memory and network configuration.
The next rank forbids what made the previous design distinct (its medium,
tier and topology, or the whole design).  Every rank starts from an exact lower
bound: the best remaining design at each memory configuration's smallest
sufficient node count, which the oracle finds in milliseconds.
"""

from __future__ import annotations

import math
import os
import time
import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Optional

from .lazy_pandas import cp_model   # OR-Tools loads at first use (lazy_pandas)

from . import physics
from .errors import InfeasibleError, SolverError, UsageError
from .model import DesignModel
from .space import GROUPS, Space, build_space
from .enumeration import choose_engine, space_cells
from .oracle import enumerate_ranked, enumerate_top
from .physics import Check, Design, Metrics, Requirements
from .problem import DISTINCT, ENGINES
from .prune import live_pairs, pair_node_intervals
from .scaling import EXACT_OBJECTIVE, INT_LIMIT, check_bound, cost_hint, floor_fraction


@dataclass(frozen=True)
class RankedDesign:
    rank: int
    design: Design
    metrics: Metrics
    checks: tuple[Check, ...]
    binding: str
    proven: bool

    def __repr__(self) -> str:
        return f"RankedDesign(rank={self.rank}, {_short(self)[1:-1]}, binding={self.binding!r}, proven={self.proven})"


@dataclass(frozen=True)
class SolveResult:
    status: str                       # OPTIMAL (every rank proven) or FEASIBLE (a time limit stopped a proof)
    problem: object
    requirements: Requirements
    designs: tuple[RankedDesign, ...]
    bound_bytes_per_s_per_usd: Optional[Fraction]   # proven upper bound on the best ratio (bytes/s per USD)
    wall_time_s: float
    iterations: int                   # CP-SAT solves
    space: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    engine: str = "cp-sat"            # what proved the answer: cp-sat or enumeration (search.engine; enumeration.py)

    def to_records(self) -> list[dict]:
        """One flat dict per ranked design (the JSON report's design rows without their nested parts), SI units
        with the unit in each key: ready for ``pandas.DataFrame`` or ``csv.DictWriter``."""
        from .report import design_row   # the reports own the row format; JSON, tables and records share it
        basis = self.problem.cost.basis
        return [{**{k: v for k, v in design_row(rd).items() if not isinstance(v, (dict, list))},
                 "tb_per_s_per_million_usd": float(rd.metrics.bandwidth_per_dollar) * 1e6 / 1e12,
                 "cost_basis": basis} for rd in self.designs]

    def to_dataframe(self):
        """The ranked designs as a pandas DataFrame indexed by rank (needs pandas: pip install 'archsearch[frames]')."""
        try:
            import pandas as pd
        except ImportError:
            raise UsageError("to_dataframe needs pandas, which is not installed: pip install 'archsearch[frames]' "
                             "(or use to_records(), a list of dicts)") from None
        return pd.DataFrame.from_records(self.to_records(), index="rank")

    def __repr__(self) -> str:
        best = ""
        if self.designs:
            d = self.designs[0]
            best = f", best={_short(d)}"
        return (f"SolveResult(status={self.status!r}, problem={getattr(self.problem, 'name', '?')!r}, "
                f"designs={len(self.designs)}{best}, wall_time_s={self.wall_time_s:.2f})")


def _short(rd: "RankedDesign") -> str:
    d = rd.design
    tbps = float(rd.metrics.bandwidth_per_dollar) * 1e6 / 1e12
    net = f"{d.net.tier.name} {d.wiring.name}" if d.net.tier else "single node"
    return f"'{d.mem.label}, {d.nodes} nodes, {net}: {tbps:,.2f} TB/s per $M'"


#: CP-SAT parameters of every solve, chosen by measurement on every bundled problem (docs/benchmarks.md;
#: ``benchmarks/cpsat_parameters.py`` re-measures them).  None changes an answer: each solve is still proved.
#: Two-level spaces use them too: linearization level 1 had paid there until the ranking's cuts stated only the
#: node counts a network can take (``DesignModel.forbid_architecture``); since then level 0 is 10-35% faster on
#: the two-level benchmark (1,024-65,536 nodes) and on the bundled 405B and DeepSeek-V3 problems with two-level
#: networks at 128k-1M context, with the same top K.
CP_SAT_PARAMETERS = {
    "cp_model_probing_level": 0,   # 3-5x faster on models this size (cpsat.md 4)
    "cp_model_presolve": False,    # faster here, and away from presolve bug #5293 (docs/exact-search.md)
    "linearization_level": 0,      # with symmetry_level 0: 0.76-0.96x CPU time on 8 of 10 bundled problems,
    "symmetry_level": 0,           # 1.02-1.07x on the other two, same top K (docs/benchmarks.md)
}


class _Solver:
    """Runs CP-SAT solves with fixed settings against one deadline."""

    def __init__(self, workers: int, seed: int, time_limit_s: float, deadline: Optional[float] = None) -> None:
        self.workers, self.seed = workers, seed
        self.deadline = time.monotonic() + time_limit_s if deadline is None else deadline
        self.solves = 0
        self.hit_limit = False

    def run(self, model: cp_model.CpModel) -> tuple[int, cp_model.CpSolver]:
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.hit_limit = True
            return cp_model.UNKNOWN, cp_model.CpSolver()
        s = cp_model.CpSolver()
        s.parameters.num_workers = self.workers
        s.parameters.random_seed = self.seed
        for name, value in CP_SAT_PARAMETERS.items():
            setattr(s.parameters, name, value)
        s.parameters.max_time_in_seconds = left
        status = s.solve(model)
        self.solves += 1
        if status == cp_model.MODEL_INVALID:  # pragma: no cover - guarded by scaling checks
            why = (model.validate() or "MODEL_INVALID").strip().splitlines()[0][:200]  # its first line, not a model dump
            raise SolverError(f"CP-SAT rejected the model: {why}")
        if status not in (cp_model.OPTIMAL, cp_model.INFEASIBLE):
            self.hit_limit = True
        return status, s


def _design_at(dm: DesignModel, model: cp_model.CpModel, s: cp_model.CpSolver) -> Design:
    """The design of a solution of ``model`` (the model of ``dm`` or a clone of it)."""
    get = model.get_int_var_from_proto_index
    k, j = int(s.value(get(dm.mem_index.index))), int(s.value(get(dm.net_index.index)))
    n, pp = int(s.value(get(dm.N.index))), int(s.value(get(dm.PP.index)))
    backs = dm.space.backs
    b = backs[int(s.value(get(dm.back_index.index)))] if backs else None
    return Design(dm.mems[k], dm.nets[j], n, n // pp, b)


def _hint(dm: DesignModel, model: cp_model.CpModel, solution: Optional[list]) -> None:
    """Hint ``model`` (a clone of ``dm``'s) with a solution of an earlier clone: its values of ``dm``'s variables.
    A design found by the previous Dinkelbach step is feasible at the next lam, so CP-SAT starts from it and
    is left with the proof.  A hint changes no answer (each solve is still proved)."""
    if solution is None:
        return
    model.clear_hints()
    hint = model.proto.solution_hint
    hint.vars.extend(range(len(solution)))
    hint.values.extend(solution)


def _solution(dm: DesignModel, s: cp_model.CpSolver) -> list:
    """The values of ``dm``'s own variables in the solution of a clone of its model."""
    return list(s.response_proto.solution)[:len(dm.model.proto.variables)]


def _prune_below(dm: DesignModel, model: cp_model.CpModel, lam: Fraction) -> None:
    """Rule out memory configurations whose nodes alone (no network cost) fall below ratio lam.

    Implied by den*B - num*C >= 0, since a design's ratio is at most its node ratio; stating it
    spares CP-SAT the search.
    """
    for k, (w, m) in enumerate(zip(dm.bw_ints, dm.mems)):
        if lam.denominator * w < lam.numerator * dm.space.cost_units(m.cost_usd):
            model.add(model.get_bool_var_from_proto_index(dm.use_mem[k].index) == 0)
    if lam <= 0:
        return
    N = model.get_int_var_from_proto_index(dm.N.index)
    for k, j, intervals in pair_node_intervals(dm, lam):  # the same with each pair's network cost (prune.py)
        if intervals is None:
            continue
        lits = [model.get_bool_var_from_proto_index(dm.use_mem[k].index),
                model.get_bool_var_from_proto_index(dm.use_net[j].index)]
        if not intervals:
            model.add_bool_or([~l for l in lits])
        else:
            model.add_linear_expression_in_domain(N, cp_model.Domain.from_intervals(intervals)).only_enforce_if(lits)


def _best_ratio(dm: DesignModel, run: _Solver, lam: Fraction, hints: Optional[dict] = None
                ) -> tuple[Optional[Fraction], bool, Optional[Fraction], Optional[Design]]:
    """Dinkelbach from lam: (best ratio or None if infeasible, proven, upper bound, a design attaining it).

    Each step solves  max den*B - num*C  subject to  den*B - num*C >= 0  on a copy
    of the model: the constraint prunes every design below lam, so a good
    starting lam (a ratio some design attains) makes the proof short.  If no
    design reaches the starting lam, the search restarts from 0.
    """
    found: Optional[Fraction] = None
    incumbent: Optional[Design] = None
    hints = {} if hints is None else hints   # "last": the last solution found (the tie-break starts from it)
    lam = _fitting_lam(dm, lam, Fraction(-1))
    while True:
        check_bound("Dinkelbach objective", lam.denominator * _ub(dm.B) + lam.numerator * dm.cost_max,
                    cost_hint(dm.cost_unit))
        m = dm.model.clone()
        B = m.get_int_var_from_proto_index(dm.B.index)
        C = m.get_int_var_from_proto_index(dm.C.index)
        f_expr = lam.denominator * B - lam.numerator * C
        m.add(f_expr >= 0)
        _prune_below(dm, m, lam)
        m.maximize(f_expr)
        _hint(dm, m, hints.get("last"))
        status, s = run.run(m)
        if status == cp_model.INFEASIBLE:
            if found is not None:  # pragma: no cover - lam is attained by 'found', so this cannot happen
                raise SolverError("Dinkelbach step lost its own incumbent; please report this")
            if lam == 0:
                return None, True, None, None
            lam = Fraction(0)
            continue
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return found, False, None, incumbent
        b, c = s.value(B), s.value(C)
        f = lam.denominator * b - lam.numerator * c
        design = _design_at(dm, m, s)
        hints["last"] = _solution(dm, s)
        if status == cp_model.OPTIMAL and f == 0:
            return lam, True, lam, design
        ratio = Fraction(b, c)
        if status == cp_model.FEASIBLE:
            # time limit: den*B - num*C <= F_bound for every design, and C >= 1, so B/C <= lam + F_bound/den
            bound = lam + Fraction(max(0, math.ceil(s.best_objective_bound)), lam.denominator)
            if found is None or ratio > found:
                found, incumbent = ratio, design
            return found, False, max(bound, found), incumbent
        if found is None or ratio > found:
            found, incumbent = ratio, design
        lam = _fitting_lam(dm, ratio, lam)


def _fitting_lam(dm: DesignModel, ratio: Fraction, above: Fraction) -> Fraction:
    """The next Dinkelbach lam: ``ratio`` itself when its objective den*B - num*C fits CP-SAT's integers, else
    the largest fraction <= ratio that fits (exact costs in fine units can give a large design's ratio a huge
    denominator).  Any lam in (above, ratio] keeps the method exact: the search still only stops when the
    maximum is 0, where lam is a ratio some design attains.  Raises the overflow error when none exceeds ``above``.
    """
    b_max, c_max = _ub(dm.B), dm.cost_max
    magnitude = ratio.denominator * b_max + ratio.numerator * c_max
    if magnitude < INT_LIMIT:
        return ratio
    lower = floor_fraction(ratio, max(1, math.floor((INT_LIMIT - 1) / (b_max + ratio * c_max))))
    if lower <= above:
        check_bound("Dinkelbach objective", magnitude, cost_hint(dm.cost_unit))
    return lower


def _ub(var: cp_model.IntVar) -> int:
    domain = var.proto.domain   # a pybind list in 9.15: index -1 gives element 0, not the last
    return int(domain[len(domain) - 1])


def lex_cheapest(dm: DesignModel, model: cp_model.CpModel, run: _Solver) -> tuple[int, cp_model.CpSolver, bool]:
    """Minimise (cost, domains per TP group, PP, memory, network, backing index) lexicographically over
    ``model`` (``dm``'s model or a clone of it): (status, solver, proven).

    One solve with the key folded into one integer objective when it stays below 2^53 (``EXACT_OBJECTIVE``:
    CP-SAT's optimality test compares doubles), else two (lowest cost first, then the rest at that cost); a
    lowest cost of 2^53 units or more is confirmed by showing that no cheaper design exists.
    """
    get = model.get_int_var_from_proto_index
    C, PP = get(dm.C.index), get(dm.PP.index)
    mi, ni, bi = get(dm.mem_index.index), get(dm.net_index.index), get(dm.back_index.index)
    n_mem, n_net, n_back, nmax = len(dm.mems), len(dm.nets), max(1, len(dm.space.backs)), dm.space.max_nodes
    s2 = n_mem * n_net * n_back
    s_pp = (nmax + 1) * s2
    wide = max((k for k, _ in dm.span_terms), default=0)   # TP groups spanning k + 1 domains (physics.tp_group_domains)
    s1 = (wide + 1) * s_pp
    span = sum(k * model.get_bool_var_from_proto_index(lit.index) for k, lit in dm.span_terms)
    rest = span * s_pp + PP * s2 + mi * n_net * n_back + ni * n_back + bi
    if dm.cost_max * s1 + wide * s_pp + nmax * s2 + s2 < EXACT_OBJECTIVE:
        model.minimize(C * s1 + rest)
        status, s = run.run(model)
        return status, s, status == cp_model.OPTIMAL
    model.minimize(C)
    status, s = run.run(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return status, s, False
    first_proven = status == cp_model.OPTIMAL
    cheapest = s.value(C)
    while first_proven and cheapest >= EXACT_OBJECTIVE:   # a feasibility solve, no objective: exact
        check = model.clone()
        check.clear_objective()
        check.add(check.get_int_var_from_proto_index(dm.C.index) <= cheapest - 1)
        found, sc = run.run(check)
        if found == cp_model.INFEASIBLE:
            break
        if found not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            first_proven = False
            break
        cheapest = sc.value(check.get_int_var_from_proto_index(dm.C.index))
    model.add(C == cheapest)
    model.minimize(rest)
    status, s = run.run(model)
    return status, s, first_proven and status == cp_model.OPTIMAL


def _tie_break(dm: DesignModel, run: _Solver, lam: Fraction, hint: Optional[list] = None
               ) -> tuple[Optional[Design], bool]:
    """Among designs with ratio >= lam, the one with the lowest (cost, domains per TP group, PP, memory, network,
    backing index)."""
    clone = dm.model.clone()
    _hint(dm, clone, hint)
    get = clone.get_int_var_from_proto_index
    B, C = get(dm.B.index), get(dm.C.index)
    clone.add(lam.denominator * B - lam.numerator * C >= 0)
    _prune_below(dm, clone, lam)
    status, s, proven = lex_cheapest(dm, clone, run)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, False
    return _design_at(dm, clone, s), proven


def _siblings(dm: DesignModel, design: Design) -> tuple[Design, ...]:
    """``design`` with each other network configuration of its tier in the model (same nodes, TP, backing)."""
    return tuple(Design(design.mem, n, design.nodes, design.tensor_parallel, design.backing)
                 for n in dm.nets if n.tier_key == design.net.tier_key and n.index != design.net.index)


def _carry_over(space: Space, designs: tuple[Design, ...]) -> list:
    """Designs of a neighbouring problem, rebuilt in this space and kept if feasible here (warm start)."""
    from .oracle import Candidate
    mems = {(m.node.name, m.memory.name, m.units): m for m in space.mems}
    nets = {n.key: n for n in space.nets}
    backs = {b.memory.name: b for b in space.backs}
    out = []
    for d in designs:
        back = backs.get(d.backing.memory.name) if d.backing else None
        if (back is None) != (not space.backs):
            continue
        mc = mems.get((d.mem.node.name, d.mem.memory.name, d.mem.units))
        nc = nets.get(d.net.key)
        if mc is None or nc is None or d.tensor_parallel not in space.tps or not nc.n_min <= d.nodes <= nc.n_max:
            continue
        here = Design(mc, nc, d.nodes, d.tensor_parallel, back)
        if physics.compatible(mc, nc) and all(c.ok for c in physics.checks(here, space.req, space.problem)):
            b = d.nodes * space.bw_column.ints[mc.index]
            out.append(Candidate(here, b, space.cost_units(physics.evaluate(here, space.req, space.problem).cost_usd)))
    return out


def swap_variant(problem, mode: str):
    """The problem with its KV swapping in one mode (``swap`` or ``recompute``)."""
    w = problem.workload
    return dataclasses.replace(problem, workload=dataclasses.replace(
        w, kv_swap=dataclasses.replace(w.kv_swap, mode=mode)))


def _rank_key(rd: RankedDesign):
    d = rd.design
    return (-rd.metrics.bandwidth_per_dollar, rd.metrics.cost_usd) + d.tie_key()


def solve(problem, *, top_k: Optional[int] = None, distinct: Optional[str] = None,
          workers: Optional[int] = None, time_limit_s: Optional[float] = None, seed: Optional[int] = None,
          start: str = "quick", warm: tuple[Design, ...] = (), engine: Optional[str] = None) -> SolveResult:
    """Rank the top K designs of ``problem`` by memory bandwidth per dollar, exactly (see ``solve_one``).

    ``problem``: a ``Problem``, or a problem file's path or a bundled problem's name.  Keywords left
    as None take the problem's ``search`` settings.  ``time_limit_s`` bounds the whole call: when it
    runs out the result is FEASIBLE and the ranks not proven say so (``RankedDesign.proven``).

    With KV swapping in mode ``best``, each design either swaps its parked KV through a backing tier or
    recomputes it: the two modes are solved apart and their rankings merged, which is exact because a
    design's best is the better of its two modes and each ranking holds the top K of its mode.
    """
    if isinstance(problem, (str, os.PathLike)):
        from .problem import load_problem
        problem = load_problem(problem)
    for key, value in (("top_k", top_k), ("workers", workers)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise UsageError(f"{key}: expected a whole number >= 1, found {value!r}")
    if time_limit_s is not None and not time_limit_s > 0:
        raise UsageError(f"time_limit_s: expected a number of seconds > 0, found {time_limit_s!r}")
    if distinct is not None and distinct not in DISTINCT:
        raise UsageError(f"distinct: expected one of {', '.join(DISTINCT)}, found {distinct!r}")
    if engine is not None and engine not in ENGINES:
        raise UsageError(f"engine: expected one of {', '.join(ENGINES)}, found {engine!r}")
    started = time.monotonic()
    limit = time_limit_s or problem.search.time_limit_s
    kw = dict(top_k=top_k, distinct=distinct, workers=workers, seed=seed, start=start, warm=warm,
              deadline=started + limit, engine=engine)
    ks = problem.workload.kv_swap
    if ks is None or ks.mode != "best":
        return solve_one(problem, time_limit_s=limit, **kw)
    results, why = [], []
    for mode in ("swap", "recompute"):
        try:
            results.append(solve_one(swap_variant(problem, mode), time_limit_s=limit, **kw))
        except InfeasibleError as exc:
            why.append((f"{mode}: {exc}", getattr(exc, "engine", "cp-sat")))
    if not results:
        exc = InfeasibleError("; ".join(text for text, _ in why))
        exc.engine = " + ".join(dict.fromkeys(e for _, e in why))   # the engines that proved it
        raise exc
    first = results[0]
    distinct = first.settings["distinct"]
    top_k = first.settings["top_k"]
    merged: dict = {}
    for rd in sorted((rd for r in results for rd in r.designs), key=_rank_key):
        merged.setdefault(rd.design.distinct_key(distinct), rd)
    designs = tuple(dataclasses.replace(rd, rank=i + 1) for i, rd in enumerate(list(merged.values())[:top_k]))
    bounds = [r.bound_bytes_per_s_per_usd for r in results]
    return SolveResult(
        status="OPTIMAL" if all(r.status == "OPTIMAL" for r in results) else "FEASIBLE",
        problem=problem, requirements=first.requirements, designs=designs,
        bound_bytes_per_s_per_usd=max(bounds) if None not in bounds else None,
        wall_time_s=time.monotonic() - started, iterations=sum(r.iterations for r in results),
        space=first.space, settings=first.settings, engine=" + ".join(dict.fromkeys(r.engine for r in results)))


def solve_one(problem, *, top_k: Optional[int] = None, distinct: Optional[str] = None,
              time_limit_s: Optional[float] = None, workers: Optional[int] = None,
              seed: Optional[int] = None, start: str = "quick", warm: tuple[Design, ...] = (),
              deadline: Optional[float] = None, engine: Optional[str] = None) -> SolveResult:
    """Rank the top K designs of ``problem`` by memory bandwidth per dollar, exactly.

    ``start``: ``quick`` starts every rank's Dinkelbach iterations from exact lower bounds (the oracle's
    best designs at each configuration's smallest sufficient node count); ``zero`` starts from 0, the
    textbook method (a cold start, for benchmarks).  ``warm``: designs of a neighbouring problem (a sweep's
    previous point); those still feasible here are further lower bounds.  Neither changes the answer.
    ``engine``: ``cp-sat``, ``enumeration`` or ``auto`` (default: ``search.engine``; ``enumeration.py``).
    ``deadline``: a ``time.monotonic()`` instant the whole call must end by (default: start + the limit).
    """
    started = time.monotonic()
    search = problem.search
    top_k = top_k or search.top_k
    distinct = distinct or search.distinct
    workers = workers or search.workers
    seed = search.seed if seed is None else seed
    limit = time_limit_s or search.time_limit_s
    space = build_space(problem)
    if not space.mems:
        raise InfeasibleError("infeasible: no (node, memory, units) combination to search: the catalog's node "
                              "and memory entries, their unit ranges and search.include leave none")
    settings = {"top_k": top_k, "distinct": distinct, "workers": workers, "seed": seed, "time_limit_s": limit,
                "engine_setting": engine or search.engine}
    if choose_engine(space, settings["engine_setting"]) == "enumeration":
        return _solve_enumerated(space, top_k, distinct, started,
                                 started + limit if deadline is None else deadline, settings, warm)
    run = _Solver(workers, seed, limit, deadline)

    ranked: list[RankedDesign] = []
    # exact lower bounds from designs at each configuration's smallest sufficient N: Dinkelbach starts close
    # (with the enumeration's floor at the K-th best key: a configuration that cannot reach it gives no bound needed)
    quick = enumerate_ranked(space, len(space.mems) * len(space.nets), distinct, quick=True,
                             floor_k=top_k)[0] if start == "quick" else []
    if warm:
        quick = sorted(quick + _carry_over(space, warm), key=lambda c: c.sort_key())
    all_proven = True
    bound: Optional[Fraction] = None
    taken: set = set()
    # the time limit bounds the whole call: past it already, the model is not built and the known
    # feasible designs stand, unproven
    # pairs that cannot reach the K-th known ratio are left out of the model (exact: prune.py)
    live = live_pairs(space, quick, top_k, distinct, GROUPS) if quick else None
    dm = DesignModel(space, live=live) if time.monotonic() < run.deadline else None
    run.hit_limit = run.hit_limit or dm is None
    while dm is not None and len(ranked) < top_k:
        fallback = next((q for q in quick if q.design.distinct_key(distinct) not in taken), None)
        lam = Fraction(fallback.bandwidth_units, fallback.cost_units) if fallback else Fraction(0)
        hints: dict = {}
        best, proven, ub, design = _best_ratio(dm, run, lam, hints)
        if best is None and not run.hit_limit:
            if not ranked:
                exc = InfeasibleError(_explain(space, run))
                exc.engine = "cp-sat"
                raise exc
            break  # every remaining design is forbidden or infeasible
        if not ranked and ub is not None:
            bound = ub * dm.bw_unit / dm.cost_unit
        if best is not None:
            tied, tb_proven = _tie_break(dm, run, best, hints.get("last"))
            proven = proven and tb_proven
            design = tied or design
        if design is None and fallback is not None:
            design, proven = fallback.design, False  # the time limit came first: a known feasible design
        if design is None:
            if not ranked:
                raise SolverError(f"time limit of {limit:g} s reached before any design was found; "
                                  "raise search.time_limit_s")
            all_proven = False
            break
        all_proven = all_proven and proven
        met = physics.evaluate(design, space.req, problem)
        chk = tuple(physics.checks(design, space.req, problem))
        broken = [c.name for c in chk if not c.ok]
        if broken:  # the exact re-check of every winner (cpsat.md 6)
            raise SolverError(f"CP-SAT returned a design that breaks {', '.join(broken)} on exact re-check: "
                              f"{design.mem.label}, {design.net.label}, {design.nodes} nodes; please report this")
        ranked.append(RankedDesign(len(ranked) + 1, design, met, chk, physics.binding(list(chk)), proven))
        if distinct == "architecture":
            dm.forbid_architecture(design)
        elif distinct == "medium":
            dm.forbid_medium(design)
        else:
            dm.forbid_design(design)
        taken.add(design.distinct_key(distinct))
        if not proven:
            break
        if start == "quick":   # the design on the other topologies of its tier: lower bounds for the next ranks
            quick = sorted(quick + _carry_over(space, _siblings(dm, design)), key=lambda c: c.sort_key())
    if run.hit_limit:  # the time limit came first: the remaining ranks from the known feasible designs, unproven
        for q in quick:
            if len(ranked) >= top_k:
                break
            if q.design.distinct_key(distinct) not in taken:
                taken.add(q.design.distinct_key(distinct))
                chk = tuple(physics.checks(q.design, space.req, problem))
                ranked.append(RankedDesign(len(ranked) + 1, q.design, physics.evaluate(q.design, space.req, problem),
                                           chk, physics.binding(list(chk)), False))
        if not ranked:
            raise SolverError(f"time limit of {limit:g} s reached before any design was found; "
                              "raise search.time_limit_s")
        all_proven = False
    return SolveResult(
        status="OPTIMAL" if all_proven and not run.hit_limit else "FEASIBLE",
        problem=problem, requirements=space.req, designs=tuple(ranked), bound_bytes_per_s_per_usd=bound,
        wall_time_s=time.monotonic() - started, iterations=run.solves,
        space=_space_summary(space),
        settings=settings,
    )


def _space_summary(space: Space) -> dict:
    return {"memory_configs": len(space.mems), "network_configs": len(space.nets),
            "tensor_parallel_degrees": list(space.tps), "max_nodes": space.max_nodes, "cells": space_cells(space)}


def _solve_enumerated(space: Space, top_k: int, distinct: str, started: float, deadline: float,
                      settings: dict, warm: tuple[Design, ...] = ()) -> SolveResult:
    """The top K of ``space`` by exhaustive enumeration (``oracle.enumerate_ranked``): OPTIMAL, proved by
    exhaustion, with the same ranks, bound and checks as the CP-SAT path; FEASIBLE with every rank unproven
    when the time limit stopped it before every cell was evaluated.  ``warm``: as for ``solve_one``."""
    problem = space.problem
    # a warm start's designs still feasible here raise the enumeration's floor from the start
    found, complete = enumerate_ranked(space, top_k, distinct, deadline=deadline,
                                       known=_carry_over(space, warm) if warm else ())
    if not complete and len(found) < top_k:   # cut short: the quick lower bounds fill the ranks, as for CP-SAT
        quick = enumerate_top(space, len(space.mems) * len(space.nets), distinct, quick=True)
        best: dict = {}
        for c in sorted(quick + found, key=lambda c: c.sort_key()):
            best.setdefault(c.design.distinct_key(distinct), c)
        found = list(best.values())[:top_k]
    if not found and complete:
        exc = InfeasibleError(_explain(space, _Solver(settings["workers"], settings["seed"],
                                                                 settings["time_limit_s"])))
        exc.engine = "enumeration"
        raise exc
    if not found:
        raise SolverError(f"time limit of {settings['time_limit_s']:g} s reached before any design was found; "
                          "raise search.time_limit_s")
    ranked = []
    for c in found:
        chk = tuple(physics.checks(c.design, space.req, problem))
        broken = [x.name for x in chk if not x.ok]
        if broken:  # the exact re-check of every winner, as on the CP-SAT path
            raise SolverError(f"enumeration returned a design that breaks {', '.join(broken)} on exact re-check: "
                              f"{c.design.mem.label}, {c.design.net.label}, {c.design.nodes} nodes; please report this")
        ranked.append(RankedDesign(len(ranked) + 1, c.design, physics.evaluate(c.design, space.req, problem), chk,
                                   physics.binding(list(chk)), complete))
    return SolveResult(
        status="OPTIMAL" if complete else "FEASIBLE", problem=problem, requirements=space.req,
        designs=tuple(ranked),
        # exhaustion proves the best ratio: the bound is attained by rank 1 (unknown when cut short)
        bound_bytes_per_s_per_usd=ranked[0].metrics.bandwidth_per_dollar if complete else None,
        wall_time_s=time.monotonic() - started, iterations=0, space=_space_summary(space), settings=settings,
        engine="enumeration")


def _explain(space: Space, run: _Solver) -> str:
    from .diagnose import explain_infeasible   # imported on failure only
    return explain_infeasible(space, run)
