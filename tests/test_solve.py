"""Solver behaviour: certified optimum, ranking, time limits, determinism, infeasibility explained."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest

from archsearch import InfeasibleError, SolverError, load_problem, solve
from archsearch.problem import bundled_problems
from archsearch.report import to_json
from archsearch.units import exact


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


# -- exact costs: every price x k gives bandwidth per dollar x 1/k, exactly (issue 10) ------------------------
def scale_prices(problem, k):
    """``problem`` with every price x k: node and memory cost curves (points, die-yield wafer and fixed costs),
    interconnect ports, cables, optics and switches, and the budget."""
    def curve(c):
        if c.points is not None:
            return dataclasses.replace(c, points=tuple((q, exact(v) * k) for q, v in c.points))
        dy = c.die_yield
        return dataclasses.replace(c, die_yield=dataclasses.replace(
            dy, wafer_cost_usd=exact(dy.wafer_cost_usd) * k, fixed_usd=exact(dy.fixed_usd) * k))
    cat = problem.catalog
    tiers = {name: dataclasses.replace(
        t, port_cost_usd=exact(t.port_cost_usd) * k, cable_cost_usd=exact(t.cable_cost_usd) * k,
        optics_cost_usd=exact(t.optics_cost_usd) * k,
        switch=dataclasses.replace(t.switch, cost_usd=exact(t.switch.cost_usd) * k) if t.switch else None)
        for name, t in cat.interconnects.items()}
    cat = dataclasses.replace(
        cat, memory={n: dataclasses.replace(m, cost_usd=curve(m.cost_usd)) for n, m in cat.memory.items()},
        nodes={n: dataclasses.replace(m, cost_usd=curve(m.cost_usd)) for n, m in cat.nodes.items()},
        interconnects=tiers)
    budget = problem.constraints.budget_usd
    return _with(dataclasses.replace(problem, catalog=cat),
                 constraints={"budget_usd": exact(budget) * k if budget is not None else None})


def _ranking(result):
    return [(rd.design.key(), rd.metrics.bandwidth_per_dollar, rd.metrics.cost_usd) for rd in result.designs]


@pytest.fixture(scope="module")
def sram_only_result():
    return solve(load_problem("llama-2-70b-sram-only"))


@pytest.mark.parametrize("k", [Fraction("0.37"), Fraction(3), Fraction(1, 7), Fraction("1.01")])
@pytest.mark.parametrize("which", ["default", "sram-only"])
def test_scaling_every_price_by_k_scales_bandwidth_per_dollar_by_exactly_1_over_k(
        k, which, default, default_result, sram_only_result):
    """The default problem (GPU packages, build and market prices / 3) and the SRAM-only one (die-yield costs)."""
    base, before = ((default, default_result) if which == "default" else
                    (load_problem("llama-2-70b-sram-only"), sram_only_result))
    after = solve(scale_prices(base, k))
    assert after.status == before.status == "OPTIMAL"
    want = [(key, bpd / k, cost * k) for key, bpd, cost in _ranking(before)]
    assert _ranking(after) == want          # the same designs in the same order, each figure exact


@pytest.mark.parametrize("k", [Fraction("0.37"), Fraction(1, 7)])
def test_scaling_every_price_by_k_is_exact_on_the_cp_sat_path_too(k, default, default_result):
    """The default problem is proved by enumeration under search.engine auto; CP-SAT's Dinkelbach with exact
    costs must give the same ranking, and the same exact 1/k when every price is scaled."""
    before = solve(default, engine="cp-sat")
    after = solve(scale_prices(default, k), engine="cp-sat")
    assert before.engine == after.engine == "cp-sat"
    assert _ranking(before) == _ranking(default_result)
    assert _ranking(after) == [(key, bpd / k, cost * k) for key, bpd, cost in _ranking(before)]


def test_scaling_prices_with_a_kv_backing_tier_is_exact_too():
    """KV swapping prices its backing tier (here 8 NVMe SSDs at $920 market / 3 each) from the memory curves."""
    p = load_problem("llama-3.1-70b-kv-swap")
    before, after = solve(p), solve(scale_prices(p, Fraction("0.37")))
    assert before.designs[0].design.backing.label == "nvme-ssd x8"
    assert before.designs[0].metrics.backing_cost_usd == 8 * Fraction(920, 3)
    assert _ranking(after) == [(key, bpd / Fraction("0.37"), cost * Fraction("0.37")) for key, bpd, cost in _ranking(before)]


def test_a_price_too_fine_for_cp_sat_gives_the_one_line_overflow_error(default):
    """Costs are never rounded: a price with a denominator of 10^15 makes every cost a multiple of that tiny
    unit, beyond CP-SAT's integers, and the solve says so instead of rounding."""
    cat = default.catalog
    tier = dataclasses.replace(cat.interconnects["ucie-d2d"], port_cost_usd=6 + Fraction(1, 10**15 + 37))
    p = dataclasses.replace(default, catalog=dataclasses.replace(
        cat, interconnects={**cat.interconnects, "ucie-d2d": tier}))
    with pytest.raises(SolverError) as exc:
        solve(p)
    assert str(exc.value) == (
        "network cost of ucie-d2d ring reaches 2.220e+20, beyond CP-SAT's integer range (2^62 = 4.612e+18); "
        f"costs are counted exactly in units of ${Fraction(1, 375 * (10**15 + 37))} (the largest amount dividing "
        "every price): give the prices rounder figures (whole cents), or lower constraints.max_nodes")


def _fine_port_price(problem, den: int):
    """``problem`` with one price that has a large denominator: a UCIe port at $6 + $1/den."""
    cat = problem.catalog
    tier = dataclasses.replace(cat.interconnects["ucie-d2d"], port_cost_usd=6 + Fraction(1, den))
    return dataclasses.replace(problem, catalog=dataclasses.replace(
        cat, interconnects={**cat.interconnects, "ucie-d2d": tier}))


def test_a_lam_beyond_cp_sat_steps_to_the_best_fraction_below_it_and_stays_exact(default, monkeypatch):
    """From lam = 0 the first step finds the design of most bandwidth; with costs in units of $1/(375 x 300007)
    its ratio's den*B - num*C would pass 2^62, so lam steps to the largest fraction below it that fits, and the
    ranking still equals the oracle's."""
    import importlib
    from random_problems import candidate_ratio
    from archsearch.space import build_space
    from archsearch.oracle import enumerate_top
    solve_module = importlib.import_module("archsearch.solve")
    used = []
    real = solve_module.floor_fraction
    monkeypatch.setattr(solve_module, "floor_fraction", lambda x, d: used.append(x) or real(x, d))
    p = _fine_port_price(default, 300007)
    result = solve_module.solve_one(p, start="zero", engine="cp-sat")
    space = build_space(p)
    assert result.status == "OPTIMAL" and used
    assert [(rd.design.key(), rd.metrics.bandwidth_per_dollar) for rd in result.designs] == \
        [(c.design.key(), candidate_ratio(space, c)) for c in enumerate_top(space, 10, p.search.distinct)]


def test_a_best_ratio_beyond_cp_sat_gives_the_one_line_overflow_error(default):
    """Certifying the best ratio needs lam equal to it: when that cannot fit, CP-SAT stops with the error (the
    enumeration, which compares exact fractions, proves the same problem)."""
    p = _fine_port_price(default, 700001)
    enumerated = solve(p)
    assert (enumerated.engine, enumerated.status) == ("enumeration", "OPTIMAL")
    with pytest.raises(SolverError) as exc:
        solve(p, engine="cp-sat")
    assert str(exc.value) == (
        "Dinkelbach objective reaches 4.842e+18, beyond CP-SAT's integer range (2^62 = 4.612e+18); costs are "
        f"counted exactly in units of ${Fraction(1, 375 * 700001)} (the largest amount dividing every price): give "
        "the prices rounder figures (whole cents), or lower constraints.max_nodes")
