"""The speed/bandwidth-per-dollar frontier: non-dominated, and every point a certified optimum."""

import dataclasses
import json
from fractions import Fraction

import pytest

from archsearch import load_problem, solve
from archsearch.cli import main
from archsearch.pareto import frontier
from archsearch.problem import bundled_problems


@pytest.fixture(scope="module")
def sram():
    p = next(x for x in bundled_problems() if x.stem == "llama-2-70b-sram-only")
    return load_problem(p)


@pytest.fixture(scope="module")
def front(sram):
    return frontier(sram)


def test_frontier_is_ordered_and_non_dominated(front):
    assert len(front) >= 2
    speeds = [d.metrics.decode_tokens_per_s_per_user for d in front]
    ratios = [d.metrics.bandwidth_per_dollar for d in front]
    assert speeds == sorted(speeds) and ratios == sorted(ratios, reverse=True)
    assert len(set(speeds)) == len(speeds)


def test_each_point_is_the_best_ratio_at_its_own_speed(sram, front):
    for d in front:
        floor = Fraction(int(d.metrics.decode_tokens_per_s_per_user * 10), 10)  # a tenth below its speed
        p = dataclasses.replace(sram, workload=dataclasses.replace(sram.workload,
                                                                   min_decode_tokens_per_s_per_user=floor))
        assert solve(p, top_k=1).designs[0].metrics.bandwidth_per_dollar >= d.metrics.bandwidth_per_dollar


def test_cli_pareto_json(capsys):
    assert main(["pareto", "--json", "--max-points", "3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["problem"] == "llama-2-70b-chat" and doc["frontier"]
    assert {"decode_tokens_per_s_per_user", "bandwidth_per_dollar", "memory"} <= set(doc["frontier"][0])
