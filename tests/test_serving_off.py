"""Turning every option beyond plain decode off reproduces the core results exactly.

tests/data/core_results.json holds the top designs of every bundled problem as solved before
prefill, MoE, speculative decoding, KV sparsity, KV swapping and expert parallel existed
(commit 3443f99). Each problem is solved here with all of them written out and switched off, and with
two-level networks (issue 11, which change llama-2-70b-sram-only) forbidden.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archsearch import solve
from archsearch.problem import bundled_problems, problem_from_dict, read_problem_dict

GOLDEN = json.loads((Path(__file__).parent / "data" / "core_results.json").read_text())


#: balance settings of the bundled problems as they were when the core results were recorded (calibration
#: raised llama-2-70b-sram-only's comm_time_ratio from 1 to 4: calibrated collectives put every SRAM design
#: above 1)
RECORDED_BALANCE = {"llama-2-70b-sram-only": {"rule": "comm_time", "comm_time_ratio": 1.0}}


def options_off(raw: dict) -> dict:
    w, c = raw["workload"], raw.setdefault("constraints", {})
    if raw["name"] in RECORDED_BALANCE:
        c["balance"] = dict(RECORDED_BALANCE[raw["name"]])
    w.update(prompt_tokens=0, kv_read_fraction=1.0, speculative=None, kv_swap=None)
    c.update(max_ttft_ms=None, expert_parallel=False)
    raw.setdefault("overrides", {}).setdefault("models", {})[raw["model"]] = {"moe": None}
    raw.setdefault("search", {})["two_level"] = False
    return raw


@pytest.mark.parametrize("stem", sorted(GOLDEN))
def test_all_options_off_reproduce_the_core_results(stem):
    path = next(p for p in bundled_problems() if p.stem == stem)
    raw, name = read_problem_dict(path)
    result = solve(problem_from_dict(options_off(raw), name))
    got = [{"memory": d.design.mem.label, "network": d.design.net.label, "nodes": d.design.nodes,
            "tp": d.design.tensor_parallel, "bandwidth_per_dollar": str(d.metrics.bandwidth_per_dollar),
            "tokens_per_s_per_user": str(d.metrics.decode_tokens_per_s_per_user)} for d in result.designs]
    assert got == GOLDEN[path.stem]


def test_every_recorded_problem_is_still_bundled():
    assert set(GOLDEN) <= {p.stem for p in bundled_problems()}
