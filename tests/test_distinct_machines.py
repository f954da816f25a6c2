"""Distinct means physically distinct: coinciding topologies are one machine with one communication time."""

from __future__ import annotations

import itertools

import pytest

from archsearch import load_problem, physics, solve
from archsearch.catalog import load_catalog
from archsearch.space import build_space
from archsearch.problem import bundled_problems
from archsearch import topology as topo


@pytest.fixture(scope="module")
def cat():
    return load_catalog()


@pytest.mark.parametrize("n, kind, name", [
    (2, "ring", "pair"), (2, "all_to_all", "pair"), (2, "mesh", "pair"), (2, "torus", "pair"),
    (3, "ring", "all-to-all"), (3, "torus", "all-to-all"), (3, "mesh", "line"),
    (4, "torus", "ring"), (4, "mesh", "ring"), (5, "torus", "ring"), (7, "mesh", "line"),
    (6, "torus", "torus-2d"), (6, "mesh", "mesh-2d"), (16, "torus", "torus-2d"),
])
def test_coinciding_topologies_have_one_name(cat, n, kind, name):
    tier = cat.interconnects["tpu-ici"]
    t = next(t for t in cat.topologies.values() if t.kind == kind and t.dimensions in (0, 1, 2))
    assert topo.canonical(t, tier, n).name == name


def test_a_one_level_fat_tree_is_a_single_switch(cat):
    nv = cat.interconnects["nvlink4"]
    assert topo.canonical(cat.topologies["fat-tree"], nv, 8, 1) == topo.canonical(cat.topologies["single-switch"], nv, 8)


def test_torus_sides_of_one_node_vanish(cat):
    ici = cat.interconnects["tpu-ici"]
    t2, t3 = cat.topologies["torus-2d"], cat.topologies["torus-3d"]
    assert topo.canonical(t3, ici, 9) == topo.canonical(t2, ici, 9)       # 3 x 3 x 1 is 3 x 3
    assert topo.canonical(t3, ici, 4) == topo.canonical(cat.topologies["ring"], ici, 4)   # 2 x 2 x 1 is a ring


def _machines(space):
    """(tier, machine, N) -> {network configuration index} for every node count each configuration spans
    (a two-level network: both tiers, both machines and D)."""
    out: dict = {}
    for n in space.nets:
        if n.tier is None:
            continue
        for k in range(n.n_min, min(n.n_max, 24) + 1):
            # a two-level network is one machine per level: the domain's at D, the fabric's at k
            key = ((n.tier_key, n.domain_nodes, n.fabric.wiring(k) if n.domain_nodes else None), n.wiring(k), k)
            out.setdefault(key, []).append(n)
    return out


def test_identical_wiring_gets_identical_cost_and_communication():
    p = load_problem("llama-2-70b-chat")
    space = build_space(p)
    seen = 0
    for (tier, w, k), nets in _machines(space).items():
        for a, b in itertools.combinations(nets, 2):
            assert physics.network_cost_usd(a, k) == physics.network_cost_usd(b, k), (tier, w, k)
            assert physics.network_counts(a, k) == physics.network_counts(b, k), (tier, w, k)
            for t in space.tps:
                if k % t:
                    continue
                ca = physics.decode_comm(a, t, space.req, p, nodes=k)
                cb = physics.decode_comm(b, t, space.req, p, nodes=k)
                assert ca == cb, (tier, a.label, b.label, k, t)
                seen += 1
    assert seen > 50   # the comparison ran on many coinciding pairs


def test_issue_example_one_wiring_one_time(cat):
    # 4 tpu-ici nodes wired as ring, torus-2d, torus-3d or mesh-2d: the same 24 ports and 12 links, a ring of 4
    p = load_problem("llama-2-70b-chat")
    space = build_space(p)
    nets = [n for n in space.nets if n.tier and n.tier.name == "tpu-ici" and n.n_min <= 4 <= n.n_max
            and n.topology.name in ("ring", "torus-2d", "torus-3d", "mesh-2d")]
    assert len(nets) == 4
    assert {n.wiring(4).name for n in nets} == {"ring"}
    assert len({physics.decode_comm(n, 4, space.req, p, nodes=4) for n in nets}) == 1


def test_all_to_all_spreads_every_port_over_its_peers(cat):
    ici = cat.interconnects["tpu-ici"]            # 6 ports
    a2a = topo.canonical(cat.topologies["all-to-all"], ici, 4)
    link = 100
    # 3 peers, 6 ports: two links per peer, and the all-reduce of 4 nodes moves 2/4 S per step... over 2 links
    c = topo.allreduce(a2a, ici, 4, link)
    assert (c.steps, c.volume, c.bandwidth_bytes_per_s) == (2, topo.Fraction(2, 4), 2 * link)
    # at 2 nodes all 6 links join the pair, exactly as a 2-node ring's
    pair = topo.canonical(cat.topologies["all-to-all"], ici, 2)
    ring2 = topo.canonical(cat.topologies["ring"], ici, 2)
    assert pair == ring2 and topo.point_to_point(pair, ici, link) == (1, 6 * link)


@pytest.mark.parametrize("name", [p.stem for p in bundled_problems()])
def test_top_ten_are_ten_different_machines(name):
    r = solve(load_problem(name), top_k=10, workers=2)
    # a machine: its parts, node count, and the wiring of its ports and links (tier, graph)
    machines = {(d.design.mem.node.name, d.design.mem.memory.name, d.design.mem.units, d.design.nodes,
                 d.design.net.arch(d.design.nodes), d.design.net.domain_nodes, d.design.wiring,
                 d.design.backing.label if d.design.backing else "-") for d in r.designs}
    assert len(r.designs) == FEWER.get(name, 10)
    assert len(machines) == len(r.designs)


#: bundled problems with fewer than 10 feasible architectures, and how many they have
FEWER = {"llama-2-70b-sram-only": 5}
