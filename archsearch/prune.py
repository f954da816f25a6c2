"""Which (memory configuration, network configuration) pairs can still reach the top K: an exact bound.

Before the CP-SAT model is built, the quick enumeration (``oracle.enumerate_top(..., quick=True)``) has
found feasible designs.  If K of them have different distinct keys, the K-th best of those ratios,
lambda_K, is a lower bound on the ratio of every design in the final top K: any design below it is beaten
by K designs of other keys (or, for its own key, by a better design of that key).

A pair (memory configuration k, network configuration j) cannot do better than its nodes and network
alone allow: with b_k and c_k the bandwidth and cost of one node and net_j(N) the network's cost at N
nodes, every design on the pair has

    B / C  <=  b_k N / (c_k N + net_j(N))  <=  b_k / (c_k + min over N >= lo_k of net_j(N) / N)

where lo_k is the configuration's least node count (capacity, and the roofline speed bound, which every
speed model respects: ``model.node_bounds``).  Every other cost (a KV backing tier) only lowers the
ratio, so this is an upper bound.  Pairs whose bound is below lambda_K (strictly, with a relative
margin far above floating-point error, so a pair is kept whenever in doubt) are left out of the model.
The designs found by the quick enumeration stay in it (their own ratio is at least lambda_K), so the
model is never emptied, and the proof CP-SAT then gives is a proof for the whole space.

Measured on the two-level benchmark at 1,024 nodes: 46 of 9,484 compatible pairs remain (6 of 146
memory configurations, 25 of 187 networks); on the default problem 118 of 2,780.
"""

from __future__ import annotations

from typing import Iterable, Optional

import numpy as np

#: a pair is dropped only when its bound is below lambda_K by more than this relative margin
#: (floating-point error of the bound is below 1e-15 relative; the margin keeps every doubtful pair)
MARGIN = 1e-9


def kth_distinct_ratio(candidates: Iterable, top_k: int, distinct: str) -> Optional[float]:
    """The K-th best ratio among candidates of different distinct keys (None if fewer than K keys)."""
    seen: set = set()
    for c in sorted(candidates, key=lambda c: c.sort_key()):
        key = c.design.distinct_key(distinct)
        if key in seen:
            continue
        seen.add(key)
        if len(seen) == top_k:
            return c.bandwidth_units / c.cost_units
    return None


def live_pairs(space, candidates: Iterable, top_k: int, distinct: str, groups: tuple[str, ...]) -> Optional[np.ndarray]:
    """Memory configurations x network configurations: True where a top-K design may lie (None: keep all).

    ``candidates``: feasible designs with exact ratios (``oracle.Candidate``); ``groups``: the constraint
    groups the model enforces (their node bounds are used)."""
    lam = kth_distinct_ratio(candidates, top_k, distinct)
    if lam is None or lam <= 0:
        return None
    cache = space.physics_cache
    b = np.array(space.bw_column.ints, dtype=float)
    c = np.array([space.cost_units(m.cost_usd) for m in space.mems], dtype=float)   # in cost units
    lo = np.array([max(1, cache.node_bounds(m, groups)[0]) for m in space.mems], dtype=np.int64)
    keep = np.zeros((len(space.mems), len(space.nets)), dtype=bool)
    for n in space.nets:
        least = cache.least_network_cost_per_node(n)   # min over N >= v of net(N) / N, at index v
        top = len(least) - 1
        if top < max(1, n.n_min):
            continue
        bound = b / np.maximum(c + least[np.clip(lo, 1, top)], 1e-300)
        keep[:, n.index] = (lo <= top) & (bound >= lam * (1 - MARGIN))
    return keep & cache.compatible


#: above this many (pair, node count) cells per Dinkelbach step, per-pair node-count sets are not stated (their
#: arrays would cost more than they save; they are implied, so leaving them out changes no answer)
MAX_PAIR_CELLS = 4_000_000


def pair_node_intervals(dm, lam) -> list[tuple[int, int, Optional[list[list[int]]]]]:
    """For each live (memory, network) pair of a ``model.DesignModel``: the node counts N at which the pair's
    nodes and network alone reach ratio lam, as intervals (None: every N of the network's range; []: none).

    b_k N / (c_k N + net_j(N)) >= lam is implied by the Dinkelbach row den*B - num*C >= 0 (every other cost
    only lowers the ratio), so stating it as the set of N it allows, enforced by the pair's two literals,
    adds no restriction: it hands CP-SAT what its linear relaxation cannot see through the ceilings of the
    network's item counts.  Floating point with ``MARGIN`` keeps every doubtful N.  Returns (position of the
    memory configuration in ``dm.mems``, position of the network in ``dm.nets``, intervals)."""
    if dm.live is None:
        return []
    cache, space = dm.space.physics_cache, dm.space
    pairs = [(k, j) for j, n in enumerate(dm.nets) for k, m in enumerate(dm.mems)
             if dm.live[m.index, n.index]]
    cells = sum(max(0, min(dm.nets[j].n_max, space.max_nodes) - max(1, dm.nets[j].n_min) + 1) for _, j in pairs)
    if cells > MAX_PAIR_CELLS:
        return []
    lam_f = lam.numerator / lam.denominator
    out = []
    for k, j in pairs:
        m, n = dm.mems[k], dm.nets[j]
        first, top = max(1, n.n_min), min(n.n_max, space.max_nodes)
        if top < first:
            out.append((k, j, []))
            continue
        counts = np.arange(first, top + 1, dtype=np.int64)
        cost = space.cost_units(m.cost_usd) * counts.astype(float) + cache.network_cost_units(n)[first:top + 1]
        ok = dm.bw_ints[k] * counts.astype(float) >= lam_f * cost * (1 - MARGIN)
        if ok.all():
            out.append((k, j, None))
            continue
        edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.astype(np.int8), [0]))))
        out.append((k, j, [[int(counts[a]), int(counts[b - 1])] for a, b in zip(edges[::2], edges[1::2])]))
    return out
