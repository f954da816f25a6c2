"""archsearch.physics_cache: every cached figure equals what physics computes, and is computed once."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

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
