"""archsearch.physics.levels: two-level configurations, their items per level, fabric hops; golden one-level results."""

from __future__ import annotations

import dataclasses
import json
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
