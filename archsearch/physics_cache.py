"""The physics of one design space, computed once and shared by the oracle bounds and the CP-SAT model.

A solve reads the same per-(network, TP) figures several times: the oracle's quick lower bounds, the
model's speed, TTFT and balance groups, and the infeasibility diagnosis (which builds the model once
per constraint group).  ``PhysicsCache`` computes each figure on first use with the functions of
``physics`` and keeps it for the life of its ``Space`` (``Space.physics``): no module-level state, so
two problems never share an entry.  Every value is exactly what ``physics`` returns.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

from . import physics
from .physics import NetworkConfig

if TYPE_CHECKING:  # pragma: no cover
    from .space import Space


class PhysicsCache:
    """Per-(network, TP) and per-(memory, network) physics of one ``Space``, each computed once."""

    def __init__(self, space: "Space") -> None:
        self.space = space
        self._memo: dict = {}

    def _once(self, key: tuple, compute: Callable):
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = compute()
            return value

    # -- per (network, TP) ----------------------------------------------------------------------
    def pp_range(self, n: NetworkConfig, t: int) -> Optional[np.ndarray]:
        """The pipeline depths PP with N = t x PP inside network n's node range (None if there are none)."""
        def compute():
            if (n.tier is None and t > 1) or not physics.tp_fits(n, t):
                return None  # no TP without links; a two-level network keeps TP inside one domain
            lo = max(1, -(-n.n_min // t))
            hi = min(n.n_max, self.space.max_nodes) // t
            return np.arange(lo, hi + 1, dtype=np.int64) if hi >= lo else None
        return self._once(("pp", n.index, t), compute)

    def machine_classes(self, n: NetworkConfig) -> tuple[np.ndarray, np.ndarray, list[tuple]]:
        """For node counts 0..min(n_max, max_nodes): (communication class label, architecture label, the
        architecture of each label).  The communication classes are ``physics.machine_groups``' (the
        machine's ``comm_key``), the architectures ``NetworkConfig.arch`` (what "distinct" compares)."""
        def compute():
            top = min(n.n_max, self.space.max_nodes)
            if n.tier is None:
                return np.zeros(top + 1, dtype=np.int64), np.zeros(top + 1, dtype=np.int64), [n.arch(1)]
            if not n.domain_nodes:   # one level: the machine depends on the topology and node count only
                t = n.topology
                comm, arch, names = _machine_labels(t.kind, t.dimensions if t.kind in ("torus", "mesh") else 0,
                                                    n.tier.switch is not None, n.level, top)
                return comm, arch, [(n.tier_key, name) for name in names]
            return _labels(n.fabric.topology.kind, n.fabric.wiring, n.arch, top)
        return self._once(("classes", n.index), compute)

    def machine_groups(self, n: NetworkConfig, t: int) -> list[tuple[int, np.ndarray]]:
        """``physics.machine_groups(n, t, pp_range(n, t))``, from ``machine_classes``: the same classes in the
        same order, each with the node count of its first PP."""
        def compute():
            pp = self.pp_range(n, t)
            labels = self.machine_classes(n)[0][t * pp]
            first = {}
            for i, lab in enumerate(labels.tolist()):
                first.setdefault(lab, i)
            return [(int(t * pp[i]), labels == lab) for lab, i in first.items()]
        return self._once(("groups", n.index, t), compute)

    def decode_comm(self, n: NetworkConfig, t: int, nodes: int):
        """``physics.decode_comm`` of network n at TP t on the machine of ``nodes`` nodes."""
        s = self.space
        return self._once(("decode_comm", n.index, t, nodes),
                          lambda: physics.decode_comm(n, t, s.req, s.problem, nodes=nodes))

    def base_comm(self, n: NetworkConfig, t: int, nodes: int):
        """``physics.base_comm`` of network n at TP t on the machine of ``nodes`` nodes."""
        s = self.space
        return self._once(("base_comm", n.index, t, nodes),
                          lambda: physics.base_comm(n, t, s.req, s.problem, nodes=nodes))

    def comm_speed_mask(self, n: NetworkConfig, t: int) -> np.ndarray:
        """``physics.comm_speed_mask_at`` over ``pp_range(n, t)`` (each PP with its own machine's coefficients)."""
        s = self.space
        return self._once(("speed", n.index, t),
                          lambda: physics.comm_speed_mask_at(s.req, n, t, s.problem, self.pp_range(n, t)))

    def ttft_comm_mask(self, n: NetworkConfig, t: int) -> np.ndarray:
        """``physics.ttft_comm_mask`` over ``pp_range(n, t)``, each PP with its own machine's coefficients."""
        s, req = self.space, self.space.req

        def compute():
            return physics.machine_mask(n, t, self.pp_range(n, t), lambda nodes, v: physics.ttft_comm_mask(
                req, physics.base_comm(n, t, req, s.problem, nodes=nodes), v))
        return self._once(("ttft", n.index, t), compute)

    def comm_rule_matrix(self, n: NetworkConfig, t: int, ratio: Fraction) -> np.ndarray:
        """``physics.comm_rule_matrix_at`` over ``pp_range(n, t)``: one row per node bandwidth level
        (``bandwidth_levels``)."""
        s = self.space

        def compute():  # physics.comm_rule_matrix_at, with the machine classes and coefficients cached
            pp = self.pp_range(n, t)
            out = np.zeros((len(self.bandwidth_levels), len(pp)), dtype=bool)
            terms = self._once(("rule_terms", t, ratio),
                               lambda: physics.comm_rule_terms(s.req, self.bandwidth_levels, t, ratio))
            for nodes, sel in self.machine_groups(n, t):
                out[:, sel] = physics.comm_rule_matrix(self.decode_comm(n, t, nodes), s.req, self.bandwidth_levels,
                                                       t, ratio, pp[sel], terms)
            return out
        return self._once(("rule", n.index, t, ratio), compute)

    def comm_rule_at(self, n: NetworkConfig, t: int, ratio: Fraction, pp: np.ndarray) -> np.ndarray:
        """``comm_rule_matrix`` at the distinct PP values ``pp`` only (levels x len(pp)), not cached: for a
        few columns (the quick lower bounds) without the full PP range's machines and masks."""
        s = self.space
        out = np.zeros((len(self.bandwidth_levels), len(pp)), dtype=bool)
        terms = self._once(("rule_terms", t, ratio),
                           lambda: physics.comm_rule_terms(s.req, self.bandwidth_levels, t, ratio))
        for nodes, sel in physics.machine_groups(n, t, pp):
            out[:, sel] = physics.comm_rule_matrix(self.decode_comm(n, t, nodes), s.req, self.bandwidth_levels,
                                                   t, ratio, pp[sel], terms)
        return out

    def pp_groups(self, n: NetworkConfig, t: int) -> list[tuple[int, np.ndarray]]:
        """``machine_groups(n, t)`` without labelling every node count where the machine cannot change: a switched
        network (a two-level network's switched fabric) is one machine at every node count beyond one."""
        def compute():
            pp = self.pp_range(n, t)
            cfg = n.fabric if n.domain_nodes else n
            if cfg.tier is not None and cfg.topology.kind not in ("switch", "fat_tree", "dragonfly"):
                return self.machine_groups(n, t)
            one = t * pp == 1
            if cfg.tier is None or not one.any() or one.all():
                return [(int(t * pp[0]), np.ones(len(pp), dtype=bool))]
            return [(1, one), (int(t * pp[~one][0]), ~one)]
        return self._once(("pp_groups", n.index, t), compute)

    def by_machine(self, n: NetworkConfig, t: int, fn: Callable) -> np.ndarray:
        """``fn(nodes, pp values)`` (rows x PP) over ``pp_range(n, t)``, machine class by machine class
        (``pp_groups``)."""
        pp = self.pp_range(n, t)
        groups = self.pp_groups(n, t)
        if len(groups) == 1:
            return np.asarray(fn(groups[0][0], pp), dtype=bool)
        out = None
        for nodes, sel in groups:
            part = fn(nodes, pp[sel])
            if out is None:
                out = np.zeros((part.shape[0], len(pp)), dtype=bool)
            out[:, sel] = part
        return out

    def comm_rule_rows(self, n: NetworkConfig, t: int, ratio: Fraction, levels: tuple[int, ...]) -> np.ndarray:
        """``comm_rule_matrix``'s rows for the node bandwidths ``levels`` only (those of a model's configurations)."""
        s = self.space

        def compute():
            full = self._memo.get(("rule", n.index, t, ratio))
            if full is not None:   # already worked out for every level
                row = {v: i for i, v in enumerate(self.bandwidth_levels)}
                return full[[row[v] for v in levels]]
            terms = physics.comm_rule_terms(s.req, list(levels), t, ratio)
            return self.by_machine(n, t, lambda nodes, v: physics.comm_rule_matrix(
                self.decode_comm(n, t, nodes), s.req, list(levels), t, ratio, v, terms))
        return self._once(("rule_rows", n.index, t, ratio, levels), compute)

    # -- per memory configuration -----------------------------------------------------------------
    def node_bounds(self, m, groups: tuple[str, ...]) -> tuple[int, int]:
        """``model.node_bounds`` of memory configuration m with these constraint groups."""
        from .space import node_bounds
        return self._once(("node_bounds", m.index, groups), lambda: node_bounds(self.space, m, groups))

    @property
    def bandwidth_levels(self) -> list[int]:
        """The distinct per-node memory bandwidths, ascending (the comm-time rule's rows): the streaming
        bandwidth a node reaches when the speed model is calibrated, the datasheet figure under the roofline."""
        s = self.space
        return self._once(("levels",), lambda: sorted({physics.effective_bandwidth(s.req, m) for m in s.mems}))

    @property
    def level_of_mem(self) -> np.ndarray:
        """For each memory configuration, its row in ``bandwidth_levels``."""
        def compute():
            where = {v: i for i, v in enumerate(self.bandwidth_levels)}
            return np.array([where[physics.effective_bandwidth(self.space.req, m)] for m in self.space.mems],
                            dtype=np.int64)
        return self._once(("level_of_mem",), compute)

    def ttft_pair_ok(self, t: int) -> np.ndarray:
        """``physics.ttft_pair_ok`` of every memory configuration at TP degree t."""
        s = self.space
        return self._once(("ttft_pair", t),
                          lambda: np.array([physics.ttft_pair_ok(s.req, m, t) for m in s.mems], dtype=bool))

    # -- per (memory, network) ----------------------------------------------------------------------
    def keep_up(self, ratio: Fraction, pipeline: bool = False) -> np.ndarray:
        """``physics.links_keep_up_matrix`` at this ratio (memory configurations x network configurations);
        ``pipeline``: on the links pipeline hops use (both levels of a two-level network)."""
        s = self.space
        return self._once(("keep_up", ratio, pipeline),
                          lambda: physics.links_keep_up_matrix(s.mems, s.nets, ratio, pipeline))

    @property
    def compatible(self) -> np.ndarray:
        """``physics.compatible`` for every (memory configuration, network configuration) pair."""
        s = self.space
        return self._once(("compatible",), lambda: np.array(
            [[physics.compatible(m, n) for n in s.nets] for m in s.mems], dtype=bool).reshape(len(s.mems),
                                                                                             len(s.nets)))

    def least_network_cost_per_node(self, n: NetworkConfig) -> np.ndarray:
        """Index v = 0..min(n_max, max_nodes): the least network cost per node, in cost units, at any node count
        N >= v of network n's range (inf where none), the suffix minima of ``network_cost_units(n)[N] / N``.
        A lower bound on what the network adds to each node's cost (``prune.live_pairs``, the enumeration's
        floor)."""
        def compute():
            top = min(n.n_max, self.space.max_nodes)
            per = np.full(top + 1, np.inf)
            first = max(1, n.n_min)
            if top >= first:
                counts = np.arange(first, top + 1)
                per[first:] = self.network_cost_units(n)[first:top + 1] / counts
            return np.minimum.accumulate(per[::-1])[::-1]
        return self._once(("least_net_per_node", n.index), compute)

    def network_cost_units(self, n: NetworkConfig) -> np.ndarray:
        """``physics.network_cost_units`` of network n at every node count 0..n.n_max (index = node count), in
        the space's integer cost units (``Space.cost_unit``)."""
        return self._once(("net_cost", n.index),
                          lambda: np.asarray(physics.network_cost_units(n, np.arange(n.n_max + 1, dtype=np.int64),
                                                                        self.space.cost_unit), dtype=np.int64))


def _labels(kind: str, wiring: Callable, arch: Callable, top: int) -> tuple[np.ndarray, np.ndarray, list]:
    """Communication class and architecture labels of node counts 0..top (``PhysicsCache.machine_classes``):
    ``kind`` and ``wiring(nodes)`` are those of the network whose machine varies with N (a two-level network's
    fabric), ``arch(nodes)`` what "distinct" compares."""
    comm = np.zeros(top + 1, dtype=np.int64)
    labels = np.zeros(top + 1, dtype=np.int64)
    switched = kind in ("switch", "fat_tree", "dragonfly")
    comm_keys: dict = {}
    archs: dict = {}
    for v in range(1, top + 1):
        if switched and v > 2:   # one machine (and one name) at every node count beyond one
            comm[v], labels[v] = comm[2], labels[2]
            continue
        comm[v] = comm_keys.setdefault(wiring(v).comm_key, len(comm_keys))
        labels[v] = archs.setdefault(arch(v), len(archs))
    comm[0], labels[0] = comm[min(1, top)], labels[min(1, top)]
    return comm, labels, list(archs)


@functools.lru_cache(maxsize=512)
def _machine_labels(kind: str, dimensions: int, has_switch: bool, level: int, top: int):
    """``_labels`` of a one-level network, by what its machines depend on (``topology.canonical``): the same for
    every problem, so a sweep or study works them out once (as ``topology._canonical`` is cached)."""
    from .topology import _canonical

    def wiring(nodes: int):
        return _canonical(kind, dimensions, has_switch, nodes, level)
    comm, labels, names = _labels(kind, wiring, lambda v: wiring(v).name, top)
    comm.setflags(write=False)
    labels.setflags(write=False)
    return comm, labels, tuple(names)
