"""Decode: bytes and FLOPs of a step, the memory- and compute-bound speed targets."""

from __future__ import annotations

import math
from fractions import Fraction

from .requirements import Requirements


def micro_batch_m(pp, c: int):
    """M = PP * (requests per micro-batch) = max(PP, c): c requests in min(c, PP) micro-batches."""
    try:
        return pp.clip(min=c)  # numpy
    except AttributeError:
        return max(pp, c)


def moe_extra(req: Requirements, pp):
    """X(min(PP, c)): the MoE weight bytes a step reads beyond PP x W1 (0 for dense models; int or numpy)."""
    if isinstance(pp, int):
        return req.moe_extra_bytes[min(pp, req.concurrency) - 1] if req.moe_extra_bytes else 0
    import numpy as np
    if not req.moe_extra_bytes:
        return np.zeros(pp.shape, dtype=pp.dtype)
    table = np.array((0,) + req.moe_extra_bytes, dtype=object)
    out = table[np.minimum(pp.astype(np.int64), req.concurrency)]
    return out if pp.dtype == object or max(req.moe_extra_bytes) >= 2**62 else out.astype(np.int64)


def step_bytes(req: Requirements, pp, m=None):
    """Bytes one decode step reads along the pipeline: PP x W1 + M x KV_read + X(min(PP, c)).

    Per stage and micro-batch of c/k requests the stage reads its 1/PP of the weights and of
    the micro-batch's KV at 1/PP of the bandwidth; PP stages in turn give PP x W1 + M x KV.
    """
    m = micro_batch_m(pp, req.concurrency) if m is None else m
    return req.step_weight_bytes * pp + req.kv_read_bytes_per_request * m + moe_extra(req, pp)


def step_rate(req: Requirements) -> Fraction:
    """Steps per second per user the speed target needs: r / a (a = tokens a step yields)."""
    return req.min_tokens_per_s / req.accepted_per_step


def speed_ok(req: Requirements, pp, m, bandwidth_bytes_per_s) -> bool:
    """Memory-bound speed target: (r / a) x step bytes <= B, in exact integers."""
    r = step_rate(req)
    return r.numerator * step_bytes(req, pp, m) <= r.denominator * bandwidth_bytes_per_s


def speed_coefficients(req: Requirements, bw_unit: Fraction) -> tuple[int, int, int, int]:
    """(cw, ck, cx, cb) with  memory speed ok  <=>  cw PP + ck M + cx X <= cb B_units,  B_units = B / bw_unit.

    The integers of ``speed_ok`` divided by their common factor, so that the CP-SAT model and the
    oracle compare identical, smaller numbers.
    """
    r = step_rate(req)
    vals = [Fraction(r.numerator * req.step_weight_bytes), Fraction(r.numerator * req.kv_read_bytes_per_request),
            Fraction(r.numerator if req.moe_extra_bytes else 0), r.denominator * bw_unit]
    return _integers(vals)


def _integers(vals: list[Fraction]) -> tuple[int, ...]:
    """Fractions scaled by one factor to the smallest integers in the same proportion."""
    den = math.lcm(*(v.denominator for v in vals))
    ints = [int(v * den) for v in vals]
    g = math.gcd(*ints) or 1
    return tuple(i // g for i in ints)


def compute_per_token_flops(req: Requirements, m) -> Fraction:
    """FLOPs per user token at peak: a step's 2 P (gamma+1) + 2 P_draft gamma per request slot times M,
    over the a tokens it yields, plus the amortised prefill (and KV recompute) at its efficiency."""
    return Fraction(req.step_flops_per_m * m) / req.accepted_per_step + req.amortised_flops_per_token


def compute_ok(req: Requirements, m, flops_per_s) -> bool:
    """Compute-bound speed target: r x FLOPs per user token <= N x node FLOP/s, exact."""
    return req.min_tokens_per_s * compute_per_token_flops(req, m) <= flops_per_s


def compute_coefficients(req: Requirements, flops_unit: Fraction) -> tuple[int, int, int]:
    """(cm, c0, cf) with  compute ok  <=>  cm M + c0 <= cf F_units,  F_units = N x node FLOP/s / flops_unit."""
    r = req.min_tokens_per_s
    return _integers([r * req.step_flops_per_m / req.accepted_per_step, r * req.amortised_flops_per_token,
                      flops_unit])
