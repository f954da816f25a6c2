"""The calibrated time per token and time to first token (docs/calibration.md).

Per decode step (one micro-batch passing every stage), per user, in whole picoseconds times PP:

    PP t_mem  = ceil(W1 / (tau b_eff)) PP + ceil(KV_t / (tau b_eff)) M + ceil(X(min(PP, c)) / (tau b_eff))
    PP t_comp = ceil((F_step + F_attn) / (tau F_dec)) M + ceil((F_step + F_attn) h / (s tau F_dec)) PP
                + ceil(a F_amort / (tau F_pf))
    PP t_comm = the network's coefficients (CommCoefficients.pp_comm_ps), collective latencies included
    PP t_fix  = PP x layers x t_layer
    step time = max(t_mem, t_comp) + t_comm + t_fix          (memory and compute of the same kernels
                                                              overlap; a TP all-reduce sits between GEMMs
                                                              and the per-layer launch and sync cost adds)
    time per token per user = step time / a,   speed ok  <=>  (r / a) x PP x step time <= PP seconds

b_eff = bandwidth_efficiency x node bandwidth (memory medium), t_layer, F_dec = decode_compute_efficiency
x F and F_pf = prefill_compute_efficiency x L / (L + h_pf) x F (node, L prompt tokens; the workload's
prefill_compute_efficiency overrides it); h = decode_efficiency_half_tokens, s = tokens a step verifies per
request (the decode efficiency is decode_compute_efficiency x tokens / (tokens + h) with M / PP x s tokens
per GEMM); t_layer = layer_overhead_ns (+ fp8_layer_overhead_ns under FP8 compute); KV_t = the KV a step reads, times TP / kv_heads when TP exceeds the KV heads (each head is then held
and read on TP / kv_heads nodes; an MLA latent cache, shared by every head, on all TP nodes).  Every time
is rounded up to a picosecond term by term, so the search, the oracle and the reports compare the same
integers.  TTFT = ceil(max(prefill FLOPs / (tau F_pf), W_prefill / (tau b_eff))) + prompt communication
+ layers x t_layer.

The rows of these matrices are node classes (``NodeTerms``); a class's figures are what the time depends
on, so the CP-SAT model states one allowed set of PP per (network, TP, class) and the oracle evaluates
every memory configuration with the same function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Optional, Sequence

from ..memo import exact_cache
from ..units import PS_PER_S, exact
from .configs import MemoryConfig
from .decode import micro_batch_m, step_rate
from .network import CommCoefficients, base_comm, decode_comm, machine_groups
from .requirements import Requirements, kv_read_for_tp

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


@dataclass(frozen=True, order=True)
class NodeTerms:
    """What the calibrated time of a node depends on: one class of memory configurations."""

    overhead_ps: int        # fixed time per layer per step (kernel launch, synchronisation)
    decode_flops: int       # decode FLOP/s of one node: decode_compute_efficiency x peak
    prefill_flops: int      # prefill FLOP/s of one node: prefill efficiency x peak
    eff_bw: int             # streaming bandwidth of one node: bandwidth_efficiency x peak (bytes/s)
    decode_half_tokens: Fraction = Fraction(0)  # tokens per step at which decode reaches half of decode_flops

    def group(self) -> tuple:
        """Classes of one group differ only in bandwidth; the speed and TTFT limits loosen as it grows."""
        return (self.overhead_ps, self.decode_flops, self.prefill_flops, self.decode_half_tokens)


def prefill_efficiency(req: Requirements, mc: MemoryConfig) -> Fraction:
    """The fraction of peak FLOP/s a prefill reaches: the workload's override, else the node's (calibrated),
    else the roofline's workload figure."""
    if req.prefill_efficiency_override is not None:
        return req.prefill_efficiency_override
    if not req.calibrated:
        return req.prefill_efficiency
    return saturating(exact(mc.node.prefill_compute_efficiency), req.prompt_tokens,
                      exact(mc.node.prefill_efficiency_half_tokens))


def saturating(efficiency: Fraction, tokens, half: Fraction) -> Fraction:
    """The fraction of peak FLOP/s matrix work on ``tokens`` tokens per step reaches: efficiency x tokens /
    (tokens + half) (``half`` = 0: the same at every size; no tokens: the saturated value)."""
    if not half or not tokens:
        return efficiency
    return efficiency * Fraction(tokens) / (tokens + half)


def layer_overhead_ps(req: Requirements, mc: MemoryConfig) -> int:
    """Fixed time per layer per step, in picoseconds rounded up: the node's, plus its FP8 quantisation
    kernels when the workload's matrix work runs in FP8."""
    ns = exact(mc.node.layer_overhead_ns)
    if req.compute_dtype == "fp8":
        ns += exact(mc.node.fp8_layer_overhead_ns)
    return math.ceil(ns * 1000)


def effective_bandwidth(req: Requirements, mc: MemoryConfig) -> int:
    """Bytes/s one node's streaming reads reach (the datasheet figure under the roofline), rounded down."""
    if not req.calibrated:
        return mc.bandwidth_bytes_per_s
    return math.floor(exact(mc.memory.bandwidth_efficiency) * mc.bandwidth_bytes_per_s)


def node_terms(req: Requirements, mc: MemoryConfig) -> NodeTerms:
    """The node class of memory configuration mc under these requirements, remembered (``node_terms_of``) by
    the configuration and the few requirement fields it reads (``TermsInputs``)."""
    return node_terms_of(mc, TermsInputs(req.speed_model, req.compute_dtype, req.prefill_efficiency,
                                         req.prefill_efficiency_override, req.prompt_tokens))


@dataclass(frozen=True)
class TermsInputs:
    """The fields of ``Requirements`` a node class depends on, and nothing else: ``node_terms_of`` computes with
    this in place of the requirements, so a field it read but the cache key lacked would fail loudly."""

    speed_model: str
    compute_dtype: str
    prefill_efficiency: Fraction
    prefill_efficiency_override: Optional[Fraction]
    prompt_tokens: int

    @property
    def calibrated(self) -> bool:
        return self.speed_model == "calibrated"


@exact_cache(4096)
def node_terms_of(mc: MemoryConfig, req: TermsInputs) -> NodeTerms:
    """``node_terms`` of frozen, hashable arguments (the cache's key is exactly its inputs)."""
    return NodeTerms(
        overhead_ps=layer_overhead_ps(req, mc),
        decode_flops=max(1, math.floor(exact(mc.node.decode_compute_efficiency) * mc.compute_flops)),
        prefill_flops=max(1, math.floor(prefill_efficiency(req, mc) * mc.compute_flops)),
        eff_bw=max(1, effective_bandwidth(req, mc)),
        decode_half_tokens=exact(mc.node.decode_efficiency_half_tokens))


def _ceil(num: int, den: int) -> int:
    return -(-num // den)


def _column(values: Sequence[int], kind):
    import numpy as np
    return np.array(values, dtype=kind)[:, None]


def step_times(req: Requirements, cc: CommCoefficients, terms: Sequence[NodeTerms], tau: int, pp,
               memo: Optional[dict] = None):
    """(mem, comp, comm, fixed): PP times each part of one decode step per user, in picoseconds, for each
    node class (rows) and pipeline depth (``pp``: a 1-D array, or a column with one PP per row).
    ``memo``: a dict the caller keeps for one ``req``, so each (TP, class) is worked out once."""
    import numpy as np
    from ..scaling import INT_LIMIT
    memo = {} if memo is None else memo
    key = (tau, id(terms))   # the memo keeps ``terms`` alive (below), so its id names it while the memo lives
    if key not in memo or memo[key][4] is not terms:  # the rows' coefficients, as Python integers and (where they fit) int64 columns
        every = class_columns(req, tau, terms)
        cols = {name: tuple(every[name].tolist()) for name in ("cw", "ck", "cf", "c0", "fx", "ch")}
        xt = [tuple(row) for row in every["xt"].tolist()]
        peak = {name: max(v) for name, v in cols.items()}
        peak["xt"] = max(max(r) for r in xt)
        small = all(v < INT_LIMIT for v in peak.values())
        arrays = {name: _column(v, np.int64) for name, v in cols.items()} if small else {}
        if small and req.moe_extra_bytes:
            arrays["xt"] = np.array(xt, dtype=np.int64)
        memo[key] = (cols, xt, peak, arrays, terms)
    cols, xt, peak, arrays, _ = memo[key]
    xs = req.moe_extra_bytes
    m = micro_batch_m(pp, req.concurrency)
    top_pp, top_m = int(pp.max()), int(m.max())
    top = (peak["cw"] * top_pp + peak["ck"] * top_m + peak["xt"] + peak["cf"] * top_m + peak["c0"]
           + peak["ch"] * top_pp + cc.pp_comm_ps(top_pp, top_m) + peak["fx"] * top_pp)
    top *= max(step_rate(req).numerator, 1)
    kind = np.int64 if top < INT_LIMIT and PS_PER_S * top_pp * step_rate(req).denominator < INT_LIMIT else object
    if kind is not np.int64 or not arrays:
        arrays = {name: _column(v, kind) for name, v in cols.items()}
        if xs:
            arrays["xt"] = np.array(xt, dtype=kind)
    pp_k, m_k = pp.astype(kind), m.astype(kind)
    mem = arrays["cw"] * pp_k + arrays["ck"] * m_k
    if xs:
        shape = np.broadcast_shapes((len(terms), 1), pp.shape)
        idx = np.broadcast_to(np.minimum(pp, req.concurrency).astype(np.int64), shape)
        mem = mem + arrays["xt"][np.arange(len(terms))[:, None], idx]
    comp = arrays["cf"] * m_k + arrays["ch"] * pp_k + arrays["c0"]
    fixed = arrays["fx"] * pp_k
    comm = np.broadcast_to(cc.pp_comm_ps(pp_k, m_k), fixed.shape)
    return mem, comp, comm, fixed


def speed_matrix(req: Requirements, cc: CommCoefficients, terms: Sequence[NodeTerms], tau: int, pp,
                 memo: Optional[dict] = None):
    """The calibrated speed target, rows x PP, exact:  (r / a) (max(mem, comp) + comm + fixed) <= PP seconds."""
    import numpy as np
    mem, comp, comm, fixed = step_times(req, cc, terms, tau, pp, memo)
    sr = step_rate(req)
    total = np.maximum(mem, comp) + comm + fixed
    return np.asarray(sr.numerator * total <= sr.denominator * PS_PER_S * pp.astype(total.dtype), dtype=bool)


def class_arrays(terms: Sequence[NodeTerms]) -> dict:
    """The figures of each node class as numpy arrays of Python integers (dtype object, exact): ``eff_bw``,
    ``decode_flops``, ``prefill_flops``, ``overhead_ps`` and ``decode_half_tokens`` as numerator and denominator
    (``half_num``, ``half_den``).  They do not depend on the requirements (``class_columns`` takes them)."""
    import numpy as np

    def col(values) -> "np.ndarray":
        out = np.empty(len(terms), dtype=object)
        out[:] = list(values)
        return out
    halves = [Fraction(t.decode_half_tokens) for t in terms]
    return {"eff_bw": col(t.eff_bw for t in terms), "decode_flops": col(t.decode_flops for t in terms),
            "prefill_flops": col(t.prefill_flops for t in terms), "overhead_ps": col(t.overhead_ps for t in terms),
            "half_num": col(h.numerator for h in halves), "half_den": col(h.denominator for h in halves)}


def class_columns(req: Requirements, tau: int, terms: Sequence[NodeTerms], arrays: Optional[dict] = None) -> dict:
    """The decode step's per-class coefficients at TP degree tau, in picoseconds, rounded up, every class at once
    as numpy arrays of Python integers (dtype object, exact): columns ``cw`` (weights), ``ck`` (KV), ``cf``
    (FLOPs per request), ``c0`` (amortised prefill), ``fx`` (fixed per-layer time), ``ch`` (one entry per class)
    and ``xt`` (classes x (1 + MoE table)).  ch x PP is what a micro-batch of M / PP requests (M / PP x step
    tokens per GEMM) adds to M x cf when the decode efficiency is batch-aware: efficiency x tokens /
    (tokens + half) makes the compute time (M + PP x half / step tokens) x cf.
    ``arrays``: ``class_arrays(terms)``, if the caller keeps it."""
    import numpy as np
    a = class_arrays(terms) if arrays is None else arrays
    eff, dec, pre = tau * a["eff_bw"], tau * a["decode_flops"], tau * a["prefill_flops"]
    kv = kv_read_for_tp(req, tau)
    am = req.accepted_per_step * req.amortised_prefill_flops * PS_PER_S
    flops = PS_PER_S * (req.step_flops_per_m + req.attention_flops_per_m)
    # half = flops x h / s:  ceil(half / (tau F_dec)) = ceil(flops h_num / (h_den s tau F_dec))
    xt = np.zeros((len(terms), 1 + len(req.moe_extra_bytes)), dtype=object)
    xt[:, 0] = 0
    for i, x in enumerate(req.moe_extra_bytes):
        xt[:, i + 1] = -(-(PS_PER_S * x) // eff)
    return {"cw": -(-(PS_PER_S * req.step_weight_bytes) // eff), "ck": -(-(PS_PER_S * kv) // eff),
            "cf": -(-flops // dec), "c0": -(-am.numerator // (am.denominator * pre)),
            "fx": req.layers * a["overhead_ps"],
            "ch": -(-(flops * a["half_num"]) // (a["half_den"] * req.step_tokens * dec)), "xt": xt}


def speed_slack(req: Requirements, terms: Sequence[NodeTerms], tau: int, pp, arrays: Optional[dict] = None):
    """What the decode step's communication may take and still meet the calibrated speed target, rows (node
    classes) x PP (``pp`` a 1-D array): the largest whole number of picoseconds S with

        speed_matrix(...) <=> PP t_comm <= S,   S = floor(PP seconds / (r / a)) - max(mem, comp) - fixed

    (``speed_matrix`` compares (r / a) x total <= PP seconds on whole picoseconds, and for a whole number
    x and a positive rate, (num / den) x <= y <=> x <= floor(y den / num)).  It does not depend on the
    network, so one table serves every network at this TP degree.  int64 where every term fits, else
    Python integers (dtype object).  Needs a speed target (r > 0).  ``arrays``: ``class_arrays(terms)``."""
    import numpy as np
    from ..scaling import INT_LIMIT
    sr = step_rate(req)
    cols = class_columns(req, tau, terms, arrays)
    pp = np.asarray(pp, dtype=np.int64)
    m = micro_batch_m(pp, req.concurrency)
    top_pp, top_m = (int(pp.max()), int(m.max())) if len(pp) else (0, 0)
    peak = {k: max(v.max(), 0) if v.size else 0 for k, v in cols.items()}
    top = (peak["cw"] * top_pp + peak["ck"] * top_m + peak["xt"] + peak["cf"] * top_m + peak["c0"]
           + peak["ch"] * top_pp + peak["fx"] * top_pp + sr.denominator * PS_PER_S * top_pp)
    kind = np.int64 if max(top, sr.numerator) < INT_LIMIT else object
    c = {k: (v.astype(np.int64) if kind is np.int64 else v) for k, v in cols.items()}
    pp_k, m_k = pp.astype(kind), m.astype(kind)
    mem = c["cw"][:, None] * pp_k + c["ck"][:, None] * m_k
    if req.moe_extra_bytes:
        mem = mem + c["xt"][:, np.minimum(pp, req.concurrency)]
    comp = c["cf"][:, None] * m_k + c["ch"][:, None] * pp_k + c["c0"][:, None]
    limit = (sr.denominator * PS_PER_S * pp_k) // sr.numerator
    return limit - np.maximum(mem, comp) - c["fx"][:, None] * pp_k


def ttft_ps(req: Requirements, cc: CommCoefficients, terms: Sequence[NodeTerms], tau: int, pp):
    """Calibrated time to first token in picoseconds, rows x PP (cc: per-token coefficients):
    ceil(max(FLOPs / (tau F_pf), W / (tau b_eff))) + the prompt's communication + layers x t_layer."""
    import numpy as np
    work = [max(_ceil(PS_PER_S * req.prefill_flops, tau * t.prefill_flops),
                _ceil(PS_PER_S * req.prefill_weight_bytes, tau * t.eff_bw)) + req.layers * t.overhead_ps
            for t in terms]
    top = max(work) + cc.prompt_ps(int(pp.max()), req.prompt_tokens)
    kind = np.int64 if top < 2**62 else object
    pp_k = pp.astype(kind)
    return _column(work, kind) + cc.prompt_ps(pp_k, req.prompt_tokens)


def ttft_matrix(req: Requirements, cc: CommCoefficients, terms: Sequence[NodeTerms], tau: int, pp):
    """The calibrated TTFT limit, rows x PP, exact (all true without a limit)."""
    import numpy as np
    if req.max_ttft_s is None:
        return np.ones(np.broadcast_shapes((len(terms), 1), pp.shape), dtype=bool)
    return np.asarray(ttft_ps(req, cc, terms, tau, pp) <= math.floor(req.max_ttft_s * PS_PER_S), dtype=bool)


def _per_machine(cfg, tau: int, terms: Sequence[NodeTerms], pp, fn):
    """``fn(nodes, terms, pp values)`` (rows x PP) applied machine class by machine class of N = tau x PP
    (communication depends on the machine): rows x PP for a 1-D pp, one PP per row for a column."""
    import numpy as np
    pp = np.asarray(pp)
    if pp.ndim == 1:
        out = np.zeros((len(terms), len(pp)), dtype=bool)
        for n, sel in machine_groups(cfg, tau, pp):
            out[:, sel] = fn(n, terms, pp[sel])
        return out
    out = np.zeros(pp.shape, dtype=bool)
    for n, sel in machine_groups(cfg, tau, pp):
        if sel.all():  # one machine for every row: the caller's own list (its coefficients are memoised)
            return fn(n, terms, pp)
        rows = np.nonzero(sel[:, 0])[0]
        out[rows, 0] = fn(n, [terms[i] for i in rows], pp[rows])[:, 0]
    return out


def speed_matrix_at(req: Requirements, cfg, tau: int, problem, terms: Sequence[NodeTerms], pp,
                    memo: Optional[dict] = None):
    """``speed_matrix`` with each PP's own machine (its decode communication)."""
    return _per_machine(cfg, tau, terms, pp, lambda n, ts, v: speed_matrix(
        req, decode_comm(cfg, tau, req, problem, nodes=n), ts, tau, v, memo))


def ttft_matrix_at(req: Requirements, cfg, tau: int, problem, terms: Sequence[NodeTerms], pp):
    """``ttft_matrix`` with each PP's own machine (its prompt communication)."""
    return _per_machine(cfg, tau, terms, pp, lambda n, ts, v: ttft_matrix(
        req, base_comm(cfg, tau, req, problem, nodes=n), ts, tau, v))


def prefill_rate_matrix(req: Requirements, cc: CommCoefficients, terms: Sequence[NodeTerms], tau: int, pp,
                        rate: Fraction):
    """A prefill pool (docs/calibration.md) sustains ``rate`` prompts per second, rows x PP, exact: prompts go
    stage by stage, one per stage at a time, so one prompt's calibrated TTFT spread over PP stages must fit in
    1 / rate:  rate x TTFT <= PP seconds  (TTFT as ``ttft_ps``: FLOPs at the calibrated prefill efficiency or
    weight reads, whichever is longer, plus the prompt's communication and the per-layer time)."""
    import numpy as np
    t = ttft_ps(req, cc, terms, tau, pp)
    pp = np.asarray(pp)
    # rate x TTFT <= PP  <=>  TTFT <= floor(PP / rate), in whole picoseconds (Python integers: no overflow)
    limit = [(rate.denominator * PS_PER_S * int(v)) // rate.numerator for v in pp.ravel()]
    kind = np.int64 if max(limit) < 2**62 else object
    return np.asarray(t <= np.array(limit, dtype=kind).reshape(pp.shape), dtype=bool)


def prefill_rate_matrix_at(req: Requirements, cfg, tau: int, problem, terms: Sequence[NodeTerms], pp,
                           rate: Fraction):
    """``prefill_rate_matrix`` with each PP's own machine (its prompt communication)."""
    return _per_machine(cfg, tau, terms, pp, lambda n, ts, v: prefill_rate_matrix(
        req, base_comm(cfg, tau, req, problem, nodes=n), ts, tau, v, rate))
