"""archsearch.physics.calibrated: the calibrated time per token and TTFT, and what feeds them."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest

from archsearch import physics
from archsearch.problem import problem_from_dict
from archsearch.units import PS_PER_S

pytestmark = pytest.mark.calibrated


def problem(speed_model="calibrated", overrides=None, **workload):
    raw = {"name": "t", "model": "llama-2-70b",
           "workload": {"context_length": 4096, "concurrency": 1, "min_decode_tokens_per_s_per_user": 10, **workload},
           "constraints": {"max_nodes": 64, "speed_model": speed_model},
           **({"overrides": overrides} if overrides else {})}
    return problem_from_dict(raw, "test")


def design(p, nodes=8, tp=8, tier="nvlink4", topology="single-switch"):
    mc = next(m for m in physics.memory_configs(p) if m.node.name == "h100-sxm")
    nc = next(n for n in physics.network_configs(p)[1:] if n.tier.name == tier and n.topology.name == topology
              and n.n_min <= nodes <= n.n_max)
    return physics.Design(mc, nc, nodes, tp)


# round numbers: 1 us per layer, 10 us per collective, half the bandwidth, a quarter of the FLOP/s
# (the batch-aware efficiencies and the FP8 layer time off: their own tests below turn them on)
ROUND = {"nodes": {"h100-sxm": {"layer_overhead_ns": 1000, "decode_compute_efficiency": 0.25,
                                "prefill_compute_efficiency": 0.5, "fp8_layer_overhead_ns": 0,
                                "decode_efficiency_half_tokens": 0, "prefill_efficiency_half_tokens": 0}},
         "memory": {"hbm3-h100": {"bandwidth_efficiency": 0.5}},
         "interconnects": {"nvlink4": {"collective_latency_ns": 10000}}}


def test_time_per_token_is_max_of_memory_and_compute_plus_communication_plus_fixed():
    p = problem(overrides=ROUND)
    req, d = physics.requirements(p), design(p)
    met = physics.evaluate(d, req, p)
    weights, kv = 2 * 68980000000, 80 * 2 * 8 * 128 * 2 * 4096
    assert met.t_mem_s == pytest.approx((weights + kv) / (8 * 0.5 * 3350e9), rel=1e-9)
    assert met.t_fixed_s == Fraction(80 * 1000, 10**9)
    # 160 all-reduces: 2 steps x 1 hop x 1 us (tier latency) + 10 us each, plus the bandwidth part
    roof = physics.evaluate(d, physics.roofline(req), p)
    assert met.t_comm_s - roof.t_comm_s == pytest.approx(160 * 10e-6, rel=1e-6)
    t = max(met.t_mem_s, met.t_comp_s) + met.t_comm_s + met.t_fixed_s
    assert met.decode_tokens_per_s_per_user == 1 / t
    assert met.decode_tokens_per_s_per_user_bound == 1 / max(roof.t_mem_s, roof.t_comm_s, roof.t_comp_s)


def test_decode_attention_flops_count_the_kv_read():
    p = problem(kv_read_fraction=0.5)
    req = physics.requirements(p)
    assert req.attention_flops_per_m == 4 * 80 * 2048 * 64 * 128
    assert physics.requirements(problem("roofline", kv_read_fraction=0.5)).attention_flops_per_m == 0


def test_the_speed_check_agrees_with_the_figure():
    p = problem(overrides=ROUND)
    req, d = physics.requirements(p), design(p)
    met = physics.evaluate(d, req, p)
    for target in (met.decode_tokens_per_s_per_user * Fraction(99, 100), met.decode_tokens_per_s_per_user * 2):
        p2 = problem(overrides=ROUND, min_decode_tokens_per_s_per_user=float(target))
        req2 = physics.requirements(p2)
        [chk] = [c for c in physics.checks(d, req2, p2) if c.name == "speed"]
        assert chk.ok == (req2.min_tokens_per_s <= met.decode_tokens_per_s_per_user)


def test_the_roofline_is_unchanged_and_its_own_bound():
    p = problem("roofline", overrides=ROUND)
    req, d = physics.requirements(p), design(p)
    met = physics.evaluate(d, req, p)
    assert met.decode_tokens_per_s_per_user == met.decode_tokens_per_s_per_user_bound
    assert met.t_mem_s == Fraction(2 * 68980000000 + 80 * 2 * 8 * 128 * 2 * 4096, 8 * 3350 * 10**9)
    assert met.t_fixed_s == 0 and met.speed_model == "roofline"


def test_ttft_is_max_of_compute_and_weight_reads_plus_communication_plus_fixed():
    p = problem(overrides=ROUND, prompt_tokens=4096)
    req, d = physics.requirements(p), design(p)
    met = physics.evaluate(d, req, p)
    flops = 2 * 68980000000 * 4096 + 2 * 80 * 4096 * 4096 * 64 * 128
    work = max(flops / (8 * 0.5 * 989.4e12), 2 * 68980000000 / (8 * 0.5 * 3350e9))
    comm = physics.base_comm(d.net, 8, req, p, nodes=8).prompt_ps(1, 4096) / PS_PER_S
    assert float(met.ttft_s) == pytest.approx(work + comm + 80e-6, rel=1e-9)
    # the workload's prefill_compute_efficiency overrides the node's
    p2 = problem(overrides=ROUND, prompt_tokens=4096, prefill_compute_efficiency=0.25)
    assert physics.prefill_efficiency(physics.requirements(p2), d.mem) == Fraction(1, 4)


def _round(**node):
    over = {k: dict(v) for k, v in ROUND.items()}
    over["nodes"] = {"h100-sxm": {**ROUND["nodes"]["h100-sxm"], **node}}
    return over


def test_prefill_efficiency_follows_the_prompt_length():
    """0.5 x L / (L + 4096) at L = 4096 is 0.25: the compute part of TTFT doubles, nothing else moves."""
    base = problem(overrides=ROUND, prompt_tokens=4096)
    half = problem(overrides=_round(prefill_efficiency_half_tokens=4096), prompt_tokens=4096)
    d = design(base)
    assert physics.prefill_efficiency(physics.requirements(half), design(half).mem) == Fraction(1, 4)
    flops = 2 * 68980000000 * 4096 + 2 * 80 * 4096 * 4096 * 64 * 128
    t0 = physics.evaluate(d, physics.requirements(base), base).ttft_s
    t1 = physics.evaluate(design(half), physics.requirements(half), half).ttft_s
    assert float(t1 - t0) == pytest.approx(flops / (8 * 0.25 * 989.4e12) - flops / (8 * 0.5 * 989.4e12), rel=1e-9)


def test_decode_efficiency_follows_the_tokens_per_step():
    """Batch 64 at TP 8, PP 1 (64 tokens per GEMM): 0.25 x 64 / (64 + 192) = 1/16 of peak, a quarter of the
    batch-independent 0.25: the compute time is 4x, (64 + 192) / 64."""
    flat = problem(overrides=ROUND, concurrency=64)
    aware = problem(overrides=_round(decode_efficiency_half_tokens=192), concurrency=64)
    m0 = physics.evaluate(design(flat), physics.requirements(flat), flat)
    m1 = physics.evaluate(design(aware), physics.requirements(aware), aware)
    req = physics.requirements(flat)
    per_token = (req.step_flops_per_m + req.attention_flops_per_m) / (8 * 0.25 * 989.4e12)
    # a step computes 64 requests (each request's time rounded up to a picosecond)
    assert float(m0.t_comp_s) == pytest.approx(64 * per_token, rel=1e-6)
    assert float(m1.t_comp_s) == pytest.approx(4 * 64 * per_token, rel=1e-6)
    assert m1.t_mem_s == m0.t_mem_s and m1.t_fixed_s == m0.t_fixed_s


def test_fp8_compute_adds_its_per_layer_time():
    """fp8_layer_overhead_ns counts only when the matrix work runs in FP8: 80 layers x (1 + 2) us."""
    over = _round(fp8_layer_overhead_ns=2000)
    for dtype, fixed in (("bf16", 80 * 1000), ("fp8", 80 * 3000)):
        p = problem(overrides=over, compute_dtype=dtype)
        assert physics.evaluate(design(p), physics.requirements(p), p).t_fixed_s == Fraction(fixed, 10**9)


def test_collective_latency_per_topology_kind():
    over = {"interconnects": {"nvlink4": {"collective_latency_ns": 10000,
                                          "collective_latency_ns_by_topology": {"switch": 2500}}}}
    p = problem(overrides=over)
    nets = {n.topology.name: n for n in physics.network_configs(p)[1:] if n.tier.name == "nvlink4"}
    assert physics.collective_latency_s(nets["single-switch"]) == Fraction(25, 10**7)
    assert physics.collective_latency_s(nets["all-to-all"]) == Fraction(1, 10**5)


def test_kv_is_replicated_beyond_the_kv_heads():
    req = physics.requirements(problem(concurrency=4))
    kv = 80 * 2 * 8 * 128 * 2 * 4096
    assert physics.kv_replication(req, 8) == 1 and physics.kv_replication(req, 16) == 2
    assert physics.kv_read_for_tp(req, 32) == 4 * kv
    assert physics.capacity_for_tp(req, 16) - physics.capacity_for_tp(req, 8) == pytest.approx(4 * kv * 1.1, abs=1)
    roof = physics.requirements(problem("roofline", concurrency=4))
    assert physics.kv_replication(roof, 16) == 1


def test_an_mla_cache_is_held_on_every_tensor_parallel_node():
    raw = {"name": "t", "model": "deepseek-v3", "workload": {"context_length": 4096, "concurrency": 1},
           "constraints": {"max_nodes": 64}}
    req = physics.requirements(problem_from_dict(raw, "test"))
    assert physics.kv_replication(req, 8) == 8


def test_matrix_rows_are_node_classes_and_loosen_with_bandwidth():
    p = problem(overrides=ROUND)
    req, d = physics.requirements(p), design(p)
    terms = physics.node_terms(req, d.mem)
    faster = dataclasses.replace(terms, eff_bw=terms.eff_bw * 4)
    pp = np.arange(1, 5, dtype=np.int64)
    ok = physics.speed_matrix(req, physics.decode_comm(d.net, 8, req, p, nodes=8), [terms, faster], 8, pp)
    assert ok.shape == (2, 4) and (ok[1] >= ok[0]).all()


def _class_coefficients(req, tau: int, t) -> tuple:
    """The reference: (cw, ck, cf, c0, fixed, ch, X table) of one node class at TP degree tau, in picoseconds,
    each a ceiling of an exact Fraction, written out class by class (the library computes them vectorised)."""
    def ceil(x) -> int:
        return math.ceil(Fraction(x))
    ps = PS_PER_S
    flops = ps * (req.step_flops_per_m + req.attention_flops_per_m)
    am = req.accepted_per_step * req.amortised_prefill_flops * ps
    return (ceil(Fraction(ps * req.step_weight_bytes, tau * t.eff_bw)),
            ceil(Fraction(ps * physics.kv_read_for_tp(req, tau), tau * t.eff_bw)),
            ceil(Fraction(flops) / (tau * t.decode_flops)), ceil(Fraction(am) / (tau * t.prefill_flops)),
            req.layers * t.overhead_ps,
            ceil(Fraction(flops) * Fraction(t.decode_half_tokens) / req.step_tokens / (tau * t.decode_flops)),
            (0,) + tuple(ceil(Fraction(ps * x, tau * t.eff_bw)) for x in req.moe_extra_bytes))


@pytest.mark.parametrize("name", ["llama-2-70b-chat", "mixtral-8x7b-batch", "llama-3.1-70b-speculative",
                                  "long-document-prefill", "deepseek-v3-serving"])
def test_class_columns_are_the_class_coefficients_of_every_class(name):
    """The vectorised coefficients equal the reference ``_class_coefficients`` class by class (dense, MoE,
    speculative, prefill and batch-aware decode efficiency all exercised by the bundled problems)."""
    from archsearch import load_problem
    p = load_problem(name)
    req = physics.requirements(p)
    terms = sorted({physics.node_terms(req, m) for m in physics.memory_configs(p)})
    assert any(t.decode_half_tokens for t in terms)
    for tau in physics.tp_values(p):
        cols = physics.class_columns(req, tau, terms)
        for i, t in enumerate(terms):
            cw, ck, cf, c0, fx, ch, xt = _class_coefficients(req, tau, t)
            assert (cols["cw"][i], cols["ck"][i], cols["cf"][i], cols["c0"][i], cols["fx"][i], cols["ch"][i],
                    tuple(cols["xt"][i])) == (cw, ck, cf, c0, fx, ch, xt), (name, tau, t)


def _slack_cases():
    """(requirements, classes, TP, PP values, decode coefficients): bundled problems, a huge speed target's
    denominator (Python integers), and a two-level network's coefficients."""
    from archsearch import load_problem
    from archsearch.space import build_space
    out = []
    for name in ("llama-2-70b-chat", "mixtral-8x7b-batch", "llama-3.1-70b-speculative"):
        space = build_space(load_problem(name))
        classes = space.physics_cache.node_classes[0]
        for n in space.nets[1::7]:
            for t in space.tps:
                pp = space.physics_cache.pp_range(n, t)
                if pp is not None:
                    nodes = space.physics_cache.machine_groups(n, t)[0][0]
                    out.append((space.req, classes, t, pp, space.physics_cache.decode_comm(n, t, nodes)))
    req, classes, t, pp, cc = out[0]
    huge = dataclasses.replace(req, min_tokens_per_s=Fraction(10**30 + 1, 10**29))
    out.append((huge, classes, t, pp, cc))
    out.append((req, classes, t, pp, dataclasses.replace(cc, stages_per_domain=2, fhop=cc.hop * 3,
                                                          fhop_tok=cc.hop_tok * 5, pf_fhop=7)))
    return out


def test_speed_slack_decides_exactly_what_speed_matrix_decides():
    """comm <= speed_slack is speed_matrix, cell by cell, in int64 and in Python integers alike; both outcomes
    occur, so a slack off by one picosecond would show."""
    seen = set()
    cases = _slack_cases()
    assert physics.speed_slack(cases[-2][0], cases[-2][1], cases[-2][2], cases[-2][3]).dtype == object
    for req, classes, t, pp, cc in cases:
        want = physics.speed_matrix(req, cc, classes, t, pp)
        slack = physics.speed_slack(req, classes, t, pp)
        comm = cc.pp_comm_ps(pp.astype(object), physics.micro_batch_m(pp, req.concurrency).astype(object))
        assert ((comm[None, :] <= slack) == want).all()
        seen.update(want.ravel().tolist())
        # at the boundary: one picosecond more communication than the slack allows fails, exactly the slack passes
        total = np.maximum(*physics.step_times(req, cc, classes, t, pp)[:2]) + physics.step_times(
            req, cc, classes, t, pp)[3]
        sr = physics.step_rate(req)
        assert (sr.numerator * (total + slack) <= sr.denominator * PS_PER_S * pp.astype(slack.dtype)).all()
        assert not (sr.numerator * (total + slack + 1) <= sr.denominator * PS_PER_S * pp.astype(slack.dtype)).any()
    assert seen == {True, False}


def test_node_terms_cache_keys_on_every_input_it_reads():
    """``node_terms`` is remembered by the memory configuration and the requirement fields in ``TermsInputs``
    (computing from that record, a field read but missing from the key would raise): changing any one gives
    what a fresh computation gives."""
    from cache_keys import assert_key_covers
    p = problem(overrides={"nodes": {"h100-sxm": {"prefill_efficiency_half_tokens": 512,
                                                  "fp8_layer_overhead_ns": 100}}}, prompt_tokens=1024)
    req, mems = physics.requirements(p), physics.memory_configs(p)
    mc = next(m for m in mems if m.node.name == "h100-sxm")
    other = next(m for m in mems if m.node.name != "h100-sxm")
    variants = {"configuration": dict(mc=other),
                "speed model": dict(req=dataclasses.replace(req, speed_model="roofline")),
                "compute dtype": dict(req=dataclasses.replace(req, compute_dtype="fp8")),
                "roofline prefill efficiency": dict(req=dataclasses.replace(req, speed_model="roofline",
                                                                            prefill_efficiency=Fraction(1, 3))),
                "prefill efficiency override": dict(req=dataclasses.replace(req,
                                                                            prefill_efficiency_override=Fraction(1, 5))),
                "prompt tokens": dict(req=dataclasses.replace(req, prompt_tokens=2048))}
    # the roofline variant's base must be the roofline too, or the change is the speed model's
    assert_key_covers(physics.node_terms_of, lambda kw: physics.node_terms(kw["req"], kw["mc"]),
                      dict(req=req, mc=mc), {k: v for k, v in variants.items() if k != "roofline prefill efficiency"})
    roof = dataclasses.replace(req, speed_model="roofline")
    assert_key_covers(physics.node_terms_of, lambda kw: physics.node_terms(kw["req"], kw["mc"]),
                      dict(req=roof, mc=mc), {"roofline prefill efficiency": variants["roofline prefill efficiency"]})
