"""solve --disaggregate: split prefill/decode pools against the best single design."""

from __future__ import annotations

import copy
import json
import math
from fractions import Fraction

import numpy as np
import pytest

from archsearch.cli import main
from archsearch.errors import InfeasibleError
from archsearch import physics
from archsearch.disaggregate import (disaggregate, prefill_bandwidth_units, prefill_comm_mask, prefill_flops_needed,
                                     prefill_tokens)
from archsearch.space import build_space
from archsearch.oracle import _chunks
from archsearch.problem import problem_from_dict
from archsearch.units import usd_per_million_tokens

from conftest import SMALL_PROBLEM


def make(prompt=2048, ttft=500, **workload):
    d = copy.deepcopy(SMALL_PROBLEM)
    d["workload"].update(prompt_tokens=prompt, **workload)
    d["constraints"]["max_ttft_ms"] = ttft
    return problem_from_dict(d, "test")


@pytest.fixture(scope="module")
def split():
    return disaggregate(make())


def test_the_prefill_pool_is_the_oracles_cheapest(split):
    """Every design of the prefill space, enumerated: the cheapest that prefills the request rate wins."""
    pp_problem = split.prefill_problem          # the limits the decode pool and the link leave
    assert pp_problem.constraints.max_ttft_ms < 500
    assert pp_problem.constraints.budget_usd == 20_000_000 - split.link.cost_usd - \
        split.decode.designs[split.decode_rank - 1].metrics.cost_usd
    space = build_space(pp_problem)
    rate = split.request_rate
    need = math.ceil(prefill_flops_needed(pp_problem, rate) / space.flops_column.unit)
    need_bw = prefill_bandwidth_units(pp_problem, rate, space)
    flops = np.array(space.flops_column.ints, dtype=np.int64)
    best = None
    for n, t, _bk, N, B, C, ok in _chunks(space):
        pp = N // t
        comm = physics.machine_mask(n, t, pp[0], lambda nodes, v: prefill_comm_mask(
            rate, physics.base_comm(n, t, space.req, pp_problem, nodes=nodes), space.req, v))
        ok = ok & (flops[:, None] * N >= need) & (B >= need_bw) & comm[None, :]
        for k, q in zip(*np.nonzero(ok)):
            key = (int(C[k, q]) * space.cost_unit, int(N[k, q]) // t, k, n.index)
            best = key if best is None or key < best else best
    d = split.prefill.design
    assert (split.prefill.metrics.cost_usd, d.pipeline_parallel, d.mem.index, d.net.index) == best
    assert split.prefill_proven


def test_pools_serve_the_same_request_rate(split):
    decode = split.decode.designs[split.decode_rank - 1]
    assert split.request_rate == decode.metrics.system_tokens_per_s / 512
    assert split.prefill_prompts_per_s >= split.request_rate      # FLOP/s, weight reads and communication
    assert split.prefill.metrics.ttft_s < split.ttft_s <= Fraction(1, 2)   # the KV crossing the link counts


def test_the_split_must_meet_the_budget_as_a_whole():
    d = copy.deepcopy(SMALL_PROBLEM)
    d["workload"]["prompt_tokens"] = 2048
    d["constraints"]["max_ttft_ms"] = 500
    full = disaggregate(problem_from_dict(d, "test"))
    d["constraints"]["budget_usd"] = full.cost_usd - 1
    try:
        tight = disaggregate(problem_from_dict(d, "test"))
    except InfeasibleError as exc:
        assert "no split of prefill and decode pools" in str(exc)
    else:
        assert tight.cost_usd <= full.cost_usd - 1


def test_a_tighter_ttft_is_met_by_a_faster_prefill_pool_not_given_up():
    loose = disaggregate(make(ttft=500))
    limit = float(loose.ttft_s) * 1000 * 0.8
    tight = disaggregate(make(ttft=limit))
    assert tight.ttft_s * 1000 <= Fraction(limit)


def test_under_recompute_the_prefill_pool_owns_the_whole_context():
    swap = {"idle_requests": 100, "mode": "recompute"}
    p = make(prompt=512, ttft=5000, kv_swap=swap)
    assert prefill_tokens(p) == 4096
    sp = disaggregate(p)
    pp = sp.prefill_problem.workload
    assert pp.prompt_tokens == pp.context_length == 4096
    decode = sp.decode.problem.workload
    assert decode.kv_swap is None and not decode.prefill_here
    assert sp.link.bytes_per_s == sp.request_rate * 327_680 * 4096


def test_costs_add_up_and_the_verdict_follows_them(split):
    assert split.cost_usd == (split.prefill.metrics.cost_usd + split.decode.designs[split.decode_rank - 1].metrics.cost_usd
                              + split.link.cost_usd)
    assert split.usd_per_mtok == usd_per_million_tokens(split.cost_usd, split.tokens_per_s, 3)
    h = split.homogeneous.designs[0]
    assert split.homogeneous_usd_per_mtok == usd_per_million_tokens(h.metrics.cost_usd, h.metrics.system_tokens_per_s, 3)
    assert split.winner == ("split" if split.usd_per_mtok < split.homogeneous_usd_per_mtok else "homogeneous")
    assert split.factor >= 1


def test_kv_link_carries_each_prompts_kv(split):
    kv = 327_680 * 2048
    assert split.link.bytes_per_s == split.request_rate * kv
    assert split.link.links * split.link.tier.link_bandwidth_gb_per_s * 1e9 >= float(split.link.bytes_per_s)


def test_cli_disaggregate_json_and_table(tmp_path, capsys):
    d = copy.deepcopy(SMALL_PROBLEM)
    d["workload"]["prompt_tokens"] = 2048
    path = tmp_path / "p.yaml"
    import yaml
    path.write_text(yaml.safe_dump(d))
    assert main(["solve", str(path), "--disaggregate", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["winner"] in ("split", "homogeneous", "tie")
    assert doc["cost_basis_words"] == "build cost: estimated manufacturing cost, market price / 3"
    assert set(doc["split"]) == {"prefill_pool", "decode_pool", "kv_link", "cost_usd", "cost_usd_exact", "tokens_per_s",
                                 "usd_per_million_tokens", "time_to_first_token_s", "power_w"}
    assert main(["solve", str(path), "--disaggregate"]) == 0
    out, err = capsys.readouterr()
    assert "prefill pool" in out and "cheaper per million tokens" in out
    # progress: one line per stage on a stderr that is not a terminal
    assert err.splitlines()[:2] == ["archsearch: --disaggregate: solving the best single (homogeneous) design",
                                    "archsearch: --disaggregate: solving the top 5 decode pools"]
    assert "solving the cheapest prefill pool for decode pool #1 of" in err
    assert main(["solve", str(path), "--disaggregate", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_cli_disaggregate_without_prompts_is_one_line_exit_2(capsys):
    assert main(["solve", "--disaggregate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "set workload.prompt_tokens" in err


def test_the_split_kept_is_the_cheapest_per_token_over_the_decode_candidates():
    p = make()
    one = [disaggregate(p, top_k=k) for k in (1, 3)]
    assert one[1].usd_per_mtok <= one[0].usd_per_mtok
    assert one[0].decode_rank == 1


# -- the calibrated prefill pool (issue 9): sized on the calibrated prompt time, as TTFT is ------------
def make_calibrated(prompt=2048, ttft=500, overrides=None):
    d = copy.deepcopy(SMALL_PROBLEM)
    d["workload"].update(prompt_tokens=prompt)
    d["constraints"].update(max_ttft_ms=ttft, speed_model="calibrated")
    if overrides:
        d["overrides"] = overrides
    return problem_from_dict(d, "test")


def test_calibrated_prefill_capacity_is_stages_over_the_calibrated_ttft():
    """One H200 (989 TFLOP/s bf16) at prefill efficiency 0.5 x 2048 / (2048 + 2048) = 0.25, 1 us per layer:
    compute-bound, so a prompt takes ceil(FLOPs / 247.25 PFLOP/s) + 80 layers x 1 us, and the pool
    sustains 1 / that prompts per second; the roofline counts peak FLOP/s at the workload's efficiency (1/2 by default)."""
    from archsearch.disaggregate import prefill_capacity, prefill_problem
    from archsearch.evaluate import DesignSpec, build_design
    over = {"nodes": {"h200-sxm": {"prefill_compute_efficiency": 0.5, "prefill_efficiency_half_tokens": 2048,
                                   "layer_overhead_ns": 1000}}}
    spec = DesignSpec(memory="hbm3e-h200", units=6, nodes=1, tensor_parallel=1, node="h200-sxm",
                      interconnect=None, topology=None)
    for model in ("calibrated", "roofline"):
        pp_problem = prefill_problem(make_calibrated(overrides=over) if model == "calibrated" else make())
        req = physics.requirements(pp_problem)
        got = prefill_capacity(build_design(pp_problem, spec), req, pp_problem)
        if model == "calibrated":
            per_prompt_ps = -(-10**12 * req.prefill_flops // 247_250_000_000_000) + 80 * 1_000_000
            assert got == Fraction(10**12, per_prompt_ps)
        else:
            assert req.prefill_efficiency == Fraction(1, 2)     # the roofline's workload default
            assert got == Fraction(989 * 10**12, 2 * req.prefill_flops)


@pytest.mark.calibrated
def test_the_calibrated_prefill_pool_is_the_oracles_cheapest():
    """Every design of the prefill space, enumerated with the calibrated prompt time: the cheapest wins."""
    split = disaggregate(make_calibrated(), top_k=1)
    pp_problem = split.prefill_problem
    space = build_space(pp_problem)
    req, rate = space.req, split.request_rate
    assert req.calibrated
    terms = [physics.node_terms(req, m) for m in space.mems]
    need = math.ceil(prefill_flops_needed(pp_problem, rate) / space.flops_column.unit)
    need_bw = prefill_bandwidth_units(pp_problem, rate, space)
    flops = np.array(space.flops_column.ints, dtype=np.int64)
    best, excluded = None, 0
    for n, t, _bk, N, B, C, ok in _chunks(space):
        pp = N // t
        comm = physics.machine_mask(n, t, pp[0], lambda nodes, v: prefill_comm_mask(
            rate, physics.base_comm(n, t, req, pp_problem, nodes=nodes), req, v))
        timed = physics.prefill_rate_matrix_at(req, n, t, pp_problem, terms, pp[0], rate)
        ok = ok & (flops[:, None] * N >= need) & (B >= need_bw) & comm[None, :]
        excluded += int((ok & ~timed).sum())
        ok = ok & timed
        for k, q in zip(*np.nonzero(ok)):
            key = (int(C[k, q]), int(N[k, q]) // t, k, n.index)
            best = key if best is None or key < best else best
    d = split.prefill.design
    assert (space.cost_units(split.prefill.metrics.cost_usd), d.pipeline_parallel, d.mem.index, d.net.index) == best
    assert split.prefill_prompts_per_s >= rate
    assert excluded > 0     # the calibrated prompt time rules out designs the peak-rate rows allow
