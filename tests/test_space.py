"""archsearch.space: the integer columns and units of a space, remembered by value across spaces."""

from __future__ import annotations

from fractions import Fraction

from archsearch import load_problem, physics
from archsearch.scaling import fraction_gcd, in_units, scale_column
from archsearch.space import _gcd, _in_units, _scaled, build_space, node_bounds

from cache_keys import assert_key_covers


def test_columns_and_cost_unit_equal_scaling_of_the_configurations():
    space = build_space(load_problem("llama-3.1-70b-kv-swap"))
    assert space.backs
    assert space.bw_column == scale_column([Fraction(m.bandwidth_bytes_per_s) for m in space.mems])
    assert space.flops_column == scale_column([Fraction(m.compute_flops) for m in space.mems])
    assert space.cost_unit == fraction_gcd([m.cost_usd for m in space.mems] + [b.cost_usd for b in space.backs]
                                           + [physics.network_term_usd(t) for n in space.nets for t in n.terms])
    assert [space.cost_units(m.cost_usd) for m in space.mems] == [in_units(m.cost_usd, space.cost_unit)
                                                                  for m in space.mems]


def test_value_caches_key_on_every_value():
    """Each remembered column, unit and whole number of units changes with any one of its inputs."""
    assert_key_covers(_scaled, lambda kw: _scaled(kw["values"]), dict(values=(6, 10, 14)),
                      {"values": dict(values=(6, 10, 15))})
    assert_key_covers(_gcd, lambda kw: _gcd(kw["values"]), dict(values=(Fraction(1, 2), Fraction(3, 4))),
                      {"values": dict(values=(Fraction(1, 2), Fraction(3, 5)))})
    assert_key_covers(_in_units, lambda kw: _in_units(kw["usd"], kw["unit"]),
                      dict(usd=Fraction(3, 2), unit=Fraction(1, 4)),
                      {"usd": dict(usd=Fraction(5, 2)), "unit": dict(unit=Fraction(1, 8))})


def test_node_bounds_by_hand():
    """The default problem's bounds on N for one configuration, from the figures they follow from."""
    import math
    space = build_space(load_problem())
    req, m = space.req, space.mems[0]
    need = physics.step_rate(req) * physics.step_bytes(req, 1)
    flops = req.min_tokens_per_s * physics.compute_per_token_flops(req, req.concurrency)
    lo = max(1, -(-req.capacity_required_bytes // m.capacity_bytes), math.ceil(need / m.bandwidth_bytes_per_s),
             math.ceil(flops / m.compute_flops))
    hi = min(space.max_nodes, math.floor(Fraction(20_000_000) / m.cost_usd))
    assert node_bounds(space, m) == (lo, hi)
    assert node_bounds(space, m, ("budget",)) == (1, hi)
    assert node_bounds(space, m, ("capacity",)) == (max(1, -(-req.capacity_required_bytes // m.capacity_bytes)),
                                                    space.max_nodes)
