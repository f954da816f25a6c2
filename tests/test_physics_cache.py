"""archsearch.physics_cache: every cached figure equals what physics computes, and is computed once."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from archsearch import load_problem, physics
from archsearch.space import build_space
from archsearch.physics_cache import PhysicsCache
from archsearch.problem import bundled_problems


def test_cached_figures_equal_physics_on_every_bundled_problem() -> None:
    for path in bundled_problems():
        space = build_space(load_problem(path))
        cache, req, p = space.physics_cache, space.req, space.problem
        for n in space.nets[:6]:
            for t in space.tps[:4]:
                pp = cache.pp_range(n, t)
                if pp is None:
                    continue
                assert (cache.comm_speed_mask(n, t) == physics.comm_speed_mask_at(req, n, t, p, pp)).all()
                assert (cache.ttft_comm_mask(n, t) == physics.machine_mask(n, t, pp, lambda nodes, v, n=n, t=t: (
                    physics.ttft_comm_mask(req, physics.base_comm(n, t, req, p, nodes=nodes), v)))).all()
            assert [c * space.cost_unit for c in cache.network_cost_units(n)[1:].tolist()] == \
                [physics.network_cost_usd(n, k) for k in range(1, n.n_max + 1)]
        for ratio in (Fraction(0), Fraction(1, 8), Fraction(1, 2), Fraction(7, 3)):
            slow = [[physics.links_keep_up(n, m, ratio) for n in space.nets] for m in space.mems]
            assert (cache.keep_up(ratio) == np.array(slow, dtype=bool)).all(), (path.stem, ratio)


def test_each_figure_is_computed_once_per_space(monkeypatch) -> None:
    space = build_space(load_problem())
    calls = []
    real = physics.comm_speed_mask_at
    monkeypatch.setattr(physics, "comm_speed_mask_at", lambda *a: calls.append(a[1:3]) or real(*a))
    n, t = space.nets[1], space.tps[0]
    first = space.physics_cache.comm_speed_mask(n, t)
    assert space.physics_cache.comm_speed_mask(n, t) is first and len(calls) == 1
    assert (PhysicsCache(space).comm_speed_mask(n, t) == first).all() and len(calls) == 2  # a new cache: afresh


def test_machine_classes_groups_and_comm_rule_equal_physics() -> None:
    """The cached machine classes give physics.machine_groups' classes (same order, same first node count), the
    architecture of each node count is NetworkConfig.arch, and the comm-time rule is physics.comm_rule_matrix_at,
    on one- and two-level networks."""
    for name, two_level in (("llama-3.1-405b-long-context", False), ("llama-3.1-405b-long-context", True)):
        p = load_problem(name)
        if two_level:
            import dataclasses
            p = dataclasses.replace(p, search=dataclasses.replace(p.search, two_level=True))
        space = build_space(p)
        cache, req = space.physics_cache, space.req
        assert not two_level or any(n.domain_nodes for n in space.nets)
        for n in space.nets:
            _, arch, archs = cache.machine_classes(n)
            top = min(n.n_max, space.max_nodes)
            assert [archs[arch[v]] for v in range(max(1, n.n_min), top + 1)] == \
                [n.arch(v) for v in range(max(1, n.n_min), top + 1)]
            for t in space.tps:
                pp = cache.pp_range(n, t)
                if pp is None:
                    continue
                want = list(physics.machine_groups(n, t, pp))
                got = cache.machine_groups(n, t)
                assert [g[0] for g in got] == [w[0] for w in want]
                assert all((g[1] == w[1]).all() for g, w in zip(got, want))
                if n.tier is not None:
                    ratio = Fraction(1, 2)
                    assert (cache.comm_rule_matrix(n, t, ratio) == physics.comm_rule_matrix_at(
                        n, t, req, p, cache.bandwidth_levels, ratio, pp)).all()


@pytest.mark.calibrated
@pytest.mark.parametrize("name, two_level", [("llama-2-70b-chat", False), ("llama-3.1-405b-long-context", True),
                                             ("mixtral-8x7b-batch", False), ("deepseek-v3-serving", True)])
def test_speed_and_comm_rule_from_per_tp_tables_equal_physics(name, two_level):
    """The speed target from the per-TP slack table (``speed_ok``) is ``physics.speed_matrix_at`` row by row, and
    the comm-time rule from the per-TP right-hand side is ``physics.comm_rule_matrix_at``, on every network
    (one- and two-level, machines that change with N) and TP degree."""
    import dataclasses
    p = load_problem(name)
    if two_level:
        p = dataclasses.replace(p, search=dataclasses.replace(p.search, two_level=True))
    space = build_space(p)
    cache, req = space.physics_cache, space.req
    assert req.calibrated and (not two_level or any(n.domain_nodes for n in space.nets))
    spans = physics.spans_domains(p) and any(physics.spanning(n, t) for n in space.nets[::4] for t in space.tps
                                             if cache.pp_range(n, t) is not None)
    assert spans == (name == "deepseek-v3-serving")   # a TP group over whole domains: its own communication
    terms = [physics.node_terms(req, m) for m in space.mems]
    rows = np.arange(len(space.mems))
    outcomes = set()
    for n in space.nets[::4] if len(space.nets) > 100 else space.nets:   # the large two-level space: a quarter
        for t in space.tps:
            pp = cache.pp_range(n, t)
            if pp is None:
                continue
            want = physics.speed_matrix_at(req, n, t, p, terms, pp)
            assert (cache.speed_ok(n, t, rows) == want).all(), (n.label, t)
            assert (cache.speed_ok(n, t, rows[::-3]) == want[::-3]).all()
            outcomes.update(want.ravel().tolist())
            if n.tier is not None:
                for ratio in (Fraction(1, 2), Fraction(3)):
                    assert (cache.comm_rule_matrix(n, t, ratio) == physics.comm_rule_matrix_at(
                        n, t, req, p, cache.bandwidth_levels, ratio, pp)).all(), (n.label, t, ratio)
    assert outcomes == {True, False}


def test_shared_tables_cache_keys_on_network_tp_max_nodes_and_spanning():
    """The PP range, machine classes and machine groups are remembered across spaces by (network, TP, max_nodes,
    whether a TP group may span domains): changing any one gives what a fresh computation gives; the shared
    arrays are read-only."""
    import dataclasses
    from cache_keys import assert_key_covers
    from archsearch import physics_cache as pc
    p = load_problem("llama-3.1-405b-long-context")
    space = build_space(dataclasses.replace(p, search=dataclasses.replace(p.search, two_level=True)))
    mesh = next(n for n in space.nets if n.tier is not None and n.topology.kind == "mesh" and n.n_max >= 64)
    other = next(n for n in space.nets if n.tier is not None and n.topology.kind == "all_to_all" and 8 < n.n_max < 64)
    two = next(n for n in space.nets if n.domain_nodes and 2 * n.domain_nodes in space.tps)
    base = dict(n=mesh, t=2, max_nodes=64, span=False)
    variants = {"network": dict(n=other), "TP": dict(t=4), "max_nodes": dict(max_nodes=base["max_nodes"] - 6)}
    spanning = {"span": dict(n=two, t=2 * two.domain_nodes, max_nodes=space.max_nodes, span=True)}

    def plain(a):
        return None if a is None else tuple(a.tolist())

    def groups(kw):
        return tuple((nodes, plain(sel)) for nodes, sel in pc.machine_groups_of(kw["n"], kw["t"], kw["max_nodes"],
                                                                                  kw["span"]))
    assert_key_covers(pc.pp_range_of, lambda kw: plain(pc.pp_range_of(kw["n"], kw["t"], kw["max_nodes"], kw["span"])),
                      base, variants)
    assert_key_covers(pc.pp_range_of, lambda kw: plain(pc.pp_range_of(kw["n"], kw["t"], kw["max_nodes"], kw["span"])),
                      {**spanning["span"], "span": False}, spanning)
    assert_key_covers(pc.machine_groups_of, groups, base, variants)
    assert pc.pp_range_of(two, 2 * two.domain_nodes, space.max_nodes, False) is None
    assert_key_covers(pc.machine_classes_of, lambda kw: tuple(
        plain(x) if isinstance(x, np.ndarray) else x for x in pc.machine_classes_of(kw["n"], kw["max_nodes"])),
        base, {k: v for k, v in variants.items() if k != "TP"})
    with pytest.raises(ValueError):
        pc.pp_range_of(mesh, 2, 64, False)[0] = 0


def test_network_cost_caches_key_on_network_max_nodes_and_cost_unit():
    """Network costs in cost units and their least cost per node are remembered across spaces by (network, cost
    unit) and (network, max_nodes, cost unit): changing any one gives what a fresh computation gives."""
    from cache_keys import assert_key_covers
    from archsearch import physics_cache as pc
    space = build_space(load_problem())
    a, b = [n for n in space.nets if n.tier is not None and n.n_max >= 64][:2]
    unit = space.cost_unit
    base = dict(n=a, max_nodes=64, unit=unit)
    variants = {"network": dict(n=b), "max_nodes": dict(max_nodes=48), "cost unit": dict(unit=unit / 2)}
    assert_key_covers(pc.network_cost_units_of, lambda kw: tuple(
        pc.network_cost_units_of(kw["n"], kw["unit"]).tolist()), base, {k: v for k, v in variants.items()
                                                                        if k != "max_nodes"})
    assert_key_covers(pc.least_network_cost_per_node_of, lambda kw: tuple(pc.least_network_cost_per_node_of(
        kw["n"], kw["max_nodes"], kw["unit"]).tolist()), base, variants)

def _two_level_space(max_nodes: int = 512):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_two_level import problem
    return build_space(problem(max_nodes))


def test_model_rows_equal_the_full_physics_on_one_and_two_level_spaces() -> None:
    """comm_rule_rows (a subset of levels, machines from pp_groups) and comm_rule_at (a few PP values) equal the
    full cached matrix; by_machine equals physics.machine_mask machine for machine."""
    for make in (lambda: _two_level_space(), lambda: build_space(load_problem())):
        fresh, full = make(), make()   # fresh: every subset worked out from scratch, not sliced from the full matrix
        req, p, ratio = full.req, full.problem, Fraction(1, 2)
        levels = full.physics_cache.bandwidth_levels
        some = tuple(levels[::3])
        rows = [levels.index(v) for v in some]
        for n in full.nets:
            for t in full.tps:
                pp = full.physics_cache.pp_range(n, t)
                if pp is None or n.tier is None:
                    continue
                whole = full.physics_cache.comm_rule_matrix(n, t, ratio)
                assert (fresh.physics_cache.comm_rule_rows(n, t, ratio, some) == whole[rows]).all(), n.label
                cols = np.unique(pp[:: max(1, len(pp) // 5)])
                assert (fresh.physics_cache.comm_rule_at(n, t, ratio, cols) == whole[:, cols - pp[0]]).all()
                def fn(nodes, v, n=n, t=t):
                    return physics.comm_speed_mask(req, physics.decode_comm(n, t, req, p, nodes=nodes), v)
                assert (fresh.physics_cache.by_machine(n, t, lambda nodes, v: fn(nodes, v)[None, :])[0]
                        == physics.machine_mask(n, t, pp, fn)).all(), n.label
