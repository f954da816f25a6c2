"""Split prefill and decode pools (``solve --disaggregate``) against the best homogeneous design.

* decode pool: one of the top K designs of the problem without prefill (no amortised prompt FLOPs,
  no TTFT limit), ranked by memory bandwidth per dollar exactly as ``solve`` does; each completes
  lambda = (its system tokens/s) / O requests per second (O output tokens each), and the split
  kept is the one with the lowest cost per million tokens;
* prefill pool, sized for the same request rate: the cheapest design (exact CP-SAT minimum, ties
  broken by PP, memory and network order) that holds the weights and one prompt's KV, meets the TTFT
  limit and the balance rule, and prefills lambda prompts per second.  Prompts go stage by stage, one
  per stage at a time, so each of a prompt's three times (TTFT's compute, weight reads and
  communication) spread over PP stages must fit in 1 / lambda:
  lambda x prompt FLOPs / efficiency <= N x node FLOP/s,  lambda x W(L) <= N x node bandwidth,
  lambda x prompt communication <= PP; under the calibrated speed model (the default) one prompt's
  calibrated TTFT must fit: lambda x TTFT <= PP, TTFT = max(FLOPs / (TP x calibrated prefill FLOP/s),
  W(L) / (TP x streaming bandwidth)) + the prompt's communication + layers x per-layer time
  (``physics.prefill_rate_matrix``: it implies the communication limit, and the FLOP/s and weight-read
  rows stay as the relaxation they are);
* KV link: lambda x one prompt's KV per second from pool to pool, over the interconnect tier
  (any tier not tied to a node type) whose optical links carry it for the least money.  A prompt's
  KV crossing it adds to its TTFT.

The prefill pool is searched within what the decode pool and the link leave of the budget, the power
limit and the TTFT limit (less the KV transfer), so the split as a whole meets them; each pool keeps
within max_nodes.  Under KV recompute the prefill pool prefills the whole context (the first token
waits for the history too) and ships its KV; under mode best the decode pool swaps.

The split is compared with the best homogeneous design (``solve`` with prefill amortised into
decode) on cost per million output tokens: capital cost / (tokens per second x
``cost.amortisation_years``), each at its own tokens per second.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional

from .lazy_pandas import cp_model   # OR-Tools loads at first use (lazy_pandas)

from . import physics
from .catalog import Interconnect
from .errors import InfeasibleError, SolverError, UsageError
from .model import DesignModel
from .space import build_space
from .scaling import check_linear
from .solve import RankedDesign, SolveResult, _Solver, _design_at, lex_cheapest, solve
from .units import PS_PER_S, exact, gb_per_s_to_bytes_per_s, usd_per_million_tokens


@dataclass(frozen=True)
class KvLink:
    tier: Interconnect
    links: int
    cost_usd: Fraction
    bytes_per_s: Fraction           # the KV stream it must carry


@dataclass(frozen=True)
class Split:
    request_rate: Fraction          # requests per second the decode pool completes, and the prefill pool feeds
    homogeneous: Optional[SolveResult]
    homogeneous_tokens_per_s: Optional[Fraction]
    homogeneous_usd_per_mtok: Optional[Fraction]
    homogeneous_infeasible: Optional[str]
    prefill: RankedDesign
    prefill_problem: object
    prefill_prompts_per_s: Fraction
    prefill_proven: bool
    decode: SolveResult
    decode_rank: int                # which of the decode ranking's designs the split uses
    link: KvLink
    tokens_per_s: Fraction
    cost_usd: Fraction
    usd_per_mtok: Fraction
    ttft_s: Fraction                # the prefill pool's TTFT plus the prompt's KV crossing the link
    power_w: Fraction

    @property
    def winner(self) -> str:
        if self.homogeneous_usd_per_mtok is None or self.usd_per_mtok < self.homogeneous_usd_per_mtok:
            return "split"
        return "homogeneous" if self.usd_per_mtok > self.homogeneous_usd_per_mtok else "tie"

    @property
    def factor(self) -> Optional[float]:
        """How many times cheaper per million tokens the winner is (None without a homogeneous design)."""
        if self.homogeneous_usd_per_mtok is None:
            return None
        a, b = self.usd_per_mtok, self.homogeneous_usd_per_mtok
        return float(max(a, b) / min(a, b))


def _recompute(problem) -> bool:
    ks = problem.workload.kv_swap
    return ks is not None and ks.mode == "recompute"


def decode_problem(problem):
    """The problem without prefill: the decode pool's prompts arrive prefilled.  Under KV recompute the
    prefill pool also recomputes the history (it owns everything a first token waits for), so the decode
    pool neither swaps nor recomputes; under mode best the decode pool swaps."""
    w = problem.workload
    ks = w.kv_swap
    if ks is not None:
        ks = None if ks.mode == "recompute" else dataclasses.replace(ks, mode="swap")
    return dataclasses.replace(
        problem, workload=dataclasses.replace(w, prefill_here=False, kv_swap=ks),
        constraints=dataclasses.replace(problem.constraints, max_ttft_ms=None))


def prefill_tokens(problem) -> int:
    """Tokens the prefill pool prefills per request: the prompt, or under KV recompute the whole context."""
    w = problem.workload
    return w.context_length if _recompute(problem) else w.prompt_tokens


def prefill_problem(problem, budget_usd=None, max_power_w=None, max_ttft_ms=None):
    """One prompt at a time: the weights and one prompt's KV held, no decode speed target, and the limits
    left for the pool once the decode pool and the link have taken their share (None: the problem's)."""
    w, c = problem.workload, problem.constraints
    n = prefill_tokens(problem)
    return dataclasses.replace(
        problem,
        workload=dataclasses.replace(w, context_length=n, prompt_tokens=n, concurrency=1,
                                     min_decode_tokens_per_s_per_user=0, speculative=None, kv_swap=None,
                                     kv_read_fraction=1.0),
        constraints=dataclasses.replace(
            c, budget_usd=c.budget_usd if budget_usd is None else budget_usd,
            max_power_w=c.max_power_w if max_power_w is None else max_power_w,
            max_ttft_ms=c.max_ttft_ms if max_ttft_ms is None else max_ttft_ms))


def prefill_flops_needed(pp_problem, rate: Fraction) -> Fraction:
    """Peak FLOP/s a prefill pool needs for ``rate`` prompts per second: rate x prompt FLOPs / efficiency."""
    req = physics.requirements(pp_problem)
    return rate * req.prefill_flops / req.prefill_efficiency


def prefill_bandwidth_units(pp_problem, rate: Fraction, space) -> int:
    """B (in the space's bandwidth unit) a pool needs to read the weights once per prompt: rate x W(L)."""
    req = physics.requirements(pp_problem)
    return math.ceil(rate * req.prefill_weight_bytes / space.bw_column.unit)


def prefill_comm_mask(rate: Fraction, cc: physics.CommCoefficients, req, pp):
    """PP values at which a prompt's communication, spread over PP stages, fits in 1 / rate."""
    return physics.prompt_comm_mask(cc, req.prompt_tokens, pp, rate, 0, PS_PER_S)


def prefill_capacity(design: physics.Design, req, pp_problem) -> Fraction:
    """Prompts per second a pool sustains: the least of its FLOP/s, weight-read and communication limits
    (at peak: the roofline), and under the calibrated model PP / its calibrated TTFT (one prompt per stage)."""
    cc = physics.base_comm(design.net, design.tensor_parallel, req, pp_problem, nodes=design.nodes)
    pp = design.pipeline_parallel
    if req.calibrated:
        import numpy as np
        ps = int(physics.ttft_ps(req, cc, [physics.node_terms(req, design.mem)], design.tensor_parallel,
                                 np.array([pp], dtype=np.int64))[0, 0])
        return Fraction(pp * PS_PER_S, ps)
    limits = [Fraction(design.nodes * design.mem.compute_flops) * req.prefill_efficiency / req.prefill_flops,
              Fraction(design.nodes * design.mem.bandwidth_bytes_per_s, req.prefill_weight_bytes)]
    comm = cc.prompt_ps(design.pipeline_parallel, req.prompt_tokens)
    if comm:
        limits.append(Fraction(design.pipeline_parallel * PS_PER_S, comm))
    return min(limits)


def cheapest_prefill_pool(pp_problem, rate: Fraction, run: _Solver) -> tuple[physics.Design, bool]:
    """The cheapest prefill pool for ``pp_problem`` (``prefill_problem``), exactly: (design, proven)."""
    space = build_space(pp_problem)
    if not space.mems:
        raise InfeasibleError("infeasible: no (node, memory, units) combination for the prefill pool")
    req = space.req
    # the calibrated prompt time (efficiency, per-layer time, communication, as TTFT) per node class; it implies
    # the communication rows below, which only the roofline states
    timed = ((lambda n, t, cls, pp: physics.prefill_rate_matrix_at(req, n, t, pp_problem, cls, pp, rate)),) \
        if req.calibrated else ()
    dm = DesignModel(space, class_limits=timed)
    md = dm.model
    fcol = space.flops_column
    need = math.ceil(prefill_flops_needed(pp_problem, rate) / fcol.unit)
    check_linear("prefill throughput", [(w, space.max_nodes) for w in fcol.ints] + [(need, 1)])
    md.add(sum(w * x for w, x in zip(fcol.ints, dm.nodes_mem)) >= need)
    md.add(dm.B >= prefill_bandwidth_units(pp_problem, rate, space))
    for n in space.nets if not req.calibrated else ():
        for t in space.tps:
            pp = dm._pp_range(n, t)
            if pp is not None:
                dm._allow_pp(dm._net_tp(n.index, t), pp, physics.machine_mask(
                    n, t, pp, lambda nodes, v, n=n, t=t: prefill_comm_mask(
                        rate, physics.base_comm(n, t, req, pp_problem, nodes=nodes), req, v)))
    nmax = space.max_nodes
    status, s, proven = lex_cheapest(dm, md, run)
    if status == cp_model.INFEASIBLE:
        c = pp_problem.constraints
        left = [f"max_nodes {nmax}"] + ([f"${float(c.budget_usd):,.0f} of budget"] if c.budget_usd is not None else []) \
            + ([f"{float(c.max_power_w) / 1e3:,.1f} kW of power"] if c.max_power_w is not None else []) \
            + ([f"a {float(c.max_ttft_ms):,.1f} ms TTFT"] if c.max_ttft_ms is not None else [])
        raise InfeasibleError(f"no prefill pool holds the weights and prefills {float(rate):,.2f} prompts/s "
                              f"within {', '.join(left)} (what the decode pool and the KV link leave)")
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise SolverError("time limit reached before a prefill pool was found; raise search.time_limit_s")
    return _design_at(dm, md, s), proven


def kv_link(problem, bytes_per_s: Fraction) -> KvLink:
    """The tier whose optical links carry the KV stream between the pools for the least money."""
    best = None
    for tier in problem.catalog.interconnects.values():
        if tier.node_types is not None:
            continue  # tied to one kind of node: not a general data-centre link
        bw = gb_per_s_to_bytes_per_s(tier.link_bandwidth_gb_per_s)
        links = max(1, math.ceil(bytes_per_s / bw))
        each = (2 * exact(tier.port_cost_usd) + exact(tier.optics_cost_usd)) * physics.basis_factor(
            tier.cost_basis, problem.cost)
        cand = KvLink(tier, links, each * links, bytes_per_s)   # exact, as every cost (physics.costs)
        if best is None or (cand.cost_usd, tier.name) < (best.cost_usd, best.tier.name):
            best = cand
    if best is None:
        raise InfeasibleError("infeasible: the catalog has no interconnect tier open to every node type to carry "
                              "the KV between the pools")
    return best


def disaggregate(problem, *, top_k: int = 5, distinct: Optional[str] = None,
                 progress: Optional[Callable[[str], None]] = None) -> Split:
    """The split with the lowest cost per million tokens over the top ``top_k`` decode pools.

    ``progress(message)``, if given, is told what each stage is about to solve (the CLI shows it).
    """
    step = progress or (lambda message: None)
    w = problem.workload
    if not w.prompt_tokens:
        raise UsageError("--disaggregate: the problem has no prefill; set workload.prompt_tokens")
    years = problem.cost.amortisation_years
    homo, homo_tps, homo_cost, homo_why = None, None, None, None
    try:
        step("the best single (homogeneous) design")
        homo = solve(problem, top_k=1)
        best = homo.designs[0]
        homo_tps = best.metrics.system_tokens_per_s
        homo_cost = usd_per_million_tokens(best.metrics.cost_usd, homo_tps, years)
    except InfeasibleError as exc:
        homo_why = str(exc)
    step(f"the top {top_k} decode pools")
    decode = solve(decode_problem(problem), top_k=top_k, distinct=distinct)
    run = _Solver(problem.search.workers, problem.search.seed, problem.search.time_limit_s)
    c = problem.constraints
    kv_first = physics.requirements(problem).kv_bytes_per_token * prefill_tokens(problem)
    best_split: Optional[Split] = None
    reasons: list[str] = []
    for rd in decode.designs:
        lam = rd.metrics.system_tokens_per_s / w.output_tokens_per_request
        link = kv_link(problem, lam * kv_first)
        transfer = Fraction(kv_first) / (link.links * gb_per_s_to_bytes_per_s(link.tier.link_bandwidth_gb_per_s))
        # the limits the prefill pool may use: what the decode pool and the link leave of the problem's
        budget = exact(c.budget_usd) - rd.metrics.cost_usd - link.cost_usd if c.budget_usd is not None else None
        power = exact(c.max_power_w) - rd.metrics.power_w if c.max_power_w is not None else None
        ttft = exact(c.max_ttft_ms) - transfer * 1000 if c.max_ttft_ms is not None else None
        short = [name for name, left in (("budget", budget), ("power", power), ("TTFT", ttft))
                 if left is not None and left <= 0]
        if short:
            reasons.append(f"#{rd.rank}: the decode pool and the KV link alone use up the {', '.join(short)}")
            continue
        pp_problem = prefill_problem(problem, budget, power, ttft)
        step(f"the cheapest prefill pool for decode pool #{rd.rank} of {len(decode.designs)}")
        try:
            design, proven = cheapest_prefill_pool(pp_problem, lam, run)
        except InfeasibleError as exc:
            reasons.append(f"#{rd.rank}: {exc}")
            continue
        req = physics.requirements(pp_problem)
        chk = tuple(physics.checks(design, req, pp_problem))
        prefill = RankedDesign(1, design, physics.evaluate(design, req, pp_problem), chk,
                               physics.binding(list(chk)), proven)
        tokens = rd.metrics.system_tokens_per_s  # the prefill pool keeps up by construction
        cost = prefill.metrics.cost_usd + rd.metrics.cost_usd + link.cost_usd
        cand = Split(request_rate=lam, homogeneous=homo, homogeneous_tokens_per_s=homo_tps,
                     homogeneous_usd_per_mtok=homo_cost, homogeneous_infeasible=homo_why, prefill=prefill,
                     prefill_problem=pp_problem, prefill_prompts_per_s=prefill_capacity(design, req, pp_problem),
                     prefill_proven=proven, decode=decode, decode_rank=rd.rank, link=link, tokens_per_s=tokens,
                     cost_usd=cost, usd_per_mtok=usd_per_million_tokens(cost, tokens, years),
                     ttft_s=prefill.metrics.ttft_s + transfer, power_w=prefill.metrics.power_w + rd.metrics.power_w)
        if best_split is None or cand.usd_per_mtok < best_split.usd_per_mtok:
            best_split = cand
    if best_split is None:
        raise InfeasibleError("infeasible: no split of prefill and decode pools: decode pool " + "; ".join(reasons))
    return best_split
