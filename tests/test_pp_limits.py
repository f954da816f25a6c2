"""archsearch.pp_limits: node-count runs, and the node counts a network may take in a model (a superset of the
node counts of its feasible designs, which the ranking's cuts rely on)."""

from __future__ import annotations

import numpy as np

from archsearch.model import DesignModel
from archsearch.oracle import enumerate_top
from archsearch.pp_limits import complement, count_runs, runs
from archsearch.space import build_space


def test_runs_of_node_counts() -> None:
    v = np.array([1, 2, 3, 7, 9, 10])
    assert runs(v) == [[1, 3], [7, 7], [9, 10]]
    assert count_runs(v) == 3
    assert runs(np.array([], dtype=np.int64)) == [] and count_runs(np.array([], dtype=np.int64)) == 0
    assert complement(v, 12) == [[4, 6], [8, 8], [11, 12]]
    assert complement(np.array([1, 12]), 12) == [[2, 11]]
    assert complement(np.array([], dtype=np.int64), 5) == [[1, 5]]


def _two_level_space(max_nodes: int):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_two_level import problem   # 405B at 512k context, comm-time rule, every catalog part
    return build_space(problem(max_nodes))


def test_node_counts_hold_every_feasible_design() -> None:
    space = _two_level_space(128)
    dm = DesignModel(space)
    counts = {n.index: set(dm.node_counts(n).tolist()) for n in space.nets}
    designs = enumerate_top(space, 10**6, "design", floor=False)
    assert len(designs) > 1000
    for c in designs:
        assert c.design.nodes in counts[c.design.net.index], c.design
    # and it is a real restriction somewhere (else the cuts gain nothing)
    assert any(len(counts[n.index]) < min(n.n_max, space.max_nodes) - max(1, n.n_min) + 1 for n in space.nets)
