"""The physics of one design space, computed once and shared by the oracle bounds and the CP-SAT model.

A solve reads the same per-(network, TP) figures several times: the oracle's quick lower bounds, the
model's speed, TTFT and balance groups, and the infeasibility diagnosis (which builds the model once
per constraint group).  ``PhysicsCache`` computes each figure on first use with the functions of
``physics`` and keeps it for the life of its ``Space`` (``Space.physics_cache``).  Every value is exactly what
``physics`` returns.

What does not depend on the workload (a network's PP range, machine classes and groups, its costs in cost
units) is also remembered across spaces by ``memo.exact_cache``, keyed on exactly what it reads (the
network, TP, max_nodes, the cost unit): the points of a sweep or study share it, and two problems share an
entry only when those inputs are equal.  The speed target and the comm-time rule are decided against
per-TP tables shared by every network (``speed_slack``, ``comm_rule_rhs``): what varies from network to
network is only its communication time (``comm_ps``).
"""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

from . import physics
from .memo import exact_cache
from .physics import NetworkConfig
from .scaling import INT_LIMIT

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
        """The pipeline depths PP with N = t x PP inside network n's node range (None if there are none);
        read-only."""
        return self._once(("pp", n.index, t), lambda: pp_range_of(n, t, self.space.max_nodes, self._span))

    @property
    def _span(self) -> bool:
        """``physics.spans_domains`` of the problem: a TP group may cover whole domains of a two-level network."""
        return self._once(("span",), lambda: physics.spans_domains(self.space.problem))

    def machine_classes(self, n: NetworkConfig) -> tuple[np.ndarray, np.ndarray, list[tuple]]:
        """For node counts 0..min(n_max, max_nodes): (communication class label, architecture label, the
        architecture of each label).  The communication classes are ``physics.machine_groups``' (the
        machine's ``comm_key``), the architectures ``NetworkConfig.arch`` (what "distinct" compares)."""
        def compute():
            comm, arch, names = machine_classes_of(n, self.space.max_nodes)
            return comm, arch, list(names)
        return self._once(("classes", n.index), compute)

    def machine_groups(self, n: NetworkConfig, t: int) -> list[tuple[int, np.ndarray]]:
        """``physics.machine_groups(n, t, pp_range(n, t))``, from ``machine_classes``: the same classes in the
        same order, each with the node count of its first PP."""
        return self._once(("groups", n.index, t),
                          lambda: list(machine_groups_of(n, t, self.space.max_nodes, self._span)))

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
        def compute():  # physics.comm_rule_matrix_at: its two sides from tables shared across networks
            pp = self.pp_range(n, t)
            return _at_most(self.comm_ps(n, t)[None, :], self.comm_rule_rhs(t, ratio)[:, int(pp[0]) - 1:int(pp[-1])])
        return self._once(("rule", n.index, t, ratio), compute)

    # -- per (network, TP), on tables shared by every network at one TP degree ---------------------------
    def comm_ps(self, n: NetworkConfig, t: int) -> np.ndarray:
        """PP x the decode step's communication time per user (``CommCoefficients.pp_comm_ps``, whole
        picoseconds) at every PP of ``pp_range(n, t)``, each PP with its own machine's coefficients: int64, or
        Python integers (dtype object) where int64 could overflow."""
        def compute():
            pp = self.pp_range(n, t)
            m = physics.micro_batch_m(pp, self.space.req.concurrency)
            parts = []
            for nodes, sel in self.machine_groups(n, t):
                cc = self.decode_comm(n, t, nodes)
                p, mm = pp[sel], m[sel]
                # every term is non-negative and grows with PP and M: the value at the largest bounds them all
                kind = np.int64 if cc.pp_comm_ps(int(p.max()), int(mm.max())) < INT_LIMIT else object
                parts.append((sel, cc.pp_comm_ps(p.astype(kind), mm.astype(kind))))
            out = np.empty(len(pp), dtype=object if any(v.dtype == object for _, v in parts) else np.int64)
            for sel, v in parts:
                out[sel] = v
            return out
        return self._once(("comm_ps", n.index, t), compute)

    def top_pp(self, t: int) -> int:
        """The largest PP of any network at TP degree t (0 if none): the width of the per-TP tables."""
        def compute():
            ranges = [self.pp_range(n, t) for n in self.space.nets]
            return max((int(r[-1]) for r in ranges if r is not None), default=0)
        return self._once(("top_pp", t), compute)

    @property
    def node_classes(self) -> tuple[list, np.ndarray]:
        """The distinct ``physics.node_terms`` of the memory configurations, ascending (the rows of the
        calibrated tables), and each configuration's row."""
        def compute():
            req = self.space.req
            terms = [physics.node_terms(req, m) for m in self.space.mems]
            classes = sorted(set(terms))
            where = {x: i for i, x in enumerate(classes)}
            return classes, np.array([where[x] for x in terms], dtype=np.int64)
        return self._once(("node_classes",), compute)

    def speed_slack(self, t: int) -> np.ndarray:
        """``physics.speed_slack`` of every node class at TP degree t over PP = 1..``top_pp(t)`` (column PP - 1)."""
        classes = self.node_classes[0]
        return self._once(("slack", t), lambda: physics.speed_slack(
            self.space.req, classes, t, np.arange(1, self.top_pp(t) + 1, dtype=np.int64),
            self._once(("class_arrays",), lambda: physics.class_arrays(classes))))

    def speed_ok(self, n: NetworkConfig, t: int, rows: np.ndarray) -> np.ndarray:
        """The calibrated speed target of memory configurations ``rows`` (rows) at every PP of ``pp_range(n, t)``
        (columns): ``physics.speed_matrix`` of each row's node class with each PP's own machine, decided as
        communication <= ``speed_slack`` (the same integers, compared the same way)."""
        pp = self.pp_range(n, t)
        slack = self.speed_slack(t)[:, int(pp[0]) - 1:int(pp[-1])][self.node_classes[1][rows]]
        return _at_most(self.comm_ps(n, t)[None, :], slack)

    def comm_rule_rhs(self, t: int, ratio: Fraction) -> np.ndarray:
        """The right-hand side of ``physics.comm_rule_matrix`` (ratio x PP x t_mem, each term floored) for every
        row of ``bandwidth_levels`` over PP = 1..``top_pp(t)`` (column PP - 1); it does not depend on the
        network.  int64 where it fits, else Python integers (dtype object)."""
        s = self.space

        def compute():
            req = s.req
            cw, ck, xt, xt_max, _ = physics.comm_rule_terms(req, self.bandwidth_levels, t, ratio)
            pp = np.arange(1, self.top_pp(t) + 1, dtype=np.int64)
            m = physics.micro_batch_m(pp, req.concurrency)
            top = max(cw) * int(pp.max(initial=0)) + max(ck) * int(m.max(initial=0)) + xt_max
            kind = np.int64 if top < INT_LIMIT else object
            rhs = (np.array(cw, dtype=kind)[:, None] * pp.astype(kind) + np.array(ck, dtype=kind)[:, None]
                   * m.astype(kind))
            if req.moe_extra_bytes:
                rhs = rhs + np.array(xt, dtype=kind)[:, np.minimum(pp, req.concurrency)]
            return rhs
        return self._once(("rule_rhs", t, ratio), compute)

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
        return self._once(("levels",), lambda: sorted(set(self.effective_bandwidths)))

    @property
    def effective_bandwidths(self) -> list[int]:
        """``physics.effective_bandwidth`` of each memory configuration."""
        s = self.space
        return self._once(("eff_bw",), lambda: [physics.effective_bandwidth(s.req, m) for m in s.mems])

    @property
    def level_of_mem(self) -> np.ndarray:
        """For each memory configuration, its row in ``bandwidth_levels``."""
        def compute():
            where = {v: i for i, v in enumerate(self.bandwidth_levels)}
            return np.array([where[b] for b in self.effective_bandwidths], dtype=np.int64)
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
        floor).  Read-only."""
        s = self.space
        return self._once(("least_net_per_node", n.index),
                          lambda: least_network_cost_per_node_of(n, s.max_nodes, s.cost_unit))

    def network_cost_units(self, n: NetworkConfig) -> np.ndarray:
        """``physics.network_cost_units`` of network n at every node count 0..n.n_max (index = node count), in
        the space's integer cost units (``Space.cost_unit``).  Read-only."""
        return self._once(("net_cost", n.index), lambda: network_cost_units_of(n, self.space.cost_unit))


# -- what does not change from one point of a sweep to the next: remembered by exactly what it reads ------------
@exact_cache(4096)
def pp_range_of(n: NetworkConfig, t: int, max_nodes: int, span: bool) -> Optional[np.ndarray]:
    """``PhysicsCache.pp_range`` of network n at TP degree t in a space of at most ``max_nodes`` nodes, where a TP
    group may cover whole domains (``span``, ``physics.spans_domains``) or not (read-only)."""
    if (n.tier is None and t > 1) or not physics.tp_fits(n, t, span):
        return None  # no TP without links; a two-level network keeps TP inside one domain (or whole domains)
    lo = max(1, -(-n.n_min // t))
    hi = min(n.n_max, max_nodes) // t
    return _frozen(np.arange(lo, hi + 1, dtype=np.int64)) if hi >= lo else None


@exact_cache(1024)
def machine_classes_of(n: NetworkConfig, max_nodes: int) -> tuple[np.ndarray, np.ndarray, tuple]:
    """``PhysicsCache.machine_classes`` of network n in a space of at most ``max_nodes`` nodes (read-only)."""
    top = min(n.n_max, max_nodes)
    if n.tier is None:
        return _frozen(np.zeros(top + 1, dtype=np.int64)), _frozen(np.zeros(top + 1, dtype=np.int64)), (n.arch(1),)
    if not n.domain_nodes:   # one level: the machine depends on the topology and node count only
        t = n.topology
        comm, arch, names = _machine_labels(t.kind, t.dimensions if t.kind in ("torus", "mesh") else 0,
                                            n.tier.switch is not None, n.level, top)
        return comm, arch, tuple((n.tier_key, name) for name in names)
    comm, arch, names = _labels(n.fabric.topology.kind, n.fabric.wiring, n.arch, top)
    return _frozen(comm), _frozen(arch), tuple(names)


@exact_cache(4096)
def machine_groups_of(n: NetworkConfig, t: int, max_nodes: int, span: bool) -> tuple[tuple[int, np.ndarray], ...]:
    """``PhysicsCache.machine_groups`` of network n at TP degree t (``pp_range_of``'s arguments)."""
    pp = pp_range_of(n, t, max_nodes, span)
    labels = machine_classes_of(n, max_nodes)[0][t * pp]
    first = {}
    for i, lab in enumerate(labels.tolist()):
        first.setdefault(lab, i)
    return tuple((int(t * pp[i]), _frozen(labels == lab)) for lab, i in first.items())


@exact_cache(1024)
def network_cost_units_of(n: NetworkConfig, cost_unit: Fraction) -> np.ndarray:
    """``PhysicsCache.network_cost_units`` of network n in units of ``cost_unit`` dollars (read-only)."""
    return _frozen(np.array(physics.network_cost_units(n, np.arange(n.n_max + 1, dtype=np.int64), cost_unit),
                            dtype=np.int64))


@exact_cache(1024)
def least_network_cost_per_node_of(n: NetworkConfig, max_nodes: int, cost_unit: Fraction) -> np.ndarray:
    """``PhysicsCache.least_network_cost_per_node`` of network n in a space of at most ``max_nodes`` nodes whose
    cost unit is ``cost_unit`` dollars (read-only)."""
    top = min(n.n_max, max_nodes)
    per = np.full(top + 1, np.inf)
    first = max(1, n.n_min)
    if top >= first:
        counts = np.arange(first, top + 1)
        per[first:] = network_cost_units_of(n, cost_unit)[first:top + 1] / counts
    return _frozen(np.minimum.accumulate(per[::-1])[::-1].copy())


def _frozen(a: np.ndarray) -> np.ndarray:
    """The array made read-only: it is shared by every space that asks for it."""
    a.setflags(write=False)
    return a


def _at_most(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a <= b elementwise, exact: int64 arrays compared as they are, Python integers (dtype object) where either
    side holds them."""
    if a.dtype == object or b.dtype == object:
        a, b = a.astype(object), b.astype(object)
    return np.asarray(a <= b, dtype=bool)


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
