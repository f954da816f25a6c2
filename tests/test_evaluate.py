"""Evaluating fixed designs: the search's own equations, every constraint, and the rank against the optimum."""

import json

import pytest

from archsearch import load_problem, solve
from archsearch.cli import main
from archsearch.errors import UsageError
from archsearch.evaluate import evaluate_design, parse_design

DGX_LIKE = "memory=hbm3,units=5,nodes=8,tp=8,interconnect=nvlink4,topology=single-switch"


@pytest.fixture(scope="module")
def default():
    return load_problem()


def test_the_optimum_evaluates_to_itself(default):
    best = solve(default, top_k=1).designs[0]
    d = best.design
    spec = parse_design(f"memory={d.mem.memory.name},units={d.mem.units},node={d.mem.node.name},nodes={d.nodes},"
                        f"tp={d.tensor_parallel},interconnect={d.net.tier.name},topology={d.net.topology.name}")
    ev = evaluate_design(default, spec)
    assert ev.versus_best == 1
    assert ev.design.metrics == best.metrics
    assert all(c.ok for c in ev.design.checks) and all(c.ok for c in ev.structure)


def test_a_design_breaking_a_rule_is_still_evaluated(default):
    ev = evaluate_design(default, parse_design(DGX_LIKE))
    broken = {c.name: c for c in ev.design.checks if not c.ok}
    assert set(broken) == {"balance (tensor parallel)"}
    # 18 NVLink4 links x 25 GB/s = 450 GB/s against 5 x 819 GB/s of HBM3: 0.11x, rule 1.0x
    assert broken["balance (tensor parallel)"].slack == pytest.approx(450 / (5 * 819) - 1)
    assert 0 < ev.versus_best < 1
    assert ev.design.metrics.capacity_bytes == 8 * 5 * 17_179_869_184


def test_a_design_outside_max_nodes_says_by_how_much(default):
    ev = evaluate_design(default, parse_design("memory=gddr6,units=12,nodes=2000,tp=1,interconnect=ethernet-800g,"
                                               "topology=ring"))
    over = next(c for c in ev.design.checks if c.name == "max_nodes")
    assert not over.ok and over.detail == "2000 of 1024 nodes"


@pytest.mark.parametrize("text, message", [
    ("memory=hbm4", "--design: missing 'units'"),
    ("memory=hbm4,units=6,nodes=2,colour=red", "--design: unknown key 'colour' (keys: memory, units, node, nodes, "
                                              "tp, interconnect, topology, backing, domain, fabric, fabric_topology)"),
    ("memory=hbm4,units=6,nodes=16,tp=8,interconnect=nvlink4,topology=single-switch,domain=8",
     "--design: a two-level design gives domain, fabric, fabric_topology; missing fabric, fabric_topology"),
    ("memory=hbm4,units=6,nodes=8,tp=8,interconnect=nvlink4,topology=single-switch,domain=8,fabric=infiniband-ndr,"
     "fabric_topology=fat-tree", "--design: nodes 8 fit in one domain of 8; a two-level design has more nodes than "
                                 "its domain"),
    ("memory=hbm4,units=6,nodes=24,tp=3,interconnect=nvlink4,topology=single-switch,domain=8,fabric=infiniband-ndr,"
     "fabric_topology=fat-tree", "--design: tp 3 neither divides domain 8 nor covers whole domains (tensor parallel stays inside a domain, or spans whole ones)"),
    ("memory=hbm4,units=six,nodes=1", "--design: units: expected an integer in [1, 10,000], found 'six'"),
    ("memory=hbm4,units=6,nodes=3,tp=2", "--design: tp 2 does not divide nodes 3 (PP = nodes / tp)"),
    ("memory=hbm4,units=6,nodes=2", "--design: more than one node needs an interconnect and a topology"),
    ("memory=hbm4 units=6", "--design: expected key=value pairs separated by commas, found 'memory=hbm4 units=6'"),
])
def test_bad_design_specs(text, message):
    with pytest.raises(UsageError) as exc:
        parse_design(text)
    assert str(exc.value) == message


@pytest.mark.parametrize("text, message", [
    ("memory=hbm9,units=1,nodes=1", "--design: unknown memory 'hbm9'"),
    ("memory=hbm4,units=12,nodes=1", "--design: units: 12 units of hbm4 on gpu-hbm are not offered (offered: 1..8)"),
    ("memory=hbm4,units=6,nodes=2,interconnect=nvlink4,topology=ring",
     "--design: nvlink4 cannot be wired as 'ring' (it can: single-switch, fat-tree, all-to-all)"),
    ("memory=hbm4,units=6,nodes=300,interconnect=nvlink4,topology=single-switch",
     "--design: nvlink4 single-switch spans 2..64 nodes, not 300"),
])
def test_designs_the_catalog_cannot_build(default, text, message):
    with pytest.raises(UsageError) as exc:
        evaluate_design(default, parse_design(text))
    assert str(exc.value).startswith(message)


def test_cli_evaluate(capsys):
    assert main(["evaluate", "--design", DGX_LIKE]) == 0
    out = capsys.readouterr().out
    assert "one design, evaluated" in out and "balance (tensor parallel)" in out and "best bandwidth per dollar" in out
    assert main(["evaluate", "--design", DGX_LIKE, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["design"]["nodes"] == 8 and 0 < doc["versus_best"] < 1
    assert doc["verdict"].startswith("breaks: balance (tensor parallel). ")
    assert main(["evaluate", "--design", "memory=hbm9,units=1,nodes=1"]) == 2


@pytest.mark.parametrize("text, message", [
    ("memory=hbm3-h100,units=5,nodes=256,tp=8,interconnect=nvlink4,topology=single-switch,domain=16,"
     "fabric=infiniband-ndr,fabric_topology=fat-tree", "--design: domain: nvlink4 is built in domains of 8, 256, not 16"),
    ("memory=hbm3-h100,units=5,nodes=256,tp=8,interconnect=nvlink4,topology=single-switch,domain=8,"
     "fabric=nvlink5,fabric_topology=fat-tree", "--design: fabric: nvlink5 has no fabric role"),
    ("memory=hbm3-h100,units=5,nodes=256,tp=8,interconnect=nvlink4,topology=single-switch,domain=8,"
     "fabric=infiniband-ndr,fabric_topology=dragonfly",
     "--design: nvlink4 single-switch x8 + infiniband-ndr dragonfly spans no node counts, not 256 nodes"),
])
def test_bad_two_level_designs(default, text, message):
    with pytest.raises(UsageError) as exc:
        evaluate_design(default, parse_design(text))
    assert str(exc.value) == message


def test_two_level_design_evaluates_each_level(default):
    ev = evaluate_design(default, parse_design(
        "memory=hbm3-h100,units=5,node=h100-sxm,nodes=24,tp=8,interconnect=nvlink4,topology=single-switch,domain=8,"
        "fabric=infiniband-ndr,fabric_topology=fat-tree"))
    d = ev.design.design
    assert d.net.domain_nodes == 8 and d.net.fabric.tier.name == "infiniband-ndr" and d.pipeline_parallel == 3
    # TP 8 fills a domain, so both pipeline hops cross the fabric
    assert ev.design.metrics.level_comm["fabric_hops"] == 2 and ev.design.metrics.level_comm["domain_hops"] == 0
