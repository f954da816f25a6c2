"""Solver behaviour: certified optimum, ranking, time limits, determinism, infeasibility explained."""

from __future__ import annotations

import dataclasses

import pytest

from archsearch import InfeasibleError, SolverError, load_problem, solve
from archsearch.problem import bundled_problems
from archsearch.report import to_json


@pytest.fixture(scope="module")
def default():
    return load_problem()


@pytest.fixture(scope="module")
def default_result(default):
    return solve(default)


def _with(p, **groups):
    out = p
    for group, fields in groups.items():
        out = dataclasses.replace(out, **{group: dataclasses.replace(getattr(out, group), **fields)})
    return out


def test_default_top10_is_certified_and_ordered(default_result):
    r = default_result
    assert r.status == "OPTIMAL" and len(r.designs) == 10
    ratios = [d.metrics.bandwidth_per_dollar for d in r.designs]
    assert ratios == sorted(ratios, reverse=True)
    assert all(d.proven for d in r.designs)
    # the proven bound is the best ratio itself (in CP-SAT bandwidth units)
    assert r.bound_bytes_per_s_per_usd is not None
    # every ranked design holds every constraint on exact re-check
    assert all(c.ok for d in r.designs for c in d.checks)


def test_architecture_mode_gives_distinct_medium_tier_topology(default_result):
    # the topology is the machine's: a 2-node ring and a 3-node ring are a pair and a triangle
    keys = [d.design.architecture() for d in default_result.designs]
    assert len(keys) == len(set(keys))


def test_same_seed_same_output_whatever_the_worker_count(default):
    p = _with(default, search={"top_k": 5})
    docs = []
    for workers in (1, 2):
        doc = to_json(solve(p, workers=workers))
        doc["solver"].pop("wall_time_s")
        doc["solver"].pop("workers")
        docs.append(doc)
    assert docs[0] == docs[1]


def test_a_time_limit_never_reports_optimal(default):
    try:
        r = solve(default, time_limit_s=0.005)
    except SolverError as exc:
        assert "time limit of 0.005 s reached before any design was found" in str(exc)
    else:
        assert r.status == "FEASIBLE"
        assert not all(d.proven for d in r.designs)


def test_capacity_infeasibility_says_by_how_much(default):
    p = _with(default, constraints={"max_nodes": 2}, search={"include": {"memory": ("gddr6",)}})
    with pytest.raises(InfeasibleError) as exc:
        solve(p)
    assert str(exc.value) == (
        "infeasible: capacity: needs 246 GB (weights 138 GB + KV 85.9 GB + overhead); the largest design within "
        "max_nodes 2 holds 51.5 GB (gddr6 x12 on gddr-accelerator)")


def test_budget_infeasibility_names_the_cheapest_design(default):
    with pytest.raises(InfeasibleError) as exc:
        solve(_with(default, constraints={"budget_usd": 3000}))
    assert str(exc.value).startswith(
        "infeasible: budget: the cheapest design meeting the other requirements costs $7.0k; budget_usd is $3.0k (build cost)")


def test_more_context_never_raises_the_best_ratio(default):
    best = []
    for ctx in (1024, 4096, 16384):
        r = solve(_with(default, workload={"context_length": ctx}, search={"top_k": 1}))
        best.append(r.designs[0].metrics.bandwidth_per_dollar)
    assert best == sorted(best, reverse=True)


def test_scaling_every_price_by_k_scales_the_ratio_by_1_over_k(default):
    # only build-basis entries, so the market basis (build x markup) scales every price by the markup
    only_build = {"nodes": ("gpu-hbm",), "interconnects": ("ucie-d2d", "nvlink4", "nvlink5", "tpu-ici")}
    base = solve(_with(default, search={"top_k": 4, "include": only_build}))
    doubled = solve(_with(default, cost={"basis": "market", "market_over_build": 2.0},
                          search={"top_k": 4, "include": only_build}))
    assert [d.design.key() for d in doubled.designs] == [d.design.key() for d in base.designs]
    assert [d.metrics.bandwidth_per_dollar for d in doubled.designs] == \
        [d.metrics.bandwidth_per_dollar / 2 for d in base.designs]


@pytest.mark.parametrize("path", bundled_problems(), ids=lambda p: p.stem)
def test_every_bundled_problem_solves_to_a_certified_optimum(path):
    r = solve(load_problem(path))
    assert r.status == "OPTIMAL" and r.designs
    assert all(c.ok for d in r.designs for c in d.checks)


@pytest.mark.parametrize("limit", [0.005, 0.05, 0.11, 0.2])
def test_a_short_time_limit_gives_designs_or_says_why(default, limit):
    """A time limit never yields an empty 'successful' answer: designs (unproven if cut short) or an error."""
    try:
        r = solve(default, time_limit_s=limit)
    except SolverError as exc:
        assert "time limit" in str(exc)
        return
    assert r.designs
    assert r.status == "OPTIMAL" or not all(d.proven for d in r.designs)
    assert all(c.ok for d in r.designs for c in d.checks)


def test_the_bound_is_in_bytes_per_s_per_dollar(default_result):
    assert default_result.bound_bytes_per_s_per_usd == default_result.designs[0].metrics.bandwidth_per_dollar


def test_an_empty_search_space_is_an_input_problem_not_a_crash(default):
    p = _with(default, search={"include": {"nodes": ("wafer-scale",), "memory": ("hbm3",)}})
    with pytest.raises(InfeasibleError) as exc:
        solve(p)
    assert str(exc.value) == ("infeasible: no (node, memory, units) combination to search: the catalog's node and "
                              "memory entries, their unit ranges and search.include leave none")


def test_the_chosen_cp_sat_parameters_give_the_same_top_k_on_every_bundled_problem(monkeypatch) -> None:
    import importlib
    from archsearch.problem import bundled_problems
    solve_mod = importlib.import_module("archsearch.solve")
    chosen = dict(solve_mod.CP_SAT_PARAMETERS)
    assert chosen["linearization_level"] == 0 and chosen["symmetry_level"] == 0
    without = {k: v for k, v in chosen.items() if k not in ("linearization_level", "symmetry_level")}
    for path in bundled_problems():
        p = load_problem(path)
        got = [rd.design.key() for rd in solve_mod.solve(p).designs]
        monkeypatch.setattr(solve_mod, "CP_SAT_PARAMETERS", without)
        assert [rd.design.key() for rd in solve_mod.solve(p).designs] == got, path.stem
        monkeypatch.setattr(solve_mod, "CP_SAT_PARAMETERS", chosen)


@pytest.mark.parametrize("engine", ["cp-sat", "enumeration"])
def test_a_time_limit_bounds_the_whole_call_and_marks_what_it_cut_short(engine):
    # the limit runs out before the model is built (before the first cells are enumerated): the known
    # feasible designs (the quick lower bounds) stand, none proven
    from archsearch import load_problem
    r = solve(load_problem("llama-3-8b-edge"), top_k=4, time_limit_s=1e-6, engine=engine)
    assert r.status == "FEASIBLE" and r.engine == engine
    assert len(r.designs) == 4 and not any(d.proven for d in r.designs)
    assert all(not any(not c.ok for c in d.checks) for d in r.designs)   # each one feasible, checked exactly
    assert len({d.design.architecture() for d in r.designs}) == 4


def test_the_footer_says_what_distinct_did():
    from archsearch import load_problem
    from archsearch.report import requirements_text
    for distinct, words in (("medium", "designs distinct by memory medium"),
                            ("design", "designs distinct by any decision"),
                            ("architecture", "designs distinct by memory medium, interconnect and machine topology")):
        r = solve(load_problem("llama-3-8b-edge"), top_k=2, distinct=distinct)
        text = requirements_text(r).plain.replace("\n", " ")
        assert words in text
        assert ("machine topology" in text) == (distinct == "architecture")
