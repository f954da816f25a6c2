"""prune.py: the pairs it drops cannot reach the top K, and the solver's answers do not change."""

from __future__ import annotations

import importlib
from fractions import Fraction

import pytest

from archsearch import load_problem, solve
from archsearch.model import DesignModel
from archsearch.space import GROUPS, build_space
from archsearch.oracle import enumerate_top
from archsearch.problem import bundled_problems, problem_from_dict
from archsearch.prune import kth_distinct_ratio, live_pairs, pair_node_intervals

solve_module = importlib.import_module("archsearch.solve")


@pytest.fixture
def small_problem(small_problem_dict):
    """The conftest's small Llama-2-70B problem (16 nodes, top 3)."""
    return problem_from_dict(small_problem_dict, "small")


def _quick(space, distinct="architecture"):
    return enumerate_top(space, len(space.mems) * len(space.nets), distinct, quick=True)


def _best_pair_ratio(space, m, n, lo):
    """max over N >= lo of the pair's nodes-and-network ratio, exactly (brute force over N)."""
    cost = space.physics_cache.network_cost_units(n)
    b = space.bw_column.ints[m.index]
    c = space.cost_units(m.cost_usd)
    top = min(n.n_max, space.max_nodes)
    return max((Fraction(b * N, c * N + int(cost[N])) for N in range(max(lo, n.n_min, 1), top + 1)),
               default=None)


def test_kth_ratio_counts_each_distinct_key_once(small_problem):
    space = build_space(small_problem)
    quick = _quick(space)
    assert len(quick) >= 3
    third = quick[2]
    assert kth_distinct_ratio(quick, 3, "architecture") == third.bandwidth_units / third.cost_units
    # the same candidates twice (a sweep's carried-over designs can repeat the quick ones): same K-th ratio
    assert kth_distinct_ratio(quick + quick, 3, "architecture") == third.bandwidth_units / third.cost_units
    assert kth_distinct_ratio(quick[:2], 3, "architecture") is None   # fewer than K keys: no bound


def test_dropped_pairs_are_below_the_kth_ratio_by_brute_force(small_problem):
    space = build_space(small_problem)
    quick = _quick(space)
    lam = Fraction(quick[2].bandwidth_units, quick[2].cost_units)
    live = live_pairs(space, quick, 3, "architecture", GROUPS)
    compatible = space.physics_cache.compatible
    dropped = 0
    for m in space.mems:
        lo = space.physics_cache.node_bounds(m, GROUPS)[0]
        for n in space.nets:
            if compatible[m.index, n.index] and not live[m.index, n.index]:
                best = _best_pair_ratio(space, m, n, lo)
                assert best is None or best < lam, (m.label, n.label)
                dropped += 1
    assert dropped > 0.5 * compatible.sum()   # it does drop most pairs (a bound that keeps all is no test)


@pytest.mark.calibrated
def test_pair_node_sets_hold_every_node_count_at_or_above_lambda():
    space = build_space(load_problem("llama-2-70b-chat"))   # switched networks: the ratio changes with N
    quick = _quick(space)
    live = live_pairs(space, quick, 10, "architecture", GROUPS)
    dm = DesignModel(space, live=live)
    lam = Fraction(quick[0].bandwidth_units, quick[0].cost_units)   # rank 1's first Dinkelbach step
    sets = pair_node_intervals(dm, lam)
    assert sets
    restricted = 0
    for k, j, intervals in sets:
        m, n = dm.mems[k], dm.nets[j]
        cost = space.physics_cache.network_cost_units(n)
        for N in range(max(1, n.n_min), min(n.n_max, space.max_nodes) + 1):
            reaches = Fraction(dm.bw_ints[k] * N, space.cost_units(m.cost_usd) * N + int(cost[N])) >= lam
            inside = intervals is None or any(a <= N <= b for a, b in intervals)
            assert inside or not reaches, (m.label, n.label, N)
            restricted += not inside
    assert restricted > 0


def test_the_model_has_variables_for_live_configurations_only(small_problem):
    space = build_space(small_problem)
    live = live_pairs(space, _quick(space), 3, "architecture", GROUPS)
    dm = DesignModel(space, live=live)
    assert len(dm.mems) == live.any(axis=1).sum() < len(space.mems)
    assert len(dm.nets) == live.any(axis=0).sum() < len(space.nets)
    assert [m.index for m in dm.mems] == sorted(m.index for m in dm.mems)   # catalog order: same tie-breaks


@pytest.mark.calibrated
@pytest.mark.parametrize("path", bundled_problems(), ids=lambda p: p.stem)
def test_every_top_k_design_lies_in_a_live_pair(path):
    problem = load_problem(path)
    space = build_space(problem)
    top = enumerate_top(space, problem.search.top_k, problem.search.distinct)
    live = live_pairs(space, _quick(space, problem.search.distinct), problem.search.top_k,
                      problem.search.distinct, GROUPS)
    if live is None:
        pytest.skip("fewer quick designs than K: nothing pruned")
    assert all(live[c.design.mem.index, c.design.net.index] for c in top)


@pytest.mark.calibrated
def test_pruning_leaves_the_default_answer_unchanged(monkeypatch):
    problem = load_problem("llama-2-70b-chat")
    pruned = solve(problem)
    space = build_space(problem)
    live = live_pairs(space, _quick(space), 10, "architecture", GROUPS)
    assert (int(live.sum()), int(space.physics_cache.compatible.sum())) == (118, 2780)
    monkeypatch.setattr(solve_module, "live_pairs", lambda *a, **k: None)
    full = solve(problem)
    assert pruned.status == full.status == "OPTIMAL"
    assert [(rd.design.key(), rd.metrics.bandwidth_per_dollar) for rd in pruned.designs] == \
        [(rd.design.key(), rd.metrics.bandwidth_per_dollar) for rd in full.designs]
