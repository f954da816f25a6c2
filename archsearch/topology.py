"""Topologies as functions of node count: links, switches, bisection, diameter, collectives.

Notation: N nodes, p = links (ports) per node of the interconnect tier, b = one
link's bandwidth per direction, r = switch ports, R = nodes in one copper
domain (rack).  Formulas are the standard ones (Dally & Towles, *Principles and
Practices of Interconnection Networks*; Kim et al., ISCA 2008 for dragonfly;
nccl-tests PERFORMANCE.md for ring all-reduce).  Where a choice is ours it is
said in the docstring.

Counts are given as ``Term``s, ``count = mult * ceil(num * base / den)`` with
``base`` either the node count N or the nodes beyond one rack ``max(0, N - R)``.
The CP-SAT model turns each term into one integer variable with two linear
constraints, and the oracle and the reports evaluate the very same terms, so
the three cannot disagree on what a network costs.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

from .catalog import Interconnect, Topology

NODES = "nodes"
BEYOND_RACK = "beyond_rack"
DIRECT_KINDS = ("ring", "torus", "mesh", "all_to_all")


@dataclass(frozen=True)
class Term:
    """``mult * ceil(num * base / den)`` items, each costing ``usd`` and drawing ``w`` watts."""

    label: str
    num: int
    den: int
    base: str
    mult: int
    usd: Fraction
    w: Fraction

    def count(self, n, rack: int):
        """The item count at node count ``n`` (an int or a numpy integer array)."""
        base = n if self.base == NODES else _pos(n - rack)
        return self.mult * (-((-self.num * base) // self.den))


def _pos(x):
    try:
        return x.clip(min=0)  # numpy array
    except AttributeError:
        return max(0, x)


def switched(topology: Topology, tier: Interconnect) -> bool:
    """Whether the topology needs switches of the tier (a dragonfly without a switch is node-routed)."""
    return topology.kind in ("switch", "fat_tree") or (topology.kind == "dragonfly" and tier.switch is not None)


def min_ports(topology: Topology, tier: Interconnect) -> int:
    """Ports a node needs for the topology to be wired at all."""
    if topology.kind in ("torus", "mesh"):
        return 2 * topology.dimensions
    if topology.kind == "ring":
        return 2
    if topology.kind == "dragonfly" and tier.switch is None:
        return 2  # at least one local and one global port
    return 1


def node_ranges(topology: Topology, tier: Interconnect) -> list[tuple[int, int, int]]:
    """``(level, n_min, n_max)`` variants before reach and max_nodes; level is the fat-tree depth (else 0).

    A fat-tree with L levels of r-port switches connects up to r * (r/2)**(L-1)
    ports; we offer L = 1..3.  A single switch spans at most r nodes; a direct
    all-to-all needs one port per peer, so N - 1 <= p.
    """
    p = tier.links_per_node
    if topology.kind in ("switch", "fat_tree") and tier.switch is None:
        return []
    if p < min_ports(topology, tier):
        return []
    big = 10**9
    if topology.kind == "switch":
        return [(0, 2, tier.switch.ports)]
    if topology.kind == "all_to_all":
        return [(0, 2, p + 1)]
    if topology.kind == "fat_tree":
        r = tier.switch.ports
        out, lo = [], 2
        for level in (1, 2, 3):
            hi = (r * (r // 2) ** (level - 1)) // p
            if hi >= lo:
                out.append((level, lo, hi))
                lo = hi + 1
        return out
    return [(0, 2, big)]


def dragonfly_terminals(tier: Interconnect) -> int:
    """Terminals per router of a balanced dragonfly (a = 2p = 2h, router radix 4p - 1)."""
    return max(1, (tier.switch.ports + 1) // 4)


def terms(topology: Topology, tier: Interconnect, level: int, port_usd: Fraction, cable_usd: Fraction,
          optics_usd: Fraction, switch_usd: Fraction, port_w: Fraction) -> list[Term]:
    """Everything a network of this topology and tier is made of, as counts over N.

    Every node pays its p ports.  Direct topologies (ring, torus, mesh,
    all-to-all, node-routed dragonfly) have p*N/2 links.  Links cost a cable
    each; the share of links leaving the first rack, (N - R)/N, also needs
    optics (our estimate of how many links cross racks: links spread evenly).
    Switched: every port goes to a switch; a fat-tree of L levels adds L - 1
    layers of uplinks (optical beyond a rack) and (L-1)*ceil(2pN/r) + ceil(pN/r)
    switches; a dragonfly adds local (2t-1)/(2t) and global 1/2 links per port
    (t terminals per router) and ceil(pN/t) routers.
    """
    p = tier.links_per_node
    zero = Fraction(0)
    out = [Term("ports", p, 1, NODES, 1, port_usd, port_w)]
    sw_w = Fraction(tier.switch.power_w) if tier.switch else zero
    if not switched(topology, tier):
        out += [Term("links", p, 2, NODES, 1, cable_usd, zero),
                Term("optical links", p, 2, BEYOND_RACK, 1, optics_usd, zero)]
        return out
    r = tier.switch.ports
    if topology.kind == "switch" or (topology.kind == "fat_tree" and level == 1):
        out += [Term("links", p, 1, NODES, 1, cable_usd, zero),
                Term("optical links", p, 1, BEYOND_RACK, 1, optics_usd, zero),
                Term("switches", p, r, NODES, 1, switch_usd, sw_w)]
        return out
    if topology.kind == "fat_tree":
        out += [Term("links", p * level, 1, NODES, 1, cable_usd, zero),
                Term("optical links", p * (level - 1), 1, BEYOND_RACK, 1, optics_usd, zero),
                Term("switches", 2 * p, r, NODES, level - 1, switch_usd, sw_w),
                Term("top switches", p, r, NODES, 1, switch_usd, sw_w)]
        return out
    t = dragonfly_terminals(tier)
    out += [Term("links", p, 1, NODES, 1, cable_usd, zero),
            Term("local links", p * (2 * t - 1), 2 * t, NODES, 1, cable_usd, zero),
            Term("global links", p, 2, NODES, 1, cable_usd, zero),
            Term("optical links", p, 2, BEYOND_RACK, 1, optics_usd, zero),
            Term("switches", p, t, NODES, 1, switch_usd, sw_w)]
    return out


@dataclass(frozen=True)
class Wiring:
    """The physical network of n nodes of one tier, after topologies that coincide are identified.

    Two designs with the same tier, node count and ``Wiring`` have the same ports, links and
    switches and the same graph, so they are one machine and get one communication time.
    ``kind`` is one of: single, pair, all_to_all, ring, line, torus, mesh, switch, fat_tree,
    dragonfly; ``dims`` are the grid dimensions longer than one node (largest first).
    """

    kind: str
    dims: tuple[int, ...]
    level: int
    n: int

    @property
    def name(self) -> str:
        """The machine's topology in words: pair, all-to-all, ring, line, torus-2d, mesh-2d, single-switch, ..."""
        if self.kind in ("torus", "mesh"):
            return f"{self.kind}-{len(self.dims)}d"
        return {"single": "-", "all_to_all": "all-to-all", "switch": "single-switch", "fat_tree": "fat-tree"}.get(
            self.kind, self.kind)

    @property
    def comm_key(self) -> tuple:
        """What the collectives, hops and link shares depend on (not the grid's exact sides)."""
        return (self.kind, len(self.dims), self.level, self.n if self.kind in ("all_to_all", "pair") else 0)


def _complete(n: int) -> Wiring:
    return Wiring("pair", (2,), 0, 2) if n == 2 else Wiring("all_to_all", (n,), 0, n)


def _grid(dims: tuple[int, ...], wrap: bool, n: int) -> Wiring:
    """A grid with the given sides: sides of one node vanish; a side of two is a pair whether wrapped or not."""
    dims = tuple(sorted((a for a in dims if a > 1), reverse=True))
    if all(a <= 2 for a in dims):
        wrap = True   # a line of two nodes is a ring of two: the two port groups reach the same neighbour
    if len(dims) == 1:
        a = dims[0]
        if a == 2 or (a == 3 and wrap):   # one pair; a ring of three is all-to-all
            return _complete(a)
        return Wiring("ring" if wrap else "line", dims, 0, n)
    if dims == (2, 2):                    # a 2 x 2 grid is a ring of four
        return Wiring("ring", (4,), 0, n)
    return Wiring("torus" if wrap else "mesh", dims, 0, n)


def canonical(topology: Topology, tier: Interconnect, n: int, level: int = 0) -> Wiring:
    """The machine that ``n`` nodes of ``tier`` wired as ``topology`` (fat-tree depth ``level``) really are.

    Every direct topology gives each node the tier's p ports and p N / 2 links; what differs is
    which neighbours the links reach.  At 2 nodes every direct topology is one point-to-point pair
    (all p links between the two); a ring of 3 is all-to-all; grid sides of 1 node vanish and
    their ports go to the remaining sides, sides of 2 nodes are pairs (a wrap adds nothing), and a
    2 x 2 grid is a ring of 4.  A one-level fat-tree is a single switch.
    """
    dims = topology.dimensions if topology.kind in ("torus", "mesh") else 0
    return _canonical(topology.kind, dims, tier.switch is not None, n, level)


@functools.lru_cache(maxsize=65536)
def _canonical(kind: str, dimensions: int, has_switch: bool, n: int, level: int) -> Wiring:
    if n == 1:
        return Wiring("single", (1,), 0, 1)
    if kind == "switch" or (kind == "fat_tree" and level <= 1):
        return Wiring("switch", (n,), 1, n)
    if kind == "fat_tree":
        return Wiring("fat_tree", (n,), level, n)
    if kind == "dragonfly":
        return Wiring("dragonfly", (n,), 1 if has_switch else 0, n)
    if kind == "all_to_all":
        return _complete(n)
    if kind == "ring":
        return _grid((n,), True, n)
    return _grid(grid_dims(n, dimensions), kind == "torus", n)


@functools.lru_cache(maxsize=None)
def grid_dims(n: int, d: int) -> tuple[int, ...]:
    """The most balanced d-dimensional grid of exactly n nodes (largest side first)."""
    if d == 1:
        return (n,)
    best: tuple[int, ...] | None = None
    small = [a for a in range(1, math.isqrt(n) + 1) if n % a == 0]
    for a in sorted(set(small + [n // a for a in small])):   # the divisors of n
        rest = grid_dims(n // a, d - 1)
        cand = tuple(sorted((a,) + rest, reverse=True))
        if best is None or cand[0] < best[0] or (cand[0] == best[0] and cand < best):
            best = cand
    return best  # type: ignore[return-value]


@dataclass(frozen=True)
class Collective:
    """An all-reduce of S bytes over tau nodes: ``steps * hops * latency + volume * S / bandwidth``."""

    steps: int
    hops: int
    volume: Fraction
    bandwidth_bytes_per_s: Fraction


def peer_bytes_per_s(w: Wiring, tier: Interconnect, link_bps: Fraction) -> Fraction:
    """Bandwidth from one node to one neighbour: all-to-all spreads its p ports evenly over its n - 1 peers."""
    p = tier.links_per_node
    if w.kind in ("pair", "all_to_all"):
        return Fraction(p, w.n - 1) * link_bps
    if w.kind in ("ring", "line"):
        return p * link_bps / 2
    if w.kind in ("torus", "mesh"):
        return p * link_bps / (2 * len(w.dims))
    return p * link_bps   # through a switch: all ports


def allreduce(w: Wiring, tier: Interconnect, tau: int, link_bps: Fraction) -> Collective:
    """All-reduce over a tensor-parallel group of tau nodes of the machine ``w``, wired as its kind.

    ring: bidirectional ring, 2(tau-1) steps, 2(tau-1)/tau * S over all p ports.  line: the same
    steps over half the port bandwidth (the end links carry what a ring would share).  torus: one
    ring per dimension (reduce-scatter then all-gather), sum of 2(a_i - 1) steps, the same volume
    over all ports.  mesh: lines instead of rings, the same steps over half the port bandwidth
    (about 2x a torus).  switch and fat-tree (non-blocking): two steps (reduce-scatter, all-gather
    through the fabric), latency of L switch levels.  dragonfly: two steps over 3 hops (local,
    global, local), global links taper to half the port bandwidth.  pair and all-to-all: two steps,
    each peer reached over its own share of the ports, p / (n - 1) links (n: the machine's nodes).
    """
    if tau == 1:
        return Collective(0, 0, Fraction(0), Fraction(1))
    p = tier.links_per_node
    vol = Fraction(2 * (tau - 1), tau)
    k = w.kind
    if k in ("ring", "line"):
        return Collective(2 * (tau - 1), 1, vol, p * link_bps if k == "ring" else p * link_bps / 2)
    if k in ("torus", "mesh"):
        steps = sum(2 * (a - 1) for a in grid_dims(tau, len(w.dims)))
        return Collective(steps, 1, vol, p * link_bps if k == "torus" else p * link_bps / 2)
    if k == "switch":
        return Collective(2, 1, vol, p * link_bps)
    if k == "fat_tree":
        return Collective(2, w.level, vol, p * link_bps)
    if k == "dragonfly":
        return Collective(2, 3, vol, p * link_bps / 2)
    if k in ("pair", "all_to_all"):
        return Collective(2, 1, Fraction(2, tau), peer_bytes_per_s(w, tier, link_bps))
    raise ValueError(k)


def alltoall(w: Wiring, tier: Interconnect, tau: int, link_bps: Fraction,
             leaving: Optional[Fraction] = None) -> Collective:
    """All-to-all of S bytes per node over tau nodes (expert-parallel dispatch or combine).

    Each node sends (tau-1)/tau of S away (``leaving``: another share of S over these links, e.g. the
    part of a two-level group's all-to-all that leaves the domain; the bisection bound is unchanged).  Time: the latency of one pass over the diameter,
    plus S times the larger of the injection bound (tau-1)/tau / (p b) and the bisection bound
    (tau S / 4 crosses the cut each way: tau / (4 x bisection)).  Pair and all-to-all: each peer
    over its own share of the ports, S/tau per peer.  Returned as volume = seconds per byte,
    bandwidth = 1.
    """
    if tau == 1:
        return Collective(0, 0, Fraction(0), Fraction(1))
    if w.kind in ("pair", "all_to_all"):
        return Collective(1, 1, Fraction(1, tau) / peer_bytes_per_s(w, tier, link_bps), Fraction(1))
    sh = _shape_of(w.kind, _group_dims(w, tau), w.level, tau, tier, link_bps)
    inject = (Fraction(tau - 1, tau) if leaving is None else leaving) / (tier.links_per_node * link_bps)
    cut = Fraction(tau, 4) / sh.bisection_bytes_per_s
    return Collective(1, max(1, sh.diameter_hops), max(inject, cut), Fraction(1))


def _group_dims(w: Wiring, tau: int) -> tuple[int, ...]:
    """The sides of a tau-node group wired as the machine's kind."""
    return grid_dims(tau, len(w.dims)) if w.kind in ("torus", "mesh") else (tau,)


def point_to_point(w: Wiring, tier: Interconnect, link_bps: Fraction) -> tuple[int, Fraction]:
    """(hops, bandwidth) from one pipeline stage's node to the next stage's (placed as neighbours)."""
    p = tier.links_per_node
    if w.kind == "fat_tree":
        return w.level, p * link_bps
    if w.kind == "dragonfly":
        return (3, p * link_bps) if tier.switch is not None else (1, p * link_bps / 2)
    return 1, peer_bytes_per_s(w, tier, link_bps)


@dataclass(frozen=True)
class Shape:
    """Reported shape of an N-node network."""

    links_per_node_min: int
    links_per_node_max: int
    bisection_bytes_per_s: Fraction
    diameter_hops: int
    dims: tuple[int, ...]


def shape(w: Wiring, tier: Interconnect, link_bps: Fraction) -> Shape:
    """Ports in use per node (mesh and line: corner vs centre), bisection bandwidth per direction, diameter."""
    return _shape_of(w.kind, w.dims, w.level, w.n, tier, link_bps)


def _shape_of(k: str, dims: tuple[int, ...], level: int, n: int, tier: Interconnect, link_bps: Fraction) -> Shape:
    p = tier.links_per_node
    if n == 1 or k == "single":
        return Shape(0, 0, Fraction(0), 0, (1,))
    if k in ("pair", "all_to_all"):
        return Shape(p, p, Fraction(n * n, 4) * Fraction(p, n - 1) * link_bps, 1, (n,))
    if k in ("ring", "line", "torus", "mesh"):
        wrap = k in ("ring", "torus")
        d = len(dims)
        per_dir = Fraction(p, 2 * d) * link_bps  # one neighbour's share of the ports, one direction
        cut = Fraction(n, dims[0])  # nodes in the cross-section across the longest side
        if wrap or dims[0] == 2:   # a ring side is cut twice; a side of two has both port groups across
            bis = 2 * cut * per_dir
        else:
            bis = cut * per_dir
        diameter = sum(a // 2 if wrap else a - 1 for a in dims)
        corner = p if wrap else int(sum(Fraction(p, 2 * d) * (2 if a == 2 else 1) for a in dims))
        return Shape(corner, p, bis, diameter, dims)
    if k == "switch":
        return Shape(p, p, Fraction(n * p, 2) * link_bps, 2, (n,))
    if k == "fat_tree":
        return Shape(p, p, Fraction(n * p, 2) * link_bps, 2 * max(level, 1), (n,))
    if k == "dragonfly":
        return Shape(p, p, Fraction(n * p, 4) * link_bps, 3, (n,))
    raise ValueError(k)
