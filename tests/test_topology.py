"""Topology functions of node count: ranges, grid shapes, collectives, and the mesh's edge/centre imbalance."""

from __future__ import annotations

from fractions import Fraction

import pytest

from archsearch import load_catalog
from archsearch import topology as topo


@pytest.fixture(scope="module")
def cat():
    return load_catalog()


@pytest.mark.parametrize("n, d, dims", [(12, 2, (4, 3)), (16, 2, (4, 4)), (7, 2, (7, 1)), (64, 3, (4, 4, 4)),
                                        (24, 3, (4, 3, 2))])
def test_grid_dims_are_the_most_balanced_exact_grid(n, d, dims):
    assert topo.grid_dims(n, d) == dims


def test_fat_tree_levels_cover_disjoint_node_ranges(cat):
    ib = cat.interconnects["infiniband-ndr"]  # 8 ports per node, 64-port switches
    ranges = topo.node_ranges(cat.topologies["fat-tree"], ib)
    # L levels reach r * (r/2)^(L-1) ports: 64, 2048, 65536 ports -> 8, 256, 8192 nodes
    assert ranges == [(1, 2, 8), (2, 9, 256), (3, 257, 8192)]


def test_direct_all_to_all_needs_a_port_per_peer(cat):
    nv = cat.interconnects["nvlink4"]  # 18 ports
    assert topo.node_ranges(cat.topologies["all-to-all"], nv) == [(0, 2, 19)]


def test_a_switched_topology_needs_a_switch(cat):
    groq = cat.interconnects["groq-c2c"]  # no switch block
    assert groq.switch is None
    assert topo.node_ranges(cat.topologies["single-switch"], groq) == []
    # a dragonfly without switches is node-routed
    assert not topo.switched(cat.topologies["dragonfly"], groq)


def test_mesh_is_not_a_torus_by_another_name(cat):
    ici = cat.interconnects["tpu-ici"]
    link = Fraction(ici.link_bandwidth_gb_per_s) * 10**9
    mesh_w = topo.canonical(cat.topologies["mesh-2d"], ici, 16)
    torus_w = topo.canonical(cat.topologies["torus-2d"], ici, 16)
    mesh = topo.shape(mesh_w, ici, link)
    torus = topo.shape(torus_w, ici, link)
    # corners use half their ports, centre nodes all of them: edge/centre imbalance
    assert mesh.links_per_node_min == ici.links_per_node // 2 and mesh.links_per_node_max == ici.links_per_node
    assert torus.links_per_node_min == torus.links_per_node_max == ici.links_per_node
    # no wrap-around: half the bisection, a longer diameter
    assert mesh.bisection_bytes_per_s * 2 == torus.bisection_bytes_per_s
    assert mesh.diameter_hops == 6 and torus.diameter_hops == 4
    # collectives: same steps, but lines move the data over half the port bandwidth
    am = topo.allreduce(mesh_w, ici, 16, link)
    at = topo.allreduce(torus_w, ici, 16, link)
    assert am.steps == at.steps == 2 * (4 - 1) * 2
    assert am.bandwidth_bytes_per_s * 2 == at.bandwidth_bytes_per_s


def test_ring_allreduce_is_bandwidth_optimal(cat):
    eth = cat.interconnects["ethernet-800g"]
    link = Fraction(100 * 10**9)
    ring8 = topo.canonical(cat.topologies["ring"], eth, 8)
    c = topo.allreduce(ring8, eth, 8, link)
    assert (c.steps, c.volume, c.bandwidth_bytes_per_s) == (14, Fraction(14, 8), 8 * link)
    assert topo.allreduce(ring8, eth, 1, link).steps == 0


def test_term_counts_round_up_and_start_beyond_the_rack():
    t = topo.Term("optical links", 8, 2, topo.BEYOND_RACK, 1, Fraction(1000), Fraction(0))
    assert [t.count(n, 16) for n in (8, 16, 17, 20)] == [0, 0, 4, 16]
    s = topo.Term("switches", 18, 64, topo.NODES, 2, Fraction(1), Fraction(0))
    assert [s.count(n, 1) for n in (1, 3, 4, 8)] == [2, 2, 4, 6]
