"""The speed/bandwidth-per-dollar frontier: exact against brute force, ordered, and honest when cut short."""

import json
from fractions import Fraction

import pytest

from archsearch import InfeasibleError, load_problem, physics
from archsearch.cli import main
from archsearch.space import build_space
from archsearch.oracle import enumerate_top
from archsearch.pareto import frontier
from archsearch.problem import bundled_problems


def _bundled(stem):
    return load_problem(next(x for x in bundled_problems() if x.stem == stem))


def _brute_force_frontier(problem):
    """Every feasible design from the oracle, evaluated, then the non-dominated (speed, ratio) pairs."""
    space = build_space(problem)
    pts = set()
    for c in enumerate_top(space, 10**7, "design"):
        m = physics.evaluate(c.design, space.req, space.problem)
        pts.add((m.decode_tokens_per_s_per_user, m.bandwidth_per_dollar))
    return {p for p in pts if not any(q != p and q[0] >= p[0] and q[1] >= p[1] for q in pts)}


@pytest.mark.parametrize("stem", ["llama-3-8b-edge", "llama-2-70b-sram-only"])
def test_frontier_matches_brute_force(stem):
    problem = _bundled(stem)
    ours, complete, _ = frontier(problem, max_points=60)
    assert complete
    truth = _brute_force_frontier(problem)
    got = {(d.metrics.decode_tokens_per_s_per_user, d.metrics.bandwidth_per_dollar) for d in ours}
    assert got <= truth  # every point we list is truly non-dominated
    for speed, ratio in truth:  # and every true point is ours, or within the 0.1 tok/s step of one of ours
        assert any(s >= speed - Fraction(1, 10) and r >= ratio for s, r in got)


def test_frontier_is_ordered(tmp_path):
    ours, _, _ = frontier(_bundled("llama-2-70b-sram-only"))
    speeds = [d.metrics.decode_tokens_per_s_per_user for d in ours]
    ratios = [d.metrics.bandwidth_per_dollar for d in ours]
    assert speeds == sorted(speeds) and ratios == sorted(ratios, reverse=True) and len(ours) >= 2


def test_a_cut_frontier_says_so(capsys):
    ours, complete, stopped = frontier(_bundled("llama-2-70b-sram-only"), max_points=1)
    assert not complete and len(ours) == 1 and stopped == "--max-points 1 reached"
    assert main(["pareto", str(next(x for x in bundled_problems() if x.stem == "llama-2-70b-sram-only")),
                 "--max-points", "1"]) == 0
    assert "the frontier is incomplete (--max-points 1 reached)" in capsys.readouterr().err


def test_an_infeasible_frontier_is_an_error(capsys):
    import dataclasses
    p = _bundled("llama-3-8b-edge")
    p = dataclasses.replace(p, constraints=dataclasses.replace(p.constraints, budget_usd=10))
    with pytest.raises(InfeasibleError):
        frontier(p)


def test_cli_pareto_json(capsys):
    assert main(["pareto", "--json", "--max-points", "3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["problem"] == "llama-2-70b-chat" and doc["frontier"] and "complete" in doc
    assert {"decode_tokens_per_s_per_user", "bandwidth_per_dollar", "memory"} <= set(doc["frontier"][0])
