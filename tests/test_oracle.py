"""CP-SAT must equal the exhaustive numpy oracle exactly: same designs, same order, same ratios."""

from __future__ import annotations

import pytest

from archsearch import InfeasibleError, load_problem, solve
from archsearch.space import build_space
from archsearch.oracle import enumerate_top

from random_problems import candidate_ratio, cpsat_matches_oracle, write_random


def _compare(problem):
    result = cpsat_matches_oracle(problem)
    return len(result.designs) if result else 0


@pytest.mark.parametrize("seed", range(100))
def test_cpsat_matches_oracle_on_random_spaces(tmp_path, seed):
    path = write_random(tmp_path, seed)
    problem = load_problem(path, tmp_path / "catalog")
    _compare(problem)


@pytest.mark.parametrize("seed", range(40))
def test_cpsat_matches_oracle_with_fractional_prices(tmp_path, seed):
    """Prices with cents, all scaled by a factor such as 0.37 (market ones then / market_over_build): costs
    are exact fractions in CP-SAT and in the oracle alike."""
    problem = load_problem(write_random(tmp_path, seed, serving=seed % 2 == 1, fractional=True), tmp_path / "catalog")
    engines_match_plain_oracle(problem)


def test_fractional_prices_are_fractional(tmp_path):
    """The generator's fractional spaces must have costs that are not whole dollars, and rank something."""
    found = whole = 0
    for seed in range(40):
        d = tmp_path / str(seed)
        d.mkdir()
        space = build_space(load_problem(write_random(d, seed, serving=seed % 2 == 1, fractional=True), d / "catalog"))
        whole += space.cost_unit.denominator == 1
        found += bool(enumerate_top(space, 1))
    assert whole == 0 and found >= 20


def test_random_spaces_are_mostly_feasible(tmp_path):
    """The random generator must exercise real rankings, not only infeasible problems."""
    found = 0
    for seed in range(40):
        d = tmp_path / str(seed)
        d.mkdir()
        space = build_space(load_problem(write_random(d, seed), d / "catalog"))
        found += bool(enumerate_top(space, 1))
    assert found >= 25


def test_default_problem_top10_matches_oracle():
    assert _compare(load_problem()) == 10


@pytest.mark.calibrated
def test_default_problem_with_the_shipped_defaults_matches_oracle():
    """The calibrated speed model and the comm_time rule (the shipped defaults) on the bundled problem."""
    p = load_problem()
    assert (p.constraints.speed_model, p.constraints.balance.rule) == ("calibrated", "comm_time")
    assert _compare(p) == 10


@pytest.mark.calibrated
def test_ttft_limit_under_the_calibrated_model_matches_oracle():
    import dataclasses
    p = load_problem("long-document-prefill")
    assert p.constraints.speed_model == "calibrated" and p.constraints.max_ttft_ms is not None
    p = dataclasses.replace(p, search=dataclasses.replace(p.search, top_k=4))
    assert _compare(p) >= 1


def test_design_mode_matches_oracle():
    import dataclasses
    p = load_problem()
    p = dataclasses.replace(p, search=dataclasses.replace(p.search, top_k=6, distinct="design"))
    assert _compare(p) == 6


def test_three_level_fat_tree_power_counts_switches_once(tmp_path):
    """Regression: the oracle multiplied the switch power of a 3-level fat-tree by its level count twice."""
    import yaml
    path = tmp_path / "ft3.yaml"
    path.write_text(yaml.safe_dump({
        "name": "ft3", "model": "llama-3.1-405b",
        "workload": {"context_length": 131072, "concurrency": 400, "weight_dtype": "fp8", "kv_dtype": "fp8"},
        "constraints": {"max_nodes": 2000, "max_power_w": 270000, "tensor_parallel": "any",
                        "max_tensor_parallel": 1, "balance": {"pipeline_parallel_ratio": 0}},
        "search": {"top_k": 1, "include": {"memory": ["gddr7"], "interconnects": ["ethernet-800g"],
                                           "topologies": ["fat-tree"]}}}))
    problem = load_problem(path)
    assert _compare(problem) == 1
    assert solve(problem).designs[0].design.net.level == 3


def test_medium_mode_matches_oracle():
    import dataclasses
    p = load_problem()
    p = dataclasses.replace(p, search=dataclasses.replace(p.search, top_k=20, distinct="medium"))
    n = _compare(p)
    assert n >= 5  # one design per memory medium that can hold the model


def test_compute_bound_problems_match_oracle(tmp_path):
    """A node with little compute makes the compute roofline bind: CP-SAT and the oracle must agree there too."""
    import yaml
    path = tmp_path / "slow-compute.yaml"
    path.write_text(yaml.safe_dump({
        "name": "slow-compute", "model": "llama-2-70b",
        "workload": {"context_length": 4096, "concurrency": 64, "min_decode_tokens_per_s_per_user": 20},
        "constraints": {"max_nodes": 64, "budget_usd": 20000000},
        "search": {"top_k": 3, "include": {"nodes": ["gpu-hbm"]}},
        "overrides": {"nodes": {"gpu-hbm": {"compute_tflops": 20}}}}))
    problem = load_problem(path)
    assert _compare(problem) == 3
    best = solve(problem).designs[0]
    # 2 x 69 G active parameters x 64 tokens, 20 times a second: 1.77e14 FLOP/s, so 9 nodes of 20 TFLOP/s
    assert best.design.nodes >= 9
    assert best.binding == "speed (compute)"


def engines_match_plain_oracle(problem) -> None:
    """Both engines (CP-SAT and the enumeration, each with its pruning) rank exactly the plain oracle's top K
    (every cell enumerated, ``floor=False``), or both find the problem infeasible."""
    want = _oracle_merged(problem)
    for engine in ("cp-sat", "enumeration"):
        if not want:
            with pytest.raises(InfeasibleError):
                solve(problem, engine=engine)
            continue
        result = solve(problem, engine=engine)
        assert result.status == "OPTIMAL", engine
        assert [(rd.design.key(), rd.metrics.bandwidth_per_dollar) for rd in result.designs] == want, engine


def _oracle_merged(problem):
    """The plain oracle's top K (no floor); under KV swapping mode best, the two modes merged as solve merges
    them."""
    from archsearch.solve import swap_variant
    ks = problem.workload.kv_swap
    variants = [problem] if ks is None or ks.mode != "best" else [swap_variant(problem, m) for m in ("swap", "recompute")]
    cands = []
    for v in variants:
        space = build_space(v)
        for c in enumerate_top(space, v.search.top_k, v.search.distinct, floor=False):
            cands.append((candidate_ratio(space, c), c))
    cands.sort(key=lambda x: (-x[0],) + x[1].sort_key()[1:])
    seen, out = set(), []
    for ratio, c in cands:
        key = c.design.distinct_key(problem.search.distinct)
        if key not in seen:
            seen.add(key)
            out.append((c.design.key(), ratio))
    return out[: problem.search.top_k]


@pytest.mark.parametrize("seed", range(60))
def test_cpsat_matches_oracle_with_serving_options(tmp_path, seed):
    """Random spaces with MoE, expert parallel, prefill and TTFT, KV sparsity, speculation and KV swapping."""
    problem = load_problem(write_random(tmp_path, seed, serving=True), tmp_path / "catalog")
    engines_match_plain_oracle(problem)


def test_serving_spaces_exercise_every_option(tmp_path):
    """The serving generator must turn each option on somewhere in the seeds the test above uses."""
    seen = set()
    for seed in range(60):
        d = tmp_path / str(seed)
        d.mkdir()
        p = load_problem(write_random(d, seed, serving=True), d / "catalog")
        w, c = p.workload, p.constraints
        seen |= {name for name, on in (("moe", p.model.moe is not None), ("ep", c.expert_parallel),
                                       ("prefill", w.prompt_tokens > 0), ("ttft", c.max_ttft_ms is not None),
                                       ("sparse", w.kv_read_fraction < 1), ("spec", w.speculative is not None),
                                       ("swap", w.kv_swap is not None)) if on}
        if w.kv_swap is not None:
            seen.add(f"swap-{w.kv_swap.mode}")
    assert seen >= {"moe", "ep", "prefill", "ttft", "sparse", "spec", "swap", "swap-swap", "swap-recompute",
                    "swap-best"}
