"""archsearch.physics.levels: two-level configurations, their items per level, fabric hops; golden one-level results."""

from __future__ import annotations

import dataclasses
import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from archsearch import load_problem, physics, solve
from archsearch.space import build_space
from archsearch.physics import CommCoefficients
from archsearch.problem import problem_from_dict

GOLDEN = Path(__file__).parent / "golden" / "single_level_top_k.json"


def _problem(two_level: bool = True, **search):
    return problem_from_dict({
        "name": "dgx", "model": "llama-3.1-405b",
        "workload": {"context_length": 131072, "concurrency": 16, "weight_dtype": "fp8", "kv_dtype": "fp8"},
        "constraints": {"max_nodes": 64, "balance": {"rule": "comm_time"}},
        "search": {"two_level": two_level, "include": {"interconnects": ["nvlink4", "infiniband-ndr"],
                                                       "topologies": ["single-switch", "fat-tree"],
                                                       "nodes": ["h100-sxm"]}, **search}}, "test.yaml")


def _config(space, label):
    return next(n for n in space.nets if n.label == label)


def test_two_level_configs_join_domains_of_d_nodes_by_the_fabric():
    space = build_space(_problem())
    two = [n for n in space.nets if n.domain_nodes]
    # NVLink-4 domains of 8 (single switch; 2-level fat-tree) and of 256 (> max_nodes, left out);
    # InfiniBand with one port per GPU: a 1-level fat-tree spans 64 nodes
    assert sorted(n.label for n in two) == [
        "nvlink4 fat-tree (2-level) x8 + infiniband-ndr fat-tree (1-level)",
        "nvlink4 single-switch x8 + infiniband-ndr fat-tree (1-level)",
    ]
    assert all((n.n_min, n.n_max) == (9, 64) for n in two)
    assert min(n.index for n in two) > max(n.index for n in space.nets if not n.domain_nodes)
    assert not [n for n in build_space(_problem(two_level=False)).nets if n.domain_nodes]


def test_items_per_level_by_hand():
    cfg = _config(build_space(_problem()), "nvlink4 single-switch x8 + infiniband-ndr fat-tree (1-level)")
    # 20 GPUs = 3 domains of 8 (the third partly filled, built whole): per domain 18 x 8 = 144 NVLink links
    # and ceil(144 / 64) = 3 NVSwitches; 18 ports per GPU.  Fabric: 1 port and 1 link per GPU, the 4
    # GPUs beyond the first 16-node rack on optics, ceil(20 / 64) = 1 switch.
    assert physics.level_items(cfg, 20) == {
        "domain": {"ports": 360, "links": 432, "switches": 9},
        "fabric": {"ports": 20, "links": 20, "optical links": 4, "switches": 1}}
    cost = physics.level_cost_usd(cfg, 20)
    assert cost["domain"] + cost["fabric"] == physics.network_cost_usd(cfg, 20)
    assert cost["domain"] == 432 * 10 + 9 * 2000          # cable $10, NVSwitch $2,000 (build basis)
    assert physics.domains(cfg, 20) == 3


def test_fabric_hops():
    # D / TP = 2 stages per domain: PP 1..6 cross 0, 0, 1, 1, 2, 2 domain boundaries
    assert physics.fabric_hops(np.arange(1, 7), 2).tolist() == [0, 0, 1, 1, 2, 2]
    assert physics.fabric_hops(5, 1) == 4


def test_two_level_communication_by_hand():
    cc = CommCoefficients(ar=1, ar_tok=2, hop=10, hop_tok=20, stages_per_domain=2, fhop=100, fhop_tok=200)
    # PP 5: 2 fabric hops, 2 in-domain hops; M = 16
    assert cc.pp_comm_ps(5, 16) == 1 * 5 + 2 * 16 + 10 * 5 * 2 + 100 * 5 * 2 + 20 * 16 * 2 + 200 * 16 * 2
    assert cc.prompt_ps(5, 7) == 1 + 2 * 7 + 2 * (10 + 20 * 7) + 2 * (100 + 200 * 7)
    pp = np.arange(1, 9)
    assert cc.pp_comm_ps(pp, np.maximum(pp, 4)).tolist() == [cc.pp_comm_ps(int(p), max(int(p), 4)) for p in pp]
    flat = dataclasses.replace(cc, stages_per_domain=0)
    assert flat.pp_comm_ps(5, 16) == 5 + 32 + 10 * 20 + 20 * (80 - 16)


def test_two_level_coefficients_are_each_levels_own():
    space = build_space(_problem())
    cfg = _config(space, "nvlink4 single-switch x8 + infiniband-ndr fat-tree (1-level)")
    req, p = space.req, space.problem
    two = physics.base_comm(cfg, 4, req, p, nodes=20)
    dom, fab = physics.base_comm(cfg.domain, 4, req, p, nodes=8), physics.base_comm(cfg.fabric, 4, req, p, nodes=20)
    assert (two.ar, two.ar_tok, two.hop, two.hop_tok) == (dom.ar, dom.ar_tok, dom.hop, dom.hop_tok)
    assert (two.fhop, two.fhop_tok, two.stages_per_domain) == (fab.hop, fab.hop_tok, 2)


def test_tp_stays_inside_a_domain():
    space = build_space(_problem())
    cfg = _config(space, "nvlink4 single-switch x8 + infiniband-ndr fat-tree (1-level)")
    assert [t for t in space.tps if physics.tp_fits(cfg, t)] == [1, 2, 4, 8]


def test_solve_returns_two_level_designs_when_capacity_needs_several_domains():
    # 406 GB weights + 16 x 128k x 258 kB KV = 947 GB: more than 8 H100s of 80 GB
    r = solve(_problem(top_k=2))
    assert r.status == "OPTIMAL"
    best = r.designs[0].design
    assert best.net.domain_nodes == 8 and best.nodes > 8 and 8 % best.tensor_parallel == 0
    # a 1-level fat-tree of at most 64 one-port nodes is one switch: the machine is named for what it is
    assert best.architecture() == ("hbm3-h100", "nvlink4 / infiniband-ndr", "single-switch / single-switch")


@pytest.mark.parametrize("name", ["llama-2-70b-chat", "llama-3-8b-edge", "llama-3.1-405b-long-context",
                                  "deepseek-v3-serving"])
@pytest.mark.parametrize("two_level", [False, True])
def test_bundled_results_unchanged(name, two_level):
    """The top K recorded before two-level networks existed: unchanged with two levels forbidden, and (for
    these problems, whose best designs fit in one domain) with two levels allowed."""
    want = json.loads(GOLDEN.read_text())[name]
    p = load_problem(name)
    p = dataclasses.replace(p, search=dataclasses.replace(p.search, two_level=two_level))
    got = [[rd.design.mem.label, rd.design.net.label, rd.design.nodes, rd.design.tensor_parallel,
            str(rd.metrics.bandwidth_per_dollar)] for rd in solve(p).designs]
    assert got == want


def test_sram_only_answer_changes_with_two_levels():
    """llama-2-70b-sram-only: pairs of SRAM dies on UCIe, joined by 4 Groq C2C global ports per die
    (the fabric role's ports), beat the flat C2C dragonfly that wires all 16 links of every die."""
    want = json.loads(GOLDEN.read_text())["llama-2-70b-sram-only"]
    p = load_problem("llama-2-70b-sram-only")
    flat = dataclasses.replace(p, search=dataclasses.replace(p.search, two_level=False))
    assert [[rd.design.mem.label, rd.design.net.label, rd.design.nodes, rd.design.tensor_parallel,
             str(rd.metrics.bandwidth_per_dollar)] for rd in solve(flat).designs] == want
    assert not p.search.two_level  # opt-in: the bundled problem stays one-level unless asked
    best = solve(dataclasses.replace(p, search=dataclasses.replace(p.search, two_level=True))).designs[0]
    assert best.design.net.label == "ucie-d2d ring x2 + groq-c2c dragonfly"
    assert best.metrics.bandwidth_per_dollar / Fraction(want[0][4]) > 2


@pytest.mark.calibrated
def test_calibrated_collective_latency_is_each_levels_own():
    """Calibrated: the 2 x 126 TP all-reduces and in-domain hops pay NVLink-4's 8,600 ns collective latency
    (bundled catalog), the hop between domains pays InfiniBand NDR's 35,000 ns; the roofline pays neither."""
    space = build_space(_problem())
    nc = _config(space, "nvlink4 single-switch x8 + infiniband-ndr fat-tree (1-level)")
    cal = physics.base_comm(nc, 8, space.req, space.problem, nodes=16)
    roof_req = dataclasses.replace(space.req, speed_model="roofline")
    roof = physics.base_comm(nc, 8, roof_req, space.problem, nodes=16)
    assert cal.stages_per_domain == 1
    assert cal.ar - roof.ar == 2 * 126 * 8_600_000        # picoseconds
    assert cal.hop - roof.hop == 8_600_000
    assert cal.fhop - roof.fhop == 35_000_000
    assert (cal.ar_tok, cal.hop_tok, cal.fhop_tok) == (roof.ar_tok, roof.hop_tok, roof.fhop_tok)


@pytest.mark.calibrated
def test_calibrated_two_level_metrics_split_the_calibrated_comm_time_by_level():
    space = build_space(_problem())
    nc = _config(space, "nvlink4 single-switch x8 + infiniband-ndr fat-tree (1-level)")
    mc = space.mems[0]
    m = physics.evaluate(physics.Design(mc, nc, 16, 8, None), space.req, space.problem)
    assert m.speed_model == "calibrated"
    assert m.level_comm["fabric_hops"] == 1 and m.level_comm["domain_hops"] == 0
    assert m.level_comm["domain"] + m.level_comm["fabric"] == m.t_comm_s
    assert m.decode_tokens_per_s_per_user < m.decode_tokens_per_s_per_user_bound


# -- a TP (and expert-parallel) group spanning whole domains -----------------------------------------------
def _moe_problem(speed_model="roofline", rule="comm_time", expert_parallel=True, **constraints):
    return problem_from_dict({
        "name": "ds", "model": "deepseek-v3",
        "workload": {"context_length": 32768, "concurrency": 64, "output_tokens_per_request": 1024,
                     "min_decode_tokens_per_s_per_user": 20, "weight_dtype": "fp8", "kv_dtype": "bf16"},
        "constraints": {"max_nodes": 256, "expert_parallel": expert_parallel, "balance": {"rule": rule},
                        "speed_model": speed_model, **constraints},
        "search": {"top_k": 5, "two_level": True,
                   "include": {"interconnects": ["nvlink4", "infiniband-ndr"], "nodes": ["h100-sxm"]}}}, "test.yaml")


def test_tp_spans_whole_domains_only_under_expert_parallel_on_a_moe_model():
    space = build_space(_moe_problem())
    cfg = _config(space, "nvlink4 single-switch x8 + infiniband-ndr fat-tree (1-level)")
    assert physics.spans_domains(space.problem)
    assert [t for t in space.tps if physics.tp_fits(cfg, t, True)] == [1, 2, 4, 8, 16, 32, 64]
    assert [physics.spanning(cfg, t) for t in (8, 16)] == [False, True]
    assert not physics.spans_domains(_moe_problem(expert_parallel=False))
    assert not physics.spans_domains(_problem())   # a dense model keeps TP inside one domain
    assert 16 not in [t for t in space.tps if physics.tp_fits(cfg, t, physics.spans_domains(_problem()))]


def test_spanning_communication_by_hand():
    """DeepSeek-V3 (61 layers, 58 MoE, 8 active experts, 14,336 activation bytes per token), TP = EP = 16 over
    two NVLink-4 domains of 8 (18 links x 25 GB/s, 1,000 ns, one switch) joined by InfiniBand NDR (one
    50 GB/s port per GPU, 1,500 ns, one switch at 32 nodes); roofline, so no fixed collective time."""
    space = build_space(_moe_problem())
    cfg = _config(space, "nvlink4 single-switch x8 + infiniband-ndr fat-tree (1-level)")
    cc = physics.base_comm(cfg, 16, space.req, space.problem, nodes=32)
    s, bd, bf = 14336, Fraction(25 * 10**9), Fraction(50 * 10**9)
    ps = 10**12
    n_ar = 2 * 61 - 58                       # the MoE layers' MLP all-reduces become two all-to-alls each
    # latency: domain all-reduce 2 steps x 1 hop, all-to-all 1 step x 2 hops (a switch's diameter); the
    # fabric the same, 2 x 58 all-to-alls and 64 all-reduces on each level
    assert cc.ar == (2 * 58 * 2 + n_ar * 2) * (1000 + 1500) * 1000
    assert cc.far == (2 * 58 * 2 + n_ar * 2) * 1500 * 1000
    s_e = Fraction(8 * s, 16)                # each GPU dispatches its 1/16 of the tokens to 8 experts
    dom = (n_ar * Fraction(7, 4) * s / (18 * bd)                    # reduce-scatter + all-gather over 8
           + 2 * 58 * Fraction(7, 8) / (18 * bd) * Fraction(8, 16) * s_e)   # 7/16 of s_e to domain peers
    fab = (n_ar * 1 * Fraction(s, 8) / bf                           # all-reduce of the 1/8 shard over 2
           + 2 * 58 * Fraction(1, 2) / bf * s_e)   # half of s_e leaves the domain; bisection 8 ports: the same
    assert cc.ar_tok == math.ceil((dom + fab) * ps)
    assert cc.far_tok == math.ceil(fab * ps)
    # every stage covers two domains: each hop crosses the fabric, the 16 GPUs sending 1/16 each
    assert (cc.stages_per_domain, cc.fhop, cc.fhop_tok) == (1, 1500 * 1000, math.ceil(Fraction(s, 16) / bf * ps))
    assert physics.fabric_hops(4, cc.stages_per_domain) == 3


@pytest.mark.parametrize("speed_model,rule", [("roofline", "comm_time"), ("calibrated", "comm_time"),
                                              ("roofline", "ratio")])
def test_spanning_designs_rank_and_both_engines_agree(speed_model, rule):
    """Every mapping of the best 64 H100s ties in bandwidth per dollar: TP 8 x PP 8, 4 x 16, ... inside the
    domains, then TP 16 (and under the roofline 32, 64) over whole domains, ranked after them (the tie-break:
    fewer domains per TP group before fewer stages).  Both engines agree with the plain enumeration."""
    from test_oracle import engines_match_plain_oracle
    extra = {"balance": {"rule": "ratio", "tensor_parallel_ratio": 0.01, "pipeline_parallel_ratio": 0.01}} \
        if rule == "ratio" else {}
    p = _moe_problem(speed_model, rule, **extra)
    p = dataclasses.replace(p, search=dataclasses.replace(p.search, distinct="design", top_k=8))
    engines_match_plain_oracle(p)
    r = solve(p, engine="cp-sat")
    assert r.status == "OPTIMAL"
    order = [(rd.design.nodes, rd.design.tensor_parallel) for rd in r.designs[:5]]
    assert order == [(64, 8), (64, 4), (64, 2), (64, 1), (64, 16)]
    assert len({rd.metrics.bandwidth_per_dollar for rd in r.designs[:5]}) == 1
    wide = [rd for rd in r.designs if physics.spanning(rd.design.net, rd.design.tensor_parallel)]
    rd = wide[0]
    m, lv = rd.metrics, rd.metrics.level_comm
    assert lv["fabric_hops"] == rd.design.nodes // rd.design.tensor_parallel - 1 and lv["domain_hops"] == 0
    assert lv["domain"] + lv["fabric"] == m.t_comm_s and lv["domain"] > 0   # the in-domain collective phases
    from archsearch.report import design_row, fabric_cell
    row = design_row(rd)
    k = rd.design.tensor_parallel // 8
    assert row["levels"]["domain"]["domains_per_tp_group"] == k
    assert f"domains, TP over {k})" in fabric_cell(row)
    if rule == "ratio":   # a spanning group's tensor-parallel balance reads the slower level
        tp = next(c for c in rd.checks if c.name == "balance (tensor parallel)")
        assert tp.ok and tp.detail.startswith(f"links {float(rd.design.net.pp_link_bytes_per_s / rd.design.mem.bandwidth_bytes_per_s):.3g}x")


def test_spanning_tp_on_a_dense_model_is_reported_broken():
    p = _problem()
    space = build_space(p)
    cfg = _config(space, "nvlink4 single-switch x8 + infiniband-ndr fat-tree (1-level)")
    chk = physics.checks(physics.Design(space.mems[0], cfg, 32, 16, None), space.req, p)
    bad = next(c for c in chk if c.name == "TP inside a domain")
    assert not bad.ok
    assert bad.detail == ("TP 16 does not divide the 8-node scale-up domain and only expert parallel on a MoE "
                          "model spans whole domains")


def _moe_ratio(tp_ratio, pp_ratio, **search):
    p = _moe_problem("roofline", "ratio", balance={"rule": "ratio", "tensor_parallel_ratio": tp_ratio,
                                                   "pipeline_parallel_ratio": pp_ratio})
    return dataclasses.replace(p, search=dataclasses.replace(p.search, **search))


def test_ratio_rule_holds_a_spanning_group_to_the_fabric():
    """InfiniBand gives an H100 0.015 x its memory bandwidth: at a TP ratio of 0.02 no TP group may cross it
    (without the clause CP-SAT would return TP 16 on this machine and fail its exact re-check)."""
    from test_oracle import engines_match_plain_oracle
    p = _moe_ratio(0.02, 0.01, distinct="design", top_k=8)
    engines_match_plain_oracle(p)
    r = solve(p, engine="cp-sat")
    assert [(rd.design.nodes, rd.design.tensor_parallel) for rd in r.designs[:4]] == [(64, 8), (64, 4), (64, 2), (64, 1)]
    assert not [rd for rd in r.designs if physics.spanning(rd.design.net, rd.design.tensor_parallel)]


def test_a_fabric_too_slow_for_pipeline_hops_still_carries_one_spanning_stage():
    """At a pipeline ratio of 0.1 InfiniBand may carry no pipeline hop, but a TP group over every domain
    (PP 1) needs only the TP ratio (0.01) on both levels: the two-level network stays in the space and wins."""
    from test_oracle import engines_match_plain_oracle
    p = _moe_ratio(0.01, 0.1, distinct="design", top_k=4)
    engines_match_plain_oracle(p)
    r = solve(p, engine="cp-sat")
    assert [(rd.design.nodes, rd.design.tensor_parallel) for rd in r.designs[:3]] == [(64, 64), (32, 32), (16, 16)]
    assert r.designs[0].design.net.domain_nodes == 8


def test_merged_rankings_order_ties_as_the_engines_do():
    """solve's merge of two result lists (kv_swap mode best) re-sorts with _rank_key: the same order."""
    import random
    from archsearch.solve import _rank_key
    p = _moe_problem()
    r = solve(dataclasses.replace(p, search=dataclasses.replace(p.search, distinct="design", top_k=8)))
    shuffled = list(r.designs)
    random.Random(0).shuffle(shuffled)
    assert sorted(shuffled, key=_rank_key) == list(r.designs)


def test_no_tp_group_spans_a_ring_fabric():
    space = build_space(_moe_problem())
    cfg = _config(space, "nvlink4 single-switch x8 + infiniband-ndr fat-tree (1-level)")
    ring = dataclasses.replace(cfg, fabric=dataclasses.replace(
        cfg.fabric, topology=dataclasses.replace(cfg.fabric.topology, kind="ring")))
    assert physics.tp_fits(cfg, 16, True) and not physics.tp_fits(ring, 16, True)
    chk = physics.checks(physics.Design(space.mems[0], ring, 32, 16, None), space.req, space.problem)
    bad = next(c for c in chk if c.name == "TP inside a domain")
    assert bad.detail == ("TP 16 does not divide the 8-node scale-up domain and a TP group spans whole domains "
                          "only over a switched fabric, not a ring")
