"""What a model and workload ask of any design: bytes to hold and move, FLOPs, targets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Optional

from ..units import dtype_bytes, exact, gb_per_s_to_bytes_per_s

if TYPE_CHECKING:  # pragma: no cover
    from ..problem import Problem


# -- requirements ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Requirements:
    """Everything a design must carry and move, in whole bytes and FLOPs (from the model and workload)."""

    weights_bytes: int
    active_weight_bytes: int            # weights one token reads (MoE: its active experts)
    kv_bytes_per_token: int
    kv_bytes_per_request: int
    kv_bytes_total: int
    capacity_required_bytes: int
    activation_bytes_per_token: int
    concurrency: int
    layers: int
    active_parameters: int
    min_tokens_per_s: Fraction
    # decode step (speculative decoding: a step verifies gamma + 1 tokens per request, yields a)
    kv_read_bytes_per_request: int      # KV read per request per step: ceil(kv_read_fraction x KV)
    step_tokens: int                    # tokens verified per request per step: gamma + 1 (1 without)
    accepted_per_step: Fraction         # tokens a step yields per request: a (1 without)
    step_weight_bytes: int              # W1: weights one request's step reads, plus gamma draft passes
    moe_extra_bytes: tuple[int, ...]    # X(p), p = 1..c: extra bytes of p micro-batches over p x W1 (MoE)
    step_flops_per_m: int               # FLOPs of a step per request slot: 2 P (gamma+1) + 2 P_draft gamma
    # prefill before a first token (0 and None when prompt_tokens is 0): the prompt, or under KV
    # recompute the whole context (the history is prefilled again before the turn's first token)
    prompt_tokens: int
    prefill_flops: int                  # 2 P L + 2 layers L^2 heads head_dim
    prefill_weight_bytes: int           # weights it reads (MoE: the experts L tokens touch)
    prefill_efficiency: Fraction
    amortised_flops_per_token: Fraction  # prefill (and KV recompute) FLOPs at peak per user token: c F / (O eff)
    max_ttft_s: Optional[Fraction]
    output_tokens: int
    # KV swapping (zero when off): parked KV and the I/O a turn costs
    swap: Optional["SwapNeed"]
    # the speed model (docs/calibration.md); under ``calibrated`` the roofline fields above are the bound
    # (prefill at peak FLOP/s) and these add what the calibrated time per token needs
    speed_model: str = "roofline"
    kv_heads: int = 1                   # KV heads: TP beyond them replicates each head (capacity and reads)
    attention_flops_per_m: int = 0      # decode attention FLOPs of a step per request slot (calibrated only)
    amortised_prefill_flops: Fraction = Fraction(0)  # c x (prefill + recompute FLOPs) / O per user token
    prefill_efficiency_override: Optional[Fraction] = None  # the workload's prefill_compute_efficiency, if set
    held_weight_bytes: int = 0          # weights and draft weights held (capacity without KV and overhead)
    capacity_overhead: Fraction = Fraction(0)
    compute_dtype: str = "bf16"         # the workload's matrix-work precision (FP8 adds per-layer quantisation)

    @property
    def calibrated(self) -> bool:
        return self.speed_model == "calibrated"


@dataclass(frozen=True)
class SwapNeed:
    """KV parked between turns in a backing tier, and the I/O that moving it costs.

    A returning request brings back its history (context - prompt tokens of KV; its new prompt is
    prefilled anyway): each turn moves it out and, at the next turn, back in.
    """

    parked_bytes: int                   # idle requests x history KV
    io_bytes_per_user_token: Fraction   # each way: c x history KV / O (out and in each carry this)
    node_io_bytes_per_s: Fraction       # each node's path to the backing tier
    backing: tuple[str, ...]


def moe_weight_bytes(model, weight_bytes_per_param: Fraction, tokens: Fraction) -> int:
    """Weight bytes a micro-batch of ``tokens`` tokens reads: the shared part plus the distinct experts it touches.

    Expected distinct experts per MoE layer with E experts, k per token, m tokens routed
    independently and uniformly: E (1 - (1 - k/E)^m).  A dense model reads all its weights.
    """
    if model.moe is None:
        return math.ceil(exact(model.active_parameters) * weight_bytes_per_param)
    moe = model.moe
    miss = (1.0 - moe.active_experts / moe.experts) ** float(tokens)   # share of expert weights not read
    # the one floating-point step, quantised to 1e-12 so that last-bit libm differences cannot move a byte
    touched = 1 - Fraction(round(miss * 10**12), 10**12)
    params = exact(model.parameters) - exact(moe.expert_parameters) + exact(moe.expert_parameters) * touched
    return math.ceil(params * weight_bytes_per_param)


def prefill_flops(model, tokens: int) -> int:
    """FLOPs of prefilling ``tokens`` tokens: 2 x active parameters per token plus causal attention,
    QK^T and AV each 2 L^2 d / 2 per layer (d = attention heads x head dim)."""
    d = model.attention_heads * model.head_dim
    return 2 * math.ceil(exact(model.active_parameters)) * tokens + 2 * model.layers * tokens * tokens * d


def kv_replication(req: Requirements, tau: int) -> Fraction:
    """How many nodes hold and read each KV head: TP / KV heads when TP exceeds them (calibrated only)."""
    if not req.calibrated or tau <= req.kv_heads:
        return Fraction(1)
    return Fraction(tau, req.kv_heads)


def capacity_for_tp(req: Requirements, tau: int) -> int:
    """Capacity a design at TP degree tau must hold: the KV held rep(tau) times over (see kv_replication)."""
    rep = kv_replication(req, tau)
    if rep == 1:
        return req.capacity_required_bytes
    return math.ceil((req.held_weight_bytes + req.kv_bytes_total * rep) * (1 + req.capacity_overhead))


def kv_read_for_tp(req: Requirements, tau: int) -> int:
    """KV bytes one request's step reads, over all nodes, at TP degree tau."""
    if not req.calibrated or tau <= req.kv_heads:
        return req.kv_read_bytes_per_request
    return math.ceil(req.kv_read_bytes_per_request * kv_replication(req, tau))


def requirements(problem: "Problem") -> Requirements:
    m, w = problem.model, problem.workload
    wb, kb, ab = dtype_bytes(w.weight_dtype), dtype_bytes(w.kv_dtype), dtype_bytes(w.activation_dtype)
    c = w.concurrency
    weights = math.ceil(exact(m.parameters) * wb)
    kv_tok = math.ceil(m.layers * m.kv_elements_per_layer * kb)
    kv_req = kv_tok * w.context_length
    kv_total = kv_req * c
    overhead = exact(problem.constraints.capacity_overhead_fraction)
    sp = w.speculative
    gamma = sp.draft_tokens if sp else 0
    accepted = exact(sp.accepted_tokens_per_step) if sp else Fraction(1)
    p_draft = math.ceil(exact(sp.draft_parameters)) if sp else 0
    draft_bytes = math.ceil(p_draft * wb)
    step = gamma + 1
    w1 = moe_weight_bytes(m, wb, Fraction(step)) + gamma * draft_bytes
    extra: tuple[int, ...] = ()
    if m.moe is not None:  # X(p) is only ever read at p = min(PP, c) <= max_nodes
        base = moe_weight_bytes(m, wb, Fraction(step))
        top = min(c, problem.constraints.max_nodes)
        extra = tuple(p * (moe_weight_bytes(m, wb, Fraction(step * c, p)) - base) for p in range(1, top + 1))
    active = math.ceil(exact(m.active_parameters))
    calibrated = problem.constraints.speed_model == "calibrated"
    override = exact(w.prefill_compute_efficiency) if w.prefill_compute_efficiency is not None else None
    # the roofline's prefill efficiency: the workload's (0.5 when unset, as before calibration); the calibrated
    # model's bound is prefill at peak, and its own time uses the node's efficiency (prefill.prefill_efficiency)
    eff = Fraction(1) if calibrated else (override if override is not None else Fraction(1, 2))
    lp = w.prompt_tokens
    pf = prefill_flops(m, lp) if lp else 0
    amort = Fraction(c * pf, w.output_tokens_per_request) / eff if lp and w.prefill_here else Fraction(0)
    swap = None
    history = w.context_length - lp        # what a returning request brings back: all but its new prompt
    if w.kv_swap is not None:
        if w.kv_swap.mode == "recompute":  # a turn re-prefills the history instead of swapping it in
            more = prefill_flops(m, w.context_length) - pf
            amort += Fraction(c * more, w.output_tokens_per_request) / eff
        else:
            swap = SwapNeed(parked_bytes=w.kv_swap.idle_requests * kv_tok * history,
                            io_bytes_per_user_token=Fraction(c * kv_tok * history, w.output_tokens_per_request),
                            node_io_bytes_per_s=gb_per_s_to_bytes_per_s(w.kv_swap.node_io_gb_per_s),
                            backing=w.kv_swap.backing)
    recompute = w.kv_swap is not None and w.kv_swap.mode == "recompute"
    first = w.context_length if recompute and lp else lp
    ttft = problem.constraints.max_ttft_ms
    # decode attention: QK^T and AV, 2 FLOPs per multiply-add each, over the KV a step reads, per verified token
    attn = (step * 4 * m.layers * math.ceil(exact(w.kv_read_fraction) * w.context_length) * m.attention_heads
            * m.head_dim) if calibrated else 0
    return Requirements(
        weights_bytes=weights, active_weight_bytes=moe_weight_bytes(m, wb, Fraction(1)), kv_bytes_per_token=kv_tok,
        kv_bytes_per_request=kv_req, kv_bytes_total=kv_total,
        capacity_required_bytes=math.ceil((weights + draft_bytes + kv_total) * (1 + overhead)),
        activation_bytes_per_token=math.ceil(m.hidden_size * ab),
        concurrency=c, layers=m.layers, active_parameters=active,
        min_tokens_per_s=exact(w.min_decode_tokens_per_s_per_user),
        kv_read_bytes_per_request=math.ceil(exact(w.kv_read_fraction) * kv_req),
        step_tokens=step, accepted_per_step=accepted, step_weight_bytes=w1, moe_extra_bytes=extra,
        step_flops_per_m=2 * active * step + 2 * p_draft * gamma,
        prompt_tokens=first if w.prefill_here else 0,
        prefill_flops=prefill_flops(m, first) if first and w.prefill_here else 0,
        prefill_weight_bytes=moe_weight_bytes(m, wb, Fraction(first)) if first and w.prefill_here else 0,
        prefill_efficiency=eff, amortised_flops_per_token=amort,
        max_ttft_s=exact(ttft) / 1000 if ttft is not None else None,
        output_tokens=w.output_tokens_per_request, swap=swap,
        # an MLA latent cache (kv_elements override) is shared by every head: one "KV head"
        speed_model=problem.constraints.speed_model, attention_flops_per_m=attn,
        kv_heads=1 if m.kv_elements_per_token_per_layer is not None else m.kv_heads,
        held_weight_bytes=weights + draft_bytes, capacity_overhead=overhead,
        amortised_prefill_flops=amort * eff, prefill_efficiency_override=override,
        compute_dtype=w.compute_dtype,
    )
