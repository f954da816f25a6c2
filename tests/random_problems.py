"""Random small catalogs and problems for checking CP-SAT against the exhaustive oracle."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import yaml

KINDS = [("ring", "ring", None), ("torus-2d", "torus", 2), ("torus-3d", "torus", 3), ("mesh-2d", "mesh", 2),
         ("fat-tree", "fat_tree", None), ("dragonfly", "dragonfly", None), ("single-switch", "switch", None),
         ("all-to-all", "all_to_all", None)]


def _entry(name: str, **fields) -> dict:
    return {"name": name, "description": f"random {name}", "source": "tests/random_problems.py",
            "estimate": True, **fields}


def _two_level(rng: random.Random, memory: list[dict], tiers: list[dict], model: dict, problem: dict) -> None:
    """Make a space where designs span several domains: a larger model, at most 2 units per node, room for
    up to 64 nodes; give every tier roles at random (at least one domain tier, domain sizes below
    max_nodes, and one fabric tier with some ports per node); scale-up tiers often reach no further
    than their largest domain."""
    model["parameters"] = model["active_parameters"] = rng.choice([70e9, 400e9])
    model["layers"] = 80
    if "moe" in model:
        model["moe"].update(expert_parameters=model["parameters"] * 0.8, layers=80)
        model["active_parameters"] = model["parameters"] * 0.3
    for m in memory:
        m["max_units_per_node"] = min(m["max_units_per_node"], 2)
    problem["search"]["two_level"] = True   # opt-in (search.two_level defaults to false)
    cons = problem["constraints"]
    cons["max_nodes"] = rng.randint(16, 64)
    cons.pop("budget_usd", None)
    cons["balance"]["rule"] = rng.choice(["ratio", "comm_time"])
    cons["balance"]["pipeline_parallel_ratio"] = rng.choice([0, 0.01])
    w = problem["workload"]
    w["min_decode_tokens_per_s_per_user"] = rng.choice([5, 20] if "kv_swap" in w else [0, 5, 20])
    sizes = [2, 3, 4, 6, 8, 12]
    for i, tier in enumerate(tiers):
        roles = [r for r in ("domain", "fabric") if rng.random() < 0.6]
        if i == 0 and "domain" not in roles:
            roles.append("domain")
        if i == len(tiers) - 1 and "fabric" not in roles:
            roles.append("fabric")
        if not roles:
            continue
        tier["roles"] = roles
        if "domain" in roles:
            tier["domain_sizes"] = rng.sample(sizes, rng.randint(1, 2))
            if rng.random() < 0.7:  # a scale-up tier that reaches no further than its largest domain
                tier["reach_nodes"] = max(tier["domain_sizes"])
        if "fabric" in roles:
            tier["reach_nodes"] = 64
            if rng.random() < 0.7:
                tier["fabric_links_per_node"] = rng.choice([1, 2, tier["links_per_node"]])
    if cons.get("expert_parallel") and rng.random() < 0.5:
        # TP (= EP) groups over whole domains (physics.spanning): list every design, so that the mappings of
        # one machine, spanning or not, rank side by side and the tie-break between them is compared too
        problem["search"]["distinct"] = "design"
        problem["search"]["top_k"] = 8


def _cents(rng: random.Random, k: Fraction, usd) -> float:
    """A price scaled by k plus a few random cents, written as the exact decimal it is (YAML reads it back so)."""
    v = Fraction(usd) * k + Fraction(rng.randint(0, 99), 100) if usd else Fraction(0)
    v = Fraction(round(v * 100), 100)
    return float(v)


def _fractional_prices(rng: random.Random, memory: list[dict], nodes: list[dict], tiers: list[dict],
                       problem: dict) -> None:
    """Every price (memory and node cost curves, die-yield wafer and fixed costs, ports, cables, optics,
    switches, the budget) scaled by a factor with cents and given stray cents of its own."""
    k = Fraction(rng.choice(["0.37", "1.01", "0.07", "2.49", "0.99"]))
    for e in memory + nodes:
        curve = e["cost_usd"]
        if "points" in curve:
            curve["points"] = [[q, _cents(rng, k, c)] for q, c in curve["points"]]
        else:
            dy = curve["die_yield"]
            dy["wafer_cost_usd"], dy["fixed_usd"] = _cents(rng, k, dy["wafer_cost_usd"]), _cents(rng, k, dy["fixed_usd"])
    for t in tiers:
        for f in ("port_cost_usd", "cable_cost_usd", "optics_cost_usd"):
            t[f] = _cents(rng, k, t[f])
        if "switch" in t:
            t["switch"]["cost_usd"] = _cents(rng, k, t["switch"]["cost_usd"])
    c = problem["constraints"]
    if "budget_usd" in c:
        c["budget_usd"] = _cents(rng, k, c["budget_usd"])


def write_random(tmp: Path, seed: int, serving: bool = False, two_level: bool = False,
                 fractional: bool = False) -> Path:
    """Write a random catalog directory and problem under tmp; return the problem path.

    ``serving`` adds the options beyond plain decode at random: MoE with or without expert parallel,
    prefill with a TTFT limit, KV read fraction, speculative decoding and KV swapping.  ``two_level``
    gives the tiers domain and fabric roles (from a second random stream, so the other fields of a
    seed are those it has without).  ``fractional`` gives every price cents and scales them all by a factor
    such as 0.37 (a further stream: the space is otherwise the seed's own).
    """
    rng = random.Random(seed)
    cat = tmp / "catalog"
    cat.mkdir()
    memory, nodes = [], []
    for i in range(rng.randint(2, 4)):
        mx = rng.randint(1, 6)
        pts = [[1, rng.randint(50, 800)]]
        if mx > 1:
            pts.append([mx, pts[0][1] * mx + rng.randint(-20, 400)])
        memory.append(_entry(f"mem{i}", attach="package", capacity_gb=rng.choice([0.5, 2, 16, 24, 36, 64, 96]),
                             bandwidth_gb_per_s=rng.choice([38.4, 64, 819.2, 1200, 2000, 11130]),
                             power_w=rng.choice([0, 5, 30]), max_units_per_node=mx, cost_basis="build",
                             cost_usd={"points": pts}))
    names = [m["name"] for m in memory]
    for i in range(rng.randint(1, 3)):
        carry = rng.sample(names, rng.randint(1, len(names)))
        curve = ({"points": [[1, rng.randint(100, 3000)], [8, rng.randint(3000, 9000)]]} if rng.random() < 0.7 else
                 {"die_yield": {"wafer_cost_usd": 16000, "wafer_diameter_mm": 300, "defect_density_per_cm2": 0.1,
                                "logic_area_mm2": 150, "area_per_unit_mm2": 80, "reticle_area_mm2": 830,
                                "fixed_usd": 300}})
        nodes.append(_entry(f"node{i}", memory=carry, min_units=1, max_units=rng.randint(1, 8),
                            compute_tflops=rng.choice([2, 20, 200]),
                            power_w=rng.choice([100, 500]), cost_basis=rng.choice(["build", "market"]),
                            cost_usd=curve))
    topos = rng.sample(KINDS, rng.randint(2, 5))
    topologies = [_entry(n, kind=k, **({"dimensions": d} if d else {})) for n, k, d in topos]
    tnames = [t["name"] for t in topologies]
    tiers = []
    for i in range(rng.randint(1, 3)):
        tier = dict(link_bandwidth_gb_per_s=rng.choice([14, 25, 50, 100, 400]), links_per_node=rng.choice([2, 4, 6, 8, 18]),
                    latency_ns=rng.choice([100, 1000, 2500]), reach_nodes=rng.randint(4, 64),
                    rack_nodes=rng.randint(2, 16), energy_pj_per_bit=rng.choice([0, 5]),
                    port_cost_usd=rng.choice([0, 50, 500]), cable_cost_usd=rng.choice([0, 20, 100]),
                    optics_cost_usd=rng.choice([0, 300, 1500]), topologies=rng.sample(tnames, rng.randint(1, len(tnames))),
                    cost_basis=rng.choice(["build", "market"]))
        if rng.random() < 0.7:
            tier["switch"] = {"ports": rng.choice([8, 16, 64]), "cost_usd": rng.choice([1000, 20000]), "power_w": 100}
        if rng.random() < 0.3:
            tier["node_types"] = [rng.choice(nodes)["name"]]
        tiers.append(_entry(f"tier{i}", **tier))
    model = _entry("m", layers=rng.choice([8, 32, 80]), hidden_size=rng.choice([1024, 4096, 8192]),
                   attention_heads=rng.choice([8, 12, 32]), kv_heads=rng.choice([1, 4, 8]), head_dim=128,
                   parameters=rng.choice([1e9, 8e9, 70e9]), active_parameters=1e9)
    model["active_parameters"] = model["parameters"] * rng.choice([1, 0.5])
    if serving and rng.random() < 0.5:
        experts = rng.choice([8, 64])
        model["moe"] = {"experts": experts, "active_experts": rng.choice([1, 2, 8]),
                        "expert_parameters": model["parameters"] * 0.8, "layers": model["layers"]}
    if serving:
        memory.append(_entry("backing", attach="board", capacity_gb=rng.choice([256, 7680]),
                             bandwidth_gb_per_s=rng.choice([14, 36, 51.2]), power_w=rng.choice([0, 20]),
                             max_units_per_node=rng.choice([1, 4, 16]), cost_basis="market",
                             cost_usd={"points": [[1, rng.choice([160, 900])]]}))
    # calibration terms (docs/calibration.md), drawn from their own generator so the spaces above stay as they were
    cal = random.Random(seed * 7919 + 1)
    for m in memory:
        if cal.random() < 0.8:
            m["bandwidth_efficiency"] = cal.choice([0.55, 0.8, 0.9, 1.0])
    for n in nodes:
        if cal.random() < 0.8:
            n["layer_overhead_ns"] = cal.choice([0, 500, 5000, 40000])
            n["decode_compute_efficiency"] = cal.choice([0.3, 0.6, 1.0])
            n["prefill_compute_efficiency"] = cal.choice([0.4, 0.7])
    extra = random.Random(seed * 7919 + 2)   # batch-aware efficiencies and FP8 layer time (their own stream)
    for n in nodes:
        if extra.random() < 0.6:
            n["fp8_layer_overhead_ns"] = extra.choice([0, 2000, 30000])
            n["decode_efficiency_half_tokens"] = extra.choice([0, 8, 64, 300])
            n["prefill_efficiency_half_tokens"] = extra.choice([0, 100, 2000])
    for t in tiers:
        if cal.random() < 0.8:
            t["collective_latency_ns"] = cal.choice([0, 3000, 20000])
        if cal.random() < 0.3:
            t["collective_latency_ns_by_topology"] = {cal.choice(KINDS)[1]: cal.choice([1000, 50000])}
    for fname, key, items in (("memory", "memory", memory), ("nodes", "nodes", nodes),
                              ("interconnects", "interconnects", tiers), ("topologies", "topologies", topologies),
                              ("models", "models", [model])):
        (cat / f"{fname}.yaml").write_text(yaml.safe_dump({key: items}, sort_keys=False))
    problem = {
        "name": f"random-{seed}",
        "model": "m",
        "workload": {"context_length": rng.choice([512, 4096, 32768]), "concurrency": rng.choice([1, 4, 16, 64]),
                     "min_decode_tokens_per_s_per_user": rng.choice([0, 0, 5, 20, 100]),
                     "weight_dtype": rng.choice(["bf16", "fp8", "fp4"]), "kv_dtype": rng.choice(["bf16", "fp8"])},
        "constraints": {"max_nodes": rng.randint(4, 40), "capacity_overhead_fraction": rng.choice([0, 0.1]),
                        "tensor_parallel": rng.choice(["divides_heads", "any"]),
                        "max_tensor_parallel": rng.choice([4, 8, 64]),
                        "balance": {"rule": rng.choice(["ratio", "ratio", "comm_time"]),
                                    "tensor_parallel_ratio": rng.choice([0, 0.5, 1.0]),
                                    "pipeline_parallel_ratio": rng.choice([0, 0.1]),
                                    "comm_time_ratio": rng.choice([0.25, 1.0])}},
        "cost": {"basis": rng.choice(["build", "market"]), "market_over_build": rng.choice([2, 3.5])},
        "search": {"top_k": rng.choice([1, 3, 5]), "distinct": rng.choice(["architecture", "medium", "design"]),
                   "time_limit_s": 60, "seed": 0},
    }
    if extra.random() < 0.3:
        problem["workload"]["compute_dtype"] = "fp8"
    if rng.random() < 0.5:
        problem["constraints"]["budget_usd"] = rng.choice([20000, 200000, 2000000])
    if rng.random() < 0.3:
        problem["constraints"]["max_power_w"] = rng.choice([2000, 20000])
    if serving:
        w, cons = problem["workload"], problem["constraints"]
        if rng.random() < 0.6:
            w["prompt_tokens"] = min(w["context_length"], rng.choice([128, 2048, 16384]))
            w["prefill_compute_efficiency"] = rng.choice([0.3, 0.5, 1.0])
            if rng.random() < 0.6:
                cons["max_ttft_ms"] = rng.choice([50, 500, 5000])
        if rng.random() < 0.4:
            w["kv_read_fraction"] = rng.choice([0.1, 0.25, 0.5])
        if rng.random() < 0.4:
            g = rng.choice([1, 3, 5])
            w["speculative"] = {"draft_tokens": g, "accepted_tokens_per_step": rng.choice([1, 1.5, g + 1]),
                                "draft_parameters": rng.choice([0, 1e8])}
        if "moe" in model and rng.random() < 0.6:
            cons["expert_parallel"] = True
        if rng.random() < 0.4 and w["min_decode_tokens_per_s_per_user"] > 0:
            w["kv_swap"] = {"idle_requests": rng.choice([4, 64, 1000]),
                            "backing": rng.sample(names + ["backing"], rng.randint(1, 2)),
                            "mode": rng.choice(["swap", "recompute", "best"]),
                            "node_io_gb_per_s": rng.choice([16, 64])}
    if two_level:  # rewrite the catalog for several domains (a second random stream: the rest is unchanged)
        _two_level(random.Random(f"two-level-{seed}"), memory, tiers, model, problem)
        for fname, items in (("memory", memory), ("interconnects", tiers), ("models", [model])):
            (cat / f"{fname}.yaml").write_text(yaml.safe_dump({fname: items}, sort_keys=False))
    if fractional:
        _fractional_prices(random.Random(f"prices-{seed}"), memory, nodes, tiers, problem)
        for fname, items in (("memory", memory), ("nodes", nodes), ("interconnects", tiers)):
            (cat / f"{fname}.yaml").write_text(yaml.safe_dump({fname: items}, sort_keys=False))
    problem["constraints"]["speed_model"] = cal.choice(["calibrated", "calibrated", "roofline"])
    if serving and "prefill_compute_efficiency" in problem["workload"] and cal.random() < 0.5:
        del problem["workload"]["prefill_compute_efficiency"]   # the node's figure applies
    path = tmp / "problem.yaml"
    path.write_text(yaml.safe_dump(problem, sort_keys=False))
    return path


def candidate_ratio(space, c) -> Fraction:
    """An oracle candidate's bandwidth per dollar (bytes/s per USD) from its integer bandwidth and cost units."""
    return Fraction(c.bandwidth_units, c.cost_units) * space.bw_column.unit / space.cost_unit


def cpsat_matches_oracle(problem):
    """Solve ``problem`` with CP-SAT and assert its top K equals the plain exhaustive oracle's (every cell, no
    pruning), design for design and ratio for ratio, and that the enumeration engine's whole result (with its
    floor) is CP-SAT's (``engines_agree``); CP-SAT's result, or None when both find the problem infeasible."""
    from fractions import Fraction

    import pytest

    from archsearch import InfeasibleError, solve
    from archsearch.space import build_space
    from archsearch.oracle import enumerate_top
    space = build_space(problem)
    # the plain enumeration (no floor, no configuration left out): independent of both engines' pruning
    expected = enumerate_top(space, problem.search.top_k, problem.search.distinct, floor=False)
    if not expected:
        for engine in ("cp-sat", "enumeration"):
            with pytest.raises(InfeasibleError):
                solve(problem, engine=engine)
        return None
    result = solve(problem, engine="cp-sat")
    assert result.status == "OPTIMAL" and result.engine == "cp-sat"
    got = [(rd.design.key(), rd.metrics.bandwidth_per_dollar) for rd in result.designs]
    want = [(c.design.key(), candidate_ratio(space, c)) for c in expected]
    assert got == want
    engines_agree(result, solve(problem, engine="enumeration"))
    return result


def engines_agree(cp, en) -> None:
    """The CP-SAT result ``cp`` and the enumeration result ``en`` of one problem are the same answer: status,
    bound, and every rank's design, figures, checks, binding constraint and proof."""
    assert (cp.engine, en.engine) == ("cp-sat", "enumeration") and en.iterations == 0
    assert (en.status, en.bound_bytes_per_s_per_usd) == (cp.status, cp.bound_bytes_per_s_per_usd)
    assert [(rd.rank, rd.design.key(), rd.metrics, rd.checks, rd.binding, rd.proven) for rd in en.designs] == \
        [(rd.rank, rd.design.key(), rd.metrics, rd.checks, rd.binding, rd.proven) for rd in cp.designs]
