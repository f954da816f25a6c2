"""Communication: per-token all-reduce, all-to-all and pipeline-hop coefficients of a network and TP degree,
the communication speed target and the communication-time balance rule."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from .. import topology as topo
from ..memo import exact_cache
from ..units import PS_PER_S, ns_to_s, s_to_ps_ceil
from .configs import NetworkConfig
from .decode import micro_batch_m, step_rate
from .levels import fabric_hops
from .requirements import Requirements, kv_read_for_tp

if TYPE_CHECKING:  # pragma: no cover
    from ..problem import Problem


@dataclass(frozen=True)
class CommCoefficients:
    """Per-token communication of one user, as whole picoseconds (rounded up).

    PP * t_comm = ar * PP + ar_tok * M + hop * (PP^2 - PP) + hop_tok * (PP*M - M)
                  + pf_ar + pf_hop * (PP - 1),                     M = max(PP, c).

    The last two terms are the prefill's link traffic amortised per decode step (zero without prefill).

    Two-level network (``stages_per_domain`` s = D / TP > 0, or 1 for a TP group over whole domains, whose
    every hop crosses the fabric): f = ceil(PP / s) - 1 of the PP - 1 hops
    cross the fabric and cost ``fhop``, ``fhop_tok`` and ``pf_fhop`` instead of the domain's ``hop``,
    ``hop_tok`` and ``pf_hop`` (``levels.fabric_hops``); with s = 0 the formula above is unchanged.
    """

    ar: int       # latency part of the 2 * layers all-reduces
    ar_tok: int   # bandwidth part of the 2 * layers all-reduces, per token in the micro-batch
    hop: int      # latency of one pipeline hop
    hop_tok: int  # bandwidth part of one pipeline hop, per token in the micro-batch
    pf_ar: int = 0   # amortised prefill: a c L / O x ar_tok (rounded up)
    pf_hop: int = 0  # amortised prefill: a c L / O x hop_tok (rounded up)
    stages_per_domain: int = 0  # two-level network: D / TP (0: one level, no fabric hops)
    fhop: int = 0      # latency of one pipeline hop over the fabric
    fhop_tok: int = 0  # bandwidth part of one fabric hop, per token in the micro-batch
    pf_fhop: int = 0   # amortised prefill: a c L / O x fhop_tok (rounded up)
    # a TP group spanning domains (``spanning_comm``): the fabric's share of ar, ar_tok and pf_ar (already in
    # them; read only to split the time by level, ``levels.level_comm_s``)
    far: int = 0
    far_tok: int = 0
    pf_far: int = 0

    def pp_comm_ps(self, pp, m):
        """PP times the communication time per token per user, in picoseconds (exact for int or numpy input)."""
        if self.stages_per_domain:
            return self._two_level_ps(pp, m)
        return (self.ar * pp + self.ar_tok * m + self.hop * (pp * pp - pp) + self.hop_tok * (pp * m - m)
                + self.pf_ar + self.pf_hop * (pp - 1))

    def _two_level_ps(self, pp, m):
        f = fabric_hops(pp, self.stages_per_domain)
        inner = pp - 1 - f
        return (self.ar * pp + self.ar_tok * m + self.hop * pp * inner + self.fhop * pp * f
                + self.hop_tok * m * inner + self.fhop_tok * m * f + self.pf_ar + self.pf_hop * inner
                + self.pf_fhop * f)

    def scaled(self, tokens: int) -> "CommCoefficients":
        """The same links carrying ``tokens`` tokens per request slot (a speculative step verifies gamma + 1)."""
        return dataclasses.replace(self, ar_tok=self.ar_tok * tokens, hop_tok=self.hop_tok * tokens,
                                   fhop_tok=self.fhop_tok * tokens, far_tok=self.far_tok * tokens)

    def prompt_ps(self, pp: int, tokens: int) -> int:
        """One prompt of ``tokens`` tokens through the pipeline as one micro-batch: all-reduces, then PP - 1 hops."""
        f = fabric_hops(pp, self.stages_per_domain) if self.stages_per_domain else 0
        return (self.ar + self.ar_tok * tokens + (pp - 1 - f) * (self.hop + self.hop_tok * tokens)
                + f * (self.fhop + self.fhop_tok * tokens))


def collective_latency_s(cfg: NetworkConfig, wiring=None) -> Fraction:
    """The fixed time of one small-message collective or hop on this tier and machine (kernel launch,
    synchronisation, protocol), beyond the per-hop ``latency_ns``: the tier's ``collective_latency_ns``, or its
    ``collective_latency_ns_by_topology`` entry for the kind of the machine's wiring (``cfg.wiring(nodes)``;
    the catalog topology's kind when none is given).  Zero for a single node."""
    if cfg.tier is None:
        return Fraction(0)
    kind = wiring.kind if wiring is not None else cfg.topology.kind
    ns = dict(cfg.tier.collective_latency_ns_by_topology).get(kind, cfg.tier.collective_latency_ns)
    return ns_to_s(ns)


def comm_coefficients(cfg: NetworkConfig, tau: int, req: Requirements, expert_parallel: bool = False,
                      moe=None, *, nodes: int) -> CommCoefficients:
    """Per-token coefficients of the machine ``cfg.wiring(nodes)`` (one machine, one time).  Tensor parallel: 2 all-reduces per layer (attention, MLP).  With expert
    parallel on a MoE model, each MoE layer's MLP all-reduce becomes two all-to-alls (dispatch and combine):
    each of the tau nodes sends k_e copies of its 1/tau share of the tokens (k_e experts per token).

    Remembered (``comm_coefficients_of``) by exactly what it reads: a sweep or study whose points change only
    the context or the concurrency works each (network, TP, machine) out once."""
    if cfg.tier is None:
        return CommCoefficients(0, 0, 0, 0)
    return comm_coefficients_of(cfg, tau, CommInputs(req.activation_bytes_per_token, req.speed_model, req.layers),
                                bool(expert_parallel), moe, nodes)


@dataclass(frozen=True)
class CommInputs:
    """The fields of ``Requirements`` communication depends on, and nothing else: ``comm_coefficients_of``
    computes with this in place of the requirements, so a field read but missing from its cache key fails
    loudly instead of being shared between problems that differ in it."""

    activation_bytes_per_token: int
    speed_model: str
    layers: int

    @property
    def calibrated(self) -> bool:
        return self.speed_model == "calibrated"


@exact_cache(8192)
def comm_coefficients_of(cfg: NetworkConfig, tau: int, req: CommInputs, expert_parallel: bool, moe,
                         nodes: int) -> CommCoefficients:
    """``comm_coefficients`` of frozen, hashable arguments (the cache's key is exactly its inputs)."""
    if cfg.tier is None:
        return CommCoefficients(0, 0, 0, 0)
    if cfg.domain_nodes:
        return two_level_comm(cfg, tau, req, expert_parallel, moe, nodes=nodes)
    s_tok = req.activation_bytes_per_token
    w = cfg.wiring(nodes)
    # calibrated: every collective and hop also pays its fixed small-message time (0 under the roofline)
    fixed = collective_latency_s(cfg, w) if req.calibrated else Fraction(0)
    ar = topo.allreduce(w, cfg.tier, tau, cfg.link_bytes_per_s)
    n_ar = 2 * req.layers
    a2a_lat, a2a_tok = Fraction(0), Fraction(0)
    if expert_parallel and moe is not None and tau > 1:
        n_ar -= moe.layers
        a2a = topo.alltoall(w, cfg.tier, tau, cfg.link_bytes_per_s)
        a2a_lat = 2 * moe.layers * (a2a.steps * a2a.hops * cfg.latency_s + fixed)
        # TP leaves every token's activations on all tau nodes; each node dispatches its 1/tau of the tokens
        a2a_tok = 2 * moe.layers * a2a.volume * Fraction(moe.active_experts * s_tok, tau) / a2a.bandwidth_bytes_per_s
    hops, p2p_bw = topo.point_to_point(w, cfg.tier, cfg.link_bytes_per_s)
    ar_fixed = fixed if tau > 1 else Fraction(0)
    return CommCoefficients(
        ar=s_to_ps_ceil(n_ar * (ar.steps * ar.hops * cfg.latency_s + ar_fixed) + a2a_lat),
        ar_tok=s_to_ps_ceil(n_ar * ar.volume * s_tok / ar.bandwidth_bytes_per_s + a2a_tok),
        hop=s_to_ps_ceil(hops * cfg.latency_s + fixed),
        # each of the tau nodes of a stage sends its 1/tau shard of the activations in parallel
        hop_tok=s_to_ps_ceil(Fraction(s_tok, tau) / p2p_bw),
    )


def two_level_comm(cfg: NetworkConfig, tau: int, req: Requirements, expert_parallel: bool = False,
                   moe=None, *, nodes: int) -> CommCoefficients:
    """Each level's coefficients from the one-level function: all-reduces, all-to-alls and in-domain hops
    on the domain (the machine of D nodes), pipeline hops across domains on the fabric (the machine of
    all N nodes; each of the tau nodes of a stage sends its shard through its own fabric ports).
    A TP group of whole domains (TP > D, expert parallel only: ``configs.tp_fits``): ``spanning_comm``."""
    if tau > cfg.domain_nodes:
        return spanning_comm(cfg, tau, req, expert_parallel, moe, nodes=nodes)
    dom = comm_coefficients(cfg.domain, tau, req, expert_parallel, moe, nodes=cfg.domain_nodes)
    fab = comm_coefficients(cfg.fabric, tau, req, expert_parallel, moe, nodes=nodes)
    return dataclasses.replace(dom, stages_per_domain=cfg.domain_nodes // tau, fhop=fab.hop, fhop_tok=fab.hop_tok)


def spanning_comm(cfg: NetworkConfig, tau: int, req: Requirements, expert_parallel: bool = False,
                  moe=None, *, nodes: int) -> CommCoefficients:
    """A TP (and expert-parallel) group of k = tau / D whole domains, each collective costed on the level
    it runs on, the two levels one after the other (no overlap credited):

    all-reduce   hierarchical: a reduce-scatter and an all-gather inside each domain (the domain's own
                 all-reduce over D nodes, S bytes), and between them an all-reduce of the S / D shard over
                 the k domains on the fabric (one node per domain, the D of each domain in parallel, each
                 through its own fabric ports)
    all-to-all   each node's dispatch (or combine) of S_e bytes: (D - 1) / tau of it to the peers in its
                 domain over the domain links (the domain's D-node all-to-all, D / tau of its volume), and
                 (tau - D) / tau to the other domains over the fabric, bounded by the fabric's injection and
                 by the bisection of the tau-node group (``topology.alltoall``)
    PP hops      every stage covers whole domains, so each of the PP - 1 hops crosses the fabric

    Calibrated: each phase pays its level's fixed collective time.  ``far``/``far_tok`` say how much of
    ``ar``/``ar_tok`` is the fabric's."""
    d, k = cfg.domain_nodes, tau // cfg.domain_nodes
    dom, fab = cfg.domain, cfg.fabric
    s_tok = req.activation_bytes_per_token
    wd, wf = dom.wiring(d), fab.wiring(nodes)
    fixed_d = collective_latency_s(dom, wd) if req.calibrated else Fraction(0)
    fixed_f = collective_latency_s(fab, wf) if req.calibrated else Fraction(0)
    ar_d = topo.allreduce(wd, dom.tier, d, dom.link_bytes_per_s)
    ar_f = topo.allreduce(wf, fab.tier, k, fab.link_bytes_per_s)
    n_ar = 2 * req.layers
    lat_d = lat_f = tok_d = tok_f = Fraction(0)
    if expert_parallel and moe is not None:
        n_ar -= moe.layers
        s_e = Fraction(moe.active_experts * s_tok, tau)   # each node dispatches its 1/tau of the tokens
        a2a_d = topo.alltoall(wd, dom.tier, d, dom.link_bytes_per_s)
        a2a_f = topo.alltoall(wf, fab.tier, tau, fab.link_bytes_per_s, leaving=Fraction(tau - d, tau))
        lat_d += 2 * moe.layers * (a2a_d.steps * a2a_d.hops * dom.latency_s + fixed_d)
        lat_f += 2 * moe.layers * (a2a_f.steps * a2a_f.hops * fab.latency_s + fixed_f)
        tok_d += 2 * moe.layers * a2a_d.volume * Fraction(d, tau) * s_e / a2a_d.bandwidth_bytes_per_s
        tok_f += 2 * moe.layers * a2a_f.volume * s_e / a2a_f.bandwidth_bytes_per_s
    lat_d += n_ar * (ar_d.steps * ar_d.hops * dom.latency_s + fixed_d)
    lat_f += n_ar * (ar_f.steps * ar_f.hops * fab.latency_s + fixed_f)
    tok_d += n_ar * ar_d.volume * s_tok / ar_d.bandwidth_bytes_per_s
    tok_f += n_ar * ar_f.volume * Fraction(s_tok, d) / ar_f.bandwidth_bytes_per_s
    hops, p2p_bw = topo.point_to_point(wf, fab.tier, fab.link_bytes_per_s)
    hop, hop_tok = s_to_ps_ceil(hops * fab.latency_s + fixed_f), s_to_ps_ceil(Fraction(s_tok, tau) / p2p_bw)
    return CommCoefficients(ar=s_to_ps_ceil(lat_d + lat_f), ar_tok=s_to_ps_ceil(tok_d + tok_f), hop=hop,
                            hop_tok=hop_tok, stages_per_domain=1, fhop=hop, fhop_tok=hop_tok,
                            far=s_to_ps_ceil(lat_f), far_tok=s_to_ps_ceil(tok_f))


def decode_comm(cfg: NetworkConfig, tau: int, req: Requirements, problem: "Problem", *, nodes: int) -> CommCoefficients:
    """The coefficients of one decode step (gamma + 1 tokens per request slot), with the prefill's link
    traffic amortised over the step: a step yields a tokens for each of c requests, and every O tokens a
    request brings a prompt of L tokens whose all-reduces and hops are bandwidth-bound (L tokens at once)."""
    base = comm_coefficients(cfg, tau, req, problem.constraints.expert_parallel, problem.model.moe, nodes=nodes)
    step = base.scaled(req.step_tokens)
    if not req.prompt_tokens:
        return step
    share = req.accepted_per_step * req.concurrency * req.prompt_tokens / req.output_tokens
    return dataclasses.replace(step, pf_ar=math.ceil(share * base.ar_tok), pf_hop=math.ceil(share * base.hop_tok),
                               pf_fhop=math.ceil(share * base.fhop_tok), pf_far=math.ceil(share * base.far_tok))


def base_comm(cfg: NetworkConfig, tau: int, req: Requirements, problem: "Problem", *, nodes: int) -> CommCoefficients:
    """Per-token coefficients (a prompt's tokens)."""
    return comm_coefficients(cfg, tau, req, problem.constraints.expert_parallel, problem.model.moe, nodes=nodes)


def machine_groups(cfg: NetworkConfig, tau: int, pp):
    """Split an array of pipeline depths by the machine at N = tau x PP (its communication class).

    Yields ``(nodes, selector)``: one node count standing for the class, and a boolean array of
    pp's shape marking the depths in it.  Communication coefficients depend on the class only, so
    masks over many PP values are computed once per class (usually one or two).
    """
    import numpy as np
    flat = np.asarray(pp).ravel()
    if cfg.domain_nodes:  # the domain is one machine of D nodes; the fabric's machine varies with N
        cfg = cfg.fabric
    if cfg.tier is None or (cfg.topology.kind in ("switch", "fat_tree", "dragonfly") and int(flat.min()) * tau > 1):
        # one machine class at every node count beyond one (switched networks do not change shape with N)
        yield int(tau * flat[0]), np.ones(np.shape(pp), dtype=bool)
        return
    keys: dict = {}
    label = np.empty(flat.shape, dtype=np.int64)
    for i, v in enumerate(flat.tolist()):
        n = tau * int(v)
        label[i] = keys.setdefault(cfg.wiring(n).comm_key, (len(keys), n))[0]
    for idx, n in keys.values():
        yield n, (label == idx).reshape(np.shape(pp))


def machine_mask(cfg: NetworkConfig, tau: int, pp, fn):
    """``fn(nodes, pp_values)`` -> bool array per PP value, applied class by class over pp (any shape)."""
    import numpy as np
    out = np.zeros(np.shape(pp), dtype=bool)
    for n, sel in machine_groups(cfg, tau, pp):
        out[sel] = fn(n, np.asarray(pp)[sel])
    return out


def comm_speed_mask_at(req: Requirements, cfg: NetworkConfig, tau: int, problem: "Problem", pp):
    """``comm_speed_mask`` over pp, each PP with the coefficients of its own machine."""
    return machine_mask(cfg, tau, pp, lambda n, v: comm_speed_mask(req, decode_comm(cfg, tau, req, problem, nodes=n), v))


def comm_rule_matrix_at(cfg: NetworkConfig, tau: int, req: Requirements, problem: "Problem", node_bws: list[int],
                        ratio: Fraction, pp):
    """``comm_rule_matrix`` with each PP's own machine: rows x PP for a 1-D pp, one PP per row for a column."""
    import numpy as np
    pp = np.asarray(pp)
    if pp.ndim == 1:
        out = np.zeros((len(node_bws), len(pp)), dtype=bool)
        for n, sel in machine_groups(cfg, tau, pp):
            out[:, sel] = comm_rule_matrix(decode_comm(cfg, tau, req, problem, nodes=n), req, node_bws, tau, ratio,
                                           pp[sel])
        return out
    out = np.zeros(pp.shape, dtype=bool)
    for n, sel in machine_groups(cfg, tau, pp):
        rows = np.nonzero(sel[:, 0])[0]
        out[rows, 0] = comm_rule_matrix(decode_comm(cfg, tau, req, problem, nodes=n), req,
                                        [node_bws[i] for i in rows], tau, ratio, pp[rows])[:, 0]
    return out



def comm_speed_ok(req: Requirements, pp_comm_ps, pp) -> bool:
    """Communication speed target: (r / a) x PP x t_step_comm <= PP (seconds), at picosecond resolution."""
    r = step_rate(req)
    return r.numerator * pp_comm_ps <= r.denominator * PS_PER_S * pp


def comm_speed_mask(req: Requirements, cc: "CommCoefficients", pp):
    """``comm_speed_ok`` over a numpy array of PP values (cc: the decode step's coefficients), exact."""
    import numpy as np
    from ..scaling import exact_arrays
    m = micro_batch_m(pp, req.concurrency)
    r = step_rate(req)
    top = max(r.numerator * cc.pp_comm_ps(int(pp.max()), int(m.max())), r.denominator * PS_PER_S * int(pp.max()))
    pp, m = exact_arrays(top, pp, m)
    return np.asarray(comm_speed_ok(req, cc.pp_comm_ps(pp, m), pp), dtype=bool)


def comm_rule_terms(req: Requirements, node_bws: list[int], tau: int, ratio: Fraction) -> tuple:
    """The right-hand side's coefficients of ``comm_rule_matrix`` (cw, ck, X table per row, the table's largest
    entry, and a dict for the table as arrays), which do not depend on the network: each
    floor(ratio x PS x bytes / (tau x b)), in integers."""
    num, den = ratio.numerator * PS_PER_S, ratio.denominator * tau
    cw = [(num * req.step_weight_bytes) // (den * b) for b in node_bws]
    kv = kv_read_for_tp(req, tau)
    ck = [(num * kv) // (den * b) for b in node_bws]
    xt = ([[0] + [(num * x) // (den * b) for x in req.moe_extra_bytes] for b in node_bws] if req.moe_extra_bytes
          else [[0] for _ in node_bws])
    return cw, ck, xt, max(max(r) for r in xt), {}


def comm_rule_matrix(cc: "CommCoefficients", req: Requirements, node_bws: list[int], tau: int, ratio: Fraction, pp,
                     terms: "tuple | None" = None):
    """The communication-time rule  PP t_comm <= ratio PP t_mem  for several per-node bandwidths, exact.

    ratio x PP x t_mem = ratio x step bytes / (tau x b_node) picoseconds, taken term by term, each
    floored: floor(ratio W1 / (tau b)) PP + floor(ratio KV / (tau b)) M + floor(ratio X(min(PP, c)) / (tau b)).
    ``node_bws``: one per-node memory bandwidth (bytes/s) for each row (calibrated: the streaming bandwidth,
    and the KV read grows with replication, ``kv_read_for_tp``); ``pp``: a 1-D array (the same
    PP values for every row, giving rows x PP) or a column (one PP per row).
    """
    import numpy as np
    from ..scaling import INT_LIMIT
    m = micro_batch_m(pp, req.concurrency)
    # ``terms``: precomputed (the same node_bws, tau and ratio); its last item keeps the X table as arrays
    cw, ck, xt, xt_max, tables = terms if terms is not None else comm_rule_terms(req, node_bws, tau, ratio)
    top = max(cc.pp_comm_ps(int(pp.max()), int(m.max())),
              max(cw) * int(pp.max()) + max(ck) * int(m.max()) + xt_max)
    kind = np.int64 if top < INT_LIMIT else object
    if ("cw", kind) not in tables:
        tables["cw", kind], tables["ck", kind] = np.array(cw, dtype=kind)[:, None], np.array(ck, dtype=kind)[:, None]
    cw_c, ck_c = tables["cw", kind], tables["ck", kind]
    pp_k, m_k = pp.astype(kind), m.astype(kind)
    rhs = cw_c * pp_k + ck_c * m_k
    if req.moe_extra_bytes:
        table = tables.get(kind)
        if table is None:
            table = tables[kind] = np.array(xt, dtype=kind)
        rhs = rhs + table[np.arange(len(node_bws))[:, None], np.minimum(pp, req.concurrency).astype(np.int64)]
    return np.asarray(cc.pp_comm_ps(pp_k, m_k) <= rhs, dtype=bool)
