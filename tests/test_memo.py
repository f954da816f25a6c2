"""archsearch.memo: a cache keyed on exactly a function's arguments, computing afresh when one is unhashable."""

from __future__ import annotations

import dataclasses

import pytest

from archsearch import load_problem, physics
from archsearch.memo import exact_cache


def test_remembers_by_arguments_and_computes_unhashable_ones_afresh():
    calls = []

    @exact_cache(8)
    def total(values):
        calls.append(values)
        return sum(values)
    assert total((1, 2)) == total((1, 2)) == 3 and len(calls) == 1
    assert total((1, 3)) == 4 and len(calls) == 2
    assert total([1, 2]) == total([1, 2]) == 3 and len(calls) == 4   # a list: no key, computed each time
    assert total.cache_info().currsize == 2
    total.cache_clear()
    assert total.cache_info().currsize == 0 and total.__wrapped__((5,)) == 5


def test_other_type_errors_are_raised():
    @exact_cache(8)
    def broken(x):
        return x + "a"
    with pytest.raises(TypeError, match="unsupported operand"):
        broken(1)


def test_a_hand_built_include_list_gives_what_the_loaders_tuple_gives():
    """A caller building a problem by hand may give an include list as a list: the configurations are the same."""
    p = load_problem()
    names = ("h100-sxm", "b200")
    as_tuple = dataclasses.replace(p, search=dataclasses.replace(p.search, include={"nodes": names}))
    as_list = dataclasses.replace(p, search=dataclasses.replace(p.search, include={"nodes": list(names)}))
    want = physics.memory_configs(as_tuple)
    assert want and physics.memory_configs(as_list) == want
    assert {m.node.name for m in want} <= set(names)


def test_clear_empties_every_cache():
    from archsearch import memo

    @exact_cache(8)
    def double(x):
        return 2 * x
    double(3)
    load_problem("llama-2-70b-chat")
    physics.memory_configs(load_problem("llama-2-70b-chat"))
    assert double.cache_info().currsize == 1
    memo.clear()
    assert double.cache_info().currsize == 0
    assert all(c.cache_info().currsize == 0 for c in memo._CACHES)
