"""Prefill: the time to first token of one prompt (compute, weight reads, communication)."""

from __future__ import annotations

import math
from fractions import Fraction

from ..units import PS_PER_S
from .configs import MemoryConfig
from .network import CommCoefficients
from .requirements import Requirements


# -- prefill: time to first token ---------------------------------------------------------------
def ttft_compute_s(req: Requirements, mc: MemoryConfig, tau: int) -> Fraction:
    """A prompt's FLOPs on one stage's tau nodes at the prefill efficiency (stages work in turn)."""
    return Fraction(req.prefill_flops) / (tau * mc.compute_flops * req.prefill_efficiency)


def ttft_memory_s(req: Requirements, mc: MemoryConfig, tau: int) -> Fraction:
    """Each stage reads its weights once: PP x (W_prefill / PP) / (tau x b_node)."""
    return Fraction(req.prefill_weight_bytes, tau * mc.bandwidth_bytes_per_s)


def ttft_pair_ok(req: Requirements, mc: MemoryConfig, tau: int) -> bool:
    """The compute and memory parts of the TTFT limit, which depend on the node and TP degree only."""
    t = req.max_ttft_s
    return t is None or (ttft_compute_s(req, mc, tau) <= t and ttft_memory_s(req, mc, tau) <= t)


def prompt_comm_mask(cc: CommCoefficients, tokens: int, pp, factor: Fraction, const_ps: int, per_stage_ps: int):
    """factor x (one prompt's communication, ``prompt_ps``) <= const_ps + per_stage_ps x PP, over an array of PP
    values, exact (int64 where that holds, else Python integers)."""
    import numpy as np
    from ..scaling import exact_arrays
    top_pp = int(pp.max())
    top = max(factor.numerator * cc.prompt_ps(top_pp, tokens), factor.denominator * (const_ps + per_stage_ps * top_pp))
    (pp_x,) = exact_arrays(top, pp)
    return np.asarray(factor.numerator * cc.prompt_ps(pp_x, tokens)
                      <= factor.denominator * (const_ps + per_stage_ps * pp_x), dtype=bool)


def ttft_comm_mask(req: Requirements, cc: CommCoefficients, pp):
    """The communication part of the TTFT limit over an array of PP values (cc: per-token coefficients)."""
    import numpy as np
    if req.max_ttft_s is None:
        return np.ones(pp.shape, dtype=bool)
    return prompt_comm_mask(cc, req.prompt_tokens, pp, Fraction(1), math.floor(req.max_ttft_s * PS_PER_S), 0)
