"""The enumeration engine against CP-SAT, the automatic choice between them, and the report naming the engine."""

from __future__ import annotations

import copy
import dataclasses
import time

import pytest

from archsearch import InfeasibleError, UsageError, load_problem, physics, solve
from archsearch.enumeration import AUTO_MAX_CELLS, AUTO_MAX_CHUNK_CELLS, choose_engine, largest_chunk, space_cells
from archsearch.space import build_space
from archsearch.oracle import enumerate_ranked
from archsearch.problem import bundled_problems
from archsearch.report import solver_line, to_json

from conftest import SMALL_PROBLEM
from random_problems import engines_agree


def _with(p, **groups):
    out = p
    for group, fields in groups.items():
        out = dataclasses.replace(out, **{group: dataclasses.replace(getattr(out, group), **fields)})
    return out


@pytest.mark.calibrated
@pytest.mark.parametrize("path", bundled_problems(), ids=lambda p: p.stem)
def test_engines_agree_on_every_bundled_problem(path):
    """Both engines on the shipped model: the same top K, design for design, with the same figures and proof."""
    p = load_problem(path)
    engines_agree(solve(p, engine="cp-sat"), solve(p, engine="enumeration"))


@pytest.mark.parametrize("distinct", ["medium", "design"])
def test_engines_agree_in_every_distinct_mode(distinct):
    p = _with(load_problem(), search={"top_k": 6, "distinct": distinct})
    engines_agree(solve(p, engine="cp-sat"), solve(p, engine="enumeration"))


def test_engines_agree_with_kv_swapping_in_mode_best():
    """Mode best solves swap and recompute apart and merges them; each engine does both."""
    p = load_problem("llama-3.1-70b-kv-swap")
    assert p.workload.kv_swap.mode == "best"
    engines_agree(solve(p, engine="cp-sat", top_k=5), solve(p, engine="enumeration", top_k=5))


def test_engines_agree_on_a_warm_started_point():
    """A sweep's warm start (the previous point's designs) is a hint for CP-SAT and changes no answer."""
    p = load_problem()
    warm = tuple(rd.design for rd in solve(_with(p, workload={"context_length": 2048}), top_k=3).designs)
    engines_agree(solve(p, engine="cp-sat", warm=warm), solve(p, engine="enumeration", warm=warm))


def test_both_engines_find_an_infeasible_problem_infeasible():
    p = _with(load_problem("llama-3-8b-edge"), constraints={"max_nodes": 1, "budget_usd": 1})
    messages = []
    for engine in ("cp-sat", "enumeration"):
        with pytest.raises(InfeasibleError) as info:
            solve(p, engine=engine)
        assert info.value.engine == engine
        messages.append(str(info.value))
    assert messages[0] == messages[1]   # one diagnosis, whichever engine proved it


def test_largest_chunk_is_every_memory_configuration_times_the_longest_pp_range():
    space = build_space(load_problem("llama-3-8b-edge"))
    # networks of 2..16 nodes at TP 1 (the single node is its own network): 15 PP values
    assert largest_chunk(space) == len(space.mems) * 15 and space.max_nodes == 16


def test_space_cells_counts_every_memory_network_tp_and_pp():
    """Each (network, TP) contributes one cell per PP with TP x PP inside the network's node range, per memory
    configuration and backing tier, counted here from the definition."""
    space = build_space(load_problem("llama-3-8b-edge"))
    triples = sum(1 for n in space.nets for t in space.tps
                  for nodes in range(1, min(n.n_max, space.max_nodes) + 1)
                  if nodes % t == 0 and nodes >= n.n_min and space.physics_cache.pp_range(n, t) is not None)
    assert space_cells(space) == triples * len(space.mems) * max(1, len(space.backs))


def test_auto_enumerates_a_small_space_and_gives_a_large_one_to_cp_sat():
    small = build_space(load_problem())
    assert space_cells(small) <= AUTO_MAX_CELLS and largest_chunk(small) <= AUTO_MAX_CHUNK_CELLS
    assert choose_engine(small, "auto") == "enumeration"
    large = build_space(_with(load_problem(), constraints={"max_nodes": 1_000_000, "budget_usd": None}))
    assert largest_chunk(large) > AUTO_MAX_CHUNK_CELLS   # one array of every configuration x 10^5+ PP values
    assert choose_engine(large, "auto") == "cp-sat"
    assert [choose_engine(large, e) for e in ("cp-sat", "enumeration")] == ["cp-sat", "enumeration"]


def test_an_unknown_engine_is_refused():
    with pytest.raises(UsageError, match="^engine: expected one of auto, cp-sat, enumeration, found 'gurobi'$"):
        solve(load_problem(), engine="gurobi")


def test_the_problem_file_chooses_the_engine(write_problem):
    raw = copy.deepcopy(SMALL_PROBLEM)
    raw["search"]["engine"] = "cp-sat"
    r = solve(load_problem(write_problem(raw)))
    assert r.engine == "cp-sat" and r.iterations > 0 and r.settings["engine_setting"] == "cp-sat"


def test_the_report_names_the_engine_that_proved_the_answer():
    p = load_problem()
    en = solve(p)   # auto: the default problem's space is small
    assert en.engine == "enumeration" and en.settings["engine_setting"] == "auto"
    doc = to_json(en)["solver"]
    assert (doc["engine"], doc["engine_setting"], doc["iterations"]) == ("enumeration", "auto", 0)
    assert doc["search_space"]["cells"] == space_cells(build_space(p))
    assert solver_line(en).startswith(f"solver: OPTIMAL, every design enumerated ({space_cells(build_space(p)):,} "
                                      "cells), ")
    cp = solve(p, engine="cp-sat")
    assert solver_line(cp).startswith(f"solver: OPTIMAL, {cp.iterations} CP-SAT solves, ")
    assert to_json(cp)["solver"]["engine"] == "cp-sat"


def _clock(monkeypatch, flip_after: int):
    """A fake ``time.monotonic``: 0 for the first ``flip_after`` readings, then far past any deadline."""
    calls = [0]

    def monotonic() -> float:
        calls[0] += 1
        return 0.0 if calls[0] <= flip_after else 1e9
    monkeypatch.setattr(time, "monotonic", monotonic)


def test_a_deadline_stops_the_enumeration_with_the_best_designs_seen(monkeypatch):
    space = build_space(load_problem())
    full, complete = enumerate_ranked(space, 3)
    assert complete and len(full) == 3
    _clock(monkeypatch, 5)   # the deadline passes after the first few (network, TP) chunks
    part, complete = enumerate_ranked(space, 3, deadline=1.0)
    assert not complete and len(part) == 3
    assert [c.design.key() for c in part] != [c.design.key() for c in full]
    assert all(c.ok for cand in part for c in physics.checks(cand.design, space.req, space.problem))


def test_a_time_limit_cut_enumeration_is_feasible_and_unproven(monkeypatch):
    _clock(monkeypatch, 62)
    r = solve(load_problem(), engine="enumeration", top_k=3, time_limit_s=10)
    assert r.status == "FEASIBLE" and r.engine == "enumeration"
    assert r.designs and not any(rd.proven for rd in r.designs) and r.bound_bytes_per_s_per_usd is None
