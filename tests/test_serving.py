"""Serving beyond plain decode: hand-computed cases for each option, and the search honouring it."""

from __future__ import annotations

import copy
import math
from fractions import Fraction

import pytest

from archsearch import physics, solve
from archsearch.errors import ProblemError
from archsearch.space import build_space
from archsearch.physics import Design
from archsearch.problem import problem_from_dict

from conftest import SMALL_PROBLEM


def make(**changes):
    """SMALL_PROBLEM with workload/constraints fields changed (a key 'model' replaces the model)."""
    d = copy.deepcopy(SMALL_PROBLEM)
    for k, v in changes.items():
        if k == "model":
            d["model"] = v
        elif k in ("max_ttft_ms", "expert_parallel", "max_nodes", "budget_usd", "balance", "tensor_parallel"):
            d["constraints"][k] = v
        else:
            d["workload"][k] = v
    return problem_from_dict(d, "test")


def hbm4_design(space, units=6, nodes=2, tp=2, net="ucie-d2d", topo="ring", backing=None):
    mem = next(m for m in space.mems if m.memory.name == "hbm4" and m.units == units)
    nc = next(n for n in space.nets if n.tier and n.tier.name == net and n.topology.name == topo
              and n.n_min <= nodes <= n.n_max)
    return Design(mem, nc, nodes, tp, backing)


# -- KV sparsity ------------------------------------------------------------------------------------
def test_kv_read_fraction_cuts_bandwidth_not_capacity():
    full, sparse = make(), make(kv_read_fraction=0.25)
    rf, rs = physics.requirements(full), physics.requirements(sparse)
    assert rs.kv_read_bytes_per_request == math.ceil(327_680 * 4096 / 4)
    assert rs.capacity_required_bytes == rf.capacity_required_bytes
    sp = build_space(sparse)
    d = hbm4_design(sp, nodes=2, tp=2)
    met = physics.evaluate(d, rs, sparse)
    # PP = 1: M = c = 64 requests; t_mem = (W + 64 x KV/4) / B
    assert met.t_mem_s == Fraction(rs.weights_bytes + 64 * rs.kv_read_bytes_per_request, 2 * 6 * 2000 * 10**9)


# -- speculative decoding ---------------------------------------------------------------------------
def test_the_draft_model_must_fit_too():
    plain = physics.requirements(make())
    spec = physics.requirements(make(speculative={"draft_tokens": 4, "accepted_tokens_per_step": 3,
                                                  "draft_parameters": 1e9}))
    assert spec.capacity_required_bytes == -(-(plain.weights_bytes + 2 * 10**9 + plain.kv_bytes_total) * 11 // 10)


def test_speculative_step_reads_once_and_yields_accepted_tokens():
    p = make(speculative={"draft_tokens": 4, "accepted_tokens_per_step": 3, "draft_parameters": 1e9})
    req = physics.requirements(p)
    assert req.step_tokens == 5 and req.accepted_per_step == 3
    # one step: the target's weights once plus 4 draft passes of a 1B bf16 draft
    assert req.step_weight_bytes == 68_980_000_000 * 2 + 4 * 2 * 10**9
    # verification computes 5 tokens per request slot, the draft 4 of its own
    assert req.step_flops_per_m == 2 * 68_980_000_000 * 5 + 2 * 10**9 * 4
    sp = build_space(p)
    met = physics.evaluate(hbm4_design(sp), req, p)
    step = req.step_weight_bytes + 64 * req.kv_read_bytes_per_request
    assert met.t_mem_s == Fraction(step, 24 * 10**12) / 3
    assert met.t_comp_s == Fraction(req.step_flops_per_m * 64, 3 * 2 * 989 * 10**12)


def test_speculation_raises_speed_at_most_by_its_accepted_tokens():
    plain, spec = make(), make(speculative={"draft_tokens": 4, "accepted_tokens_per_step": 3})
    sp = build_space(plain)
    d = hbm4_design(sp)
    a = physics.evaluate(d, physics.requirements(plain), plain).decode_tokens_per_s_per_user
    b = physics.evaluate(hbm4_design(build_space(spec)), physics.requirements(spec), spec).decode_tokens_per_s_per_user
    assert a < b <= 3 * a


def test_accepted_tokens_cannot_exceed_the_draft_plus_one():
    with pytest.raises(ProblemError, match="exceeds draft_tokens \\+ 1"):
        make(speculative={"draft_tokens": 2, "accepted_tokens_per_step": 3.5})


# -- mixture of experts -----------------------------------------------------------------------------
def test_mixtral_expected_distinct_experts_grow_with_the_batch():
    p = make(model="mixtral-8x7b")
    m = p.model
    shared, experts = 46.7e9 - 45.07e9, 45.07e9
    for tokens in (1, 4, 64):
        touched = 1 - (1 - 2 / 8) ** tokens          # E (1 - (1 - k/E)^m) / E
        assert physics.moe_weight_bytes(m, Fraction(2), Fraction(tokens)) == math.ceil(2 * (shared + experts * touched))
    req = physics.requirements(p)
    assert req.active_weight_bytes == math.ceil(2 * (shared + experts / 4))   # one token: 2 of 8 experts
    # PP = 1: one micro-batch of all 64 requests; PP = 4: four of 16 each
    one = req.step_weight_bytes + req.moe_extra_bytes[0]
    assert one == physics.moe_weight_bytes(m, Fraction(2), Fraction(64))
    four = physics.step_bytes(req, 4) - 64 * req.kv_read_bytes_per_request
    assert four == 4 * physics.moe_weight_bytes(m, Fraction(2), Fraction(16))


def test_expert_parallel_replaces_moe_all_reduces_with_all_to_alls():
    tp, ep = make(model="mixtral-8x7b"), make(model="mixtral-8x7b", expert_parallel=True)
    sp = build_space(tp)
    net = next(n for n in sp.nets if n.tier and n.tier.name == "nvlink4" and n.topology.name == "single-switch")
    req = physics.requirements(tp)
    a = physics.base_comm(net, 4, req, tp, nodes=8)
    b = physics.base_comm(net, 4, req, ep, nodes=8)
    link = net.link_bytes_per_s
    s_tok = 4096 * 2
    # EP: 32 attention all-reduces (2 steps, 1 hop) + 2 x 32 all-to-alls (1 step over the switch's 2-hop diameter)
    lat = net.latency_s
    assert b.ar == physics.s_to_ps_ceil(32 * 2 * lat + 2 * 32 * 1 * 2 * lat)
    # all-to-all of 2 expert copies per token: injection (3/4) / (18 links x b) beats the bisection bound
    a2a = Fraction(3, 4) / (18 * link)
    # each of the 4 nodes dispatches 2 copies of its quarter of the tokens
    assert b.ar_tok == physics.s_to_ps_ceil(32 * Fraction(3, 2) * s_tok / (18 * link) + 2 * 32 * a2a * 2 * s_tok / 4)
    assert a.ar_tok == physics.s_to_ps_ceil(64 * Fraction(3, 2) * s_tok / (18 * link))


# -- prefill and time to first token ----------------------------------------------------------------
def test_prefill_flops_and_ttft_by_hand():
    p = make(prompt_tokens=2048, max_ttft_ms=500)
    req = physics.requirements(p)
    # 2 x 68.98B x 2048 + causal attention 2 x 80 layers x 2048^2 x (64 heads x 128)
    assert req.prefill_flops == 2 * 68_980_000_000 * 2048 + 2 * 80 * 2048**2 * 64 * 128
    sp = build_space(p)
    d = hbm4_design(sp)
    met = physics.evaluate(d, req, p)
    comp = Fraction(req.prefill_flops) / (2 * 989 * 10**12 * Fraction(1, 2))
    mem = Fraction(req.weights_bytes, 2 * 6 * 2000 * 10**9)
    assert met.ttft_s >= max(comp, mem) and met.ttft_s == max(comp, mem, met.ttft_s)
    # the amortised prefill joins the compute roofline: 64 requests x F / (512 outputs x 50%) per user token
    assert req.amortised_flops_per_token == Fraction(64 * req.prefill_flops, 512) * 2
    assert met.t_comp_s == (Fraction(2 * req.active_parameters * 64) + req.amortised_flops_per_token) / (2 * 989 * 10**12)


def test_a_ttft_limit_drops_designs_too_weak_in_compute():
    loose = solve(make(prompt_tokens=4096, max_ttft_ms=60000), top_k=1).designs[0]
    limit_ms = float(loose.metrics.ttft_s) * 1000 * 0.9          # 10% under the unconstrained best's TTFT
    tight = solve(make(prompt_tokens=4096, max_ttft_ms=limit_ms), top_k=3)
    assert all(rd.metrics.ttft_s * 1000 <= Fraction(limit_ms) for rd in tight.designs)
    assert tight.designs[0].design.key() != loose.design.key()
    # and a faster first token costs bandwidth per dollar (or at least none is gained)
    assert tight.designs[0].metrics.bandwidth_per_dollar <= loose.metrics.bandwidth_per_dollar


def test_ttft_needs_a_prompt():
    with pytest.raises(ProblemError, match="max_ttft_ms: needs workload.prompt_tokens"):
        make(max_ttft_ms=100)


# -- KV swapping ----------------------------------------------------------------------------------------
SWAP = {"idle_requests": 500, "backing": ["ddr5-rdimm", "nvme-ssd"], "mode": "swap", "node_io_gb_per_s": 64}


def test_backing_units_hold_the_parked_kv_and_carry_the_swap_io():
    p = make(kv_swap=SWAP, prompt_tokens=512)
    req = physics.requirements(p)
    hist = 327_680 * (4096 - 512)           # a returning request brings back all but its new prompt
    assert req.swap.parked_bytes == 500 * hist
    # each turn of 512 tokens moves a request's history out and, next turn, back in: c x history / O each way
    assert req.swap.io_bytes_per_user_token == Fraction(64 * hist, 512)
    io = 20 * req.swap.io_bytes_per_user_token                     # bytes/s each way at 20 tokens/s per user
    ddr, ssd = physics.backing_configs(p, req)
    # a device carries both directions; 64 GiB DIMMs at 51.2 GB/s, 7.68 TB SSDs at 14 GB/s
    assert ddr.units == max(math.ceil(500 * hist / (64 * 2**30)), math.ceil(2 * io / 51.2e9))
    assert ssd.units == max(math.ceil(500 * hist / 7680e9), math.ceil(2 * io / 14e9))
    assert ddr.cost_usd == 160 * ddr.units                            # $160 per DIMM, build basis
    assert ssd.cost_usd == Fraction(920, 3) * ssd.units                # $920 market / 3 on the build basis, exact
    assert physics.io_min_nodes(req) == math.ceil(io / 64e9)           # a node's path is full duplex


def test_a_turn_that_is_all_prompt_swaps_nothing_and_recomputes_nothing():
    swap = physics.requirements(make(kv_swap=SWAP, prompt_tokens=4096))
    rec = physics.requirements(make(kv_swap={**SWAP, "mode": "recompute"}, prompt_tokens=4096))
    assert swap.swap.parked_bytes == 0 and swap.swap.io_bytes_per_user_token == 0
    assert rec.amortised_flops_per_token == Fraction(64 * rec.prefill_flops, 512) * 2


def test_swapping_adds_the_backing_tier_to_cost():
    plain, swap = solve(make(), top_k=1).designs[0], solve(make(kv_swap=SWAP), top_k=1).designs[0]
    b = swap.design.backing
    assert b is not None and swap.metrics.cost_usd == swap.metrics.node_cost_usd + swap.metrics.network_cost_usd + b.cost_usd
    assert swap.metrics.bandwidth_per_dollar < plain.metrics.bandwidth_per_dollar


def test_best_mode_is_the_better_of_swap_and_recompute():
    best = solve(make(kv_swap={**SWAP, "mode": "best"}), top_k=3)
    by_mode = [solve(make(kv_swap={**SWAP, "mode": m}), top_k=3) for m in ("swap", "recompute")]
    top = max((rd for r in by_mode for rd in r.designs), key=lambda rd: rd.metrics.bandwidth_per_dollar)
    assert best.designs[0].metrics.bandwidth_per_dollar == top.metrics.bandwidth_per_dollar
    assert [rd.rank for rd in best.designs] == [1, 2, 3]


def test_recompute_charges_the_history_prefill_to_compute_and_to_the_first_token():
    p = make(prompt_tokens=512, kv_swap={**SWAP, "mode": "recompute"})
    req = physics.requirements(p)
    whole = physics.prefill_flops(p.model, 4096)
    assert req.swap is None
    # each turn prefills its prompt and recomputes the history: the whole context, amortised over 512 outputs
    assert req.amortised_flops_per_token == Fraction(64 * whole, 512) * 2
    # and the turn's first token waits for all of it
    assert req.prompt_tokens == 4096 and req.prefill_flops == whole


def test_swapping_needs_a_speed_target():
    with pytest.raises(ProblemError, match="sized at the speed target"):
        make(min_decode_tokens_per_s_per_user=0, kv_swap=SWAP)


def test_serving_answers_do_not_depend_on_the_worker_count():
    from archsearch import load_problem
    p = load_problem("llama-3.1-70b-kv-swap")
    # top 6: a 7-node mesh-2d is a line of 7, a machine of its own, and takes rank 3
    one, two = solve(p, top_k=6, workers=1), solve(p, top_k=6, workers=2)
    assert [d.design.key() for d in one.designs] == [d.design.key() for d in two.designs]
    assert any(d.design.backing is None for d in one.designs)       # mode best: some designs recompute
    assert any(d.design.backing is not None for d in one.designs)   # and some swap


def test_prefill_link_traffic_is_amortised_into_decode_communication():
    p = make(prompt_tokens=2048)
    req = physics.requirements(p)
    sp = build_space(p)
    net = next(n for n in sp.nets if n.tier and n.tier.name == "nvlink4" and n.topology.name == "single-switch")
    base = physics.base_comm(net, 4, req, p, nodes=8)
    step = physics.decode_comm(net, 4, req, p, nodes=8)
    # every 512 output tokens each of 64 requests brings 2,048 prompt tokens through the same all-reduces
    assert step.pf_ar == math.ceil(Fraction(64 * 2048, 512) * base.ar_tok)
    assert step.pf_hop == math.ceil(Fraction(64 * 2048, 512) * base.hop_tok)
    plain = physics.decode_comm(net, 4, physics.requirements(make()), make(), nodes=8)
    assert step.pp_comm_ps(2, 64) - plain.pp_comm_ps(2, 64) == step.pf_ar + step.pf_hop
