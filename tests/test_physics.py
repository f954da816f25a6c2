"""Hand-computed cases for the physics shared by the model, the oracle and the reports."""

from __future__ import annotations

import math

import dataclasses
from fractions import Fraction

import pytest

from archsearch import load_problem, physics
from archsearch.catalog import Curve, DieYield
from archsearch.space import build_space
from archsearch.physics import Design

from cache_keys import assert_key_covers


@pytest.fixture(scope="module")
def default():
    return load_problem()


def test_llama2_70b_bf16_kv_per_token_is_327680(default):
    # 2 (K and V) x 80 layers x 8 KV heads x 128 head dim x 2 bytes
    assert physics.requirements(default).kv_bytes_per_token == 2 * 80 * 8 * 128 * 2 == 327_680


def test_requirements_of_the_default_problem(default):
    req = physics.requirements(default)
    assert req.weights_bytes == 68_980_000_000 * 2
    assert req.kv_bytes_per_request == 327_680 * 4096
    assert req.kv_bytes_total == 327_680 * 4096 * 64
    # (weights + KV) x 1.1 overhead, rounded up to a byte
    assert req.capacity_required_bytes == -(-(req.weights_bytes + req.kv_bytes_total) * 11 // 10)
    assert req.activation_bytes_per_token == 8192 * 2


def test_deepseek_v3_mla_cache_uses_its_latent_width(default):
    p = dataclasses.replace(default, model=default.catalog.models["deepseek-v3"])
    # 61 layers x (512 latent + 64 rope) elements x 2 bytes (bf16 KV)
    assert physics.requirements(p).kv_bytes_per_token == 61 * 576 * 2


def test_fp4_weights_are_half_a_byte(default):
    p = dataclasses.replace(default, workload=dataclasses.replace(default.workload, weight_dtype="fp4"))
    assert physics.requirements(p).weights_bytes == 68_980_000_000 // 2


def test_piecewise_linear_curve_is_exact_between_points():
    c = Curve(points=((1, 100), (5, 500), (8, 1400)))
    assert [physics.curve_value(c, q) for q in (1, 3, 5, 6, 8)] == [100, 300, 500, 800, 1400]
    assert physics.curve_domain(c) == (1, 8)
    with pytest.raises(ValueError):
        physics.curve_value(c, 9)


def test_die_yield_cost_grows_faster_than_area():
    dy = DieYield(wafer_cost_usd=16000, wafer_diameter_mm=300, defect_density_per_cm2=0.1, logic_area_mm2=150,
                  area_per_unit_mm2=32, reticle_area_mm2=830, fixed_usd=0)
    assert physics.die_max_units(dy) == (830 - 150) // 32 == 21
    costs = [physics.die_cost_usd(dy, u) for u in (1, 10, 21)]
    areas = [150 + 32 * u for u in (1, 10, 21)]
    assert costs[0] < costs[1] < costs[2]
    # cost per mm^2 rises with area: fewer dies per wafer and a lower Poisson yield exp(-A * D0)
    assert costs[2] / areas[2] > costs[1] / areas[1] > costs[0] / areas[0]
    # 182 mm^2: 300 mm wafer -> floor(pi*150^2/182 - pi*300/sqrt(364)) = floor(388.38 - 49.40) = 338 dies,
    # Poisson yield exp(-1.82 cm^2 * 0.1)
    import math
    assert costs[0] == pytest.approx(16000 / (338 * math.exp(-0.182)))


def test_die_yield_cost_is_exact_and_scales_with_its_prices():
    dy = DieYield(wafer_cost_usd=16000, wafer_diameter_mm=300, defect_density_per_cm2=0.1, logic_area_mm2=150,
                  area_per_unit_mm2=32, reticle_area_mm2=830, fixed_usd=500)
    # 1 / (338 x exp(-0.182)) = 0.0035492 wafers per good die, to a millionth of a wafer: 3549/10^6
    import math
    assert round(1e6 / (338 * math.exp(-0.182))) == 3549
    assert physics.die_cost_exact_usd(dy, 1) == 16000 * Fraction(3549, 10**6) + 500 == Fraction("556.784")
    assert float(physics.die_cost_exact_usd(dy, 1)) == pytest.approx(physics.die_cost_usd(dy, 1), abs=0.01)
    k = Fraction(37, 100)
    scaled = dataclasses.replace(dy, wafer_cost_usd=16000 * k, fixed_usd=500 * k)
    assert [physics.die_cost_exact_usd(scaled, u) for u in (1, 10, 21)] == \
        [k * physics.die_cost_exact_usd(dy, u) for u in (1, 10, 21)]


def test_market_and_build_bases_convert_with_the_markup(default):
    assert physics.basis_factor("build", default.cost) == 1
    market = dataclasses.replace(default.cost, basis="market", market_over_build=3.0)
    assert physics.basis_factor("build", market) == 3
    assert physics.basis_factor("market", default.cost) == Fraction(1, 3)


def test_micro_batches_and_busy_fraction(default):
    space = build_space(default)
    req = space.req
    mem = next(m for m in space.mems if m.memory.name == "hbm4" and m.units == 8)
    single = space.nets[0]
    d = Design(mem, single, 1, 1)
    met = physics.evaluate(d, req, default)
    # one node: t_mem = (W + c * KV_request) / B
    assert met.t_mem_s == Fraction(req.active_weight_bytes + 64 * req.kv_bytes_per_request, 8 * 2000 * 10**9)
    assert met.decode_tokens_per_s_per_user == 1 / met.t_mem_s
    assert met.system_tokens_per_s == 64 / met.t_mem_s
    assert met.t_comm_s == 0 and met.pipeline_busy_fraction == 1
    assert physics.micro_batch_m(4, 2) == 4 and physics.micro_batch_m(2, 64) == 64


def test_pipeline_with_fewer_requests_than_stages_is_partly_idle(default):
    p = dataclasses.replace(default, workload=dataclasses.replace(default.workload, concurrency=2))
    space = build_space(p)
    mem = next(m for m in space.mems if m.memory.name == "hbm4" and m.units == 8)
    ring = next(n for n in space.nets if n.tier and n.tier.name == "ucie-d2d" and n.topology.name == "ring")
    met = physics.evaluate(Design(mem, ring, 4, 1), space.req, space.problem)  # PP = 4 stages, 2 requests
    assert met.pipeline_busy_fraction == Fraction(2, 4)
    # each token passes 4 stages; each stage reads W/4 + KV/4 at B/4: t = 4 (W + KV) / B
    b = 4 * 8 * 2000 * 10**9
    assert met.t_mem_s == Fraction(4 * (space.req.active_weight_bytes + space.req.kv_bytes_per_request), b)


def test_network_items_of_a_ring_and_a_two_level_fat_tree(default):
    space = build_space(default)
    ring = next(n for n in space.nets if n.tier and n.tier.name == "ethernet-800g" and n.topology.name == "ring")
    # 8 ports per node, 20 nodes: 160 ports, 80 links, rack of 16 -> (20-16) * 8 / 2 = 16 optical
    assert physics.network_counts(ring, 20) == {"ports": 160, "links": 80, "optical links": 16}
    ft = next(n for n in space.nets if n.tier and n.tier.name == "infiniband-ndr" and n.topology.name == "fat-tree"
              and n.level == 2)
    c = physics.network_counts(ft, 20)
    # 160 endpoint ports on 64-port switches: ceil(2*160/64) = 5 leaves, ceil(160/64) = 3 spines
    assert c["switches"] == 5 and c["top switches"] == 3
    assert c["links"] == 2 * 160 and c["optical links"] == (20 - 16) * 8


def test_ring_allreduce_coefficients(default):
    space = build_space(default)
    ring = next(n for n in space.nets if n.tier and n.tier.name == "ethernet-800g" and n.topology.name == "ring")
    cc = physics.comm_coefficients(ring, 4, space.req, nodes=8)
    lat = ring.latency_s
    # 2 all-reduces per layer x 80 layers, each 2(tau-1) = 6 steps of one hop
    assert cc.ar == int(2 * 80 * 6 * lat * 10**12)
    # volume 2(tau-1)/tau of one token's activations (8192 x 2 bytes) over 8 ports x 100 GB/s
    assert cc.ar_tok == -(-2 * 80 * Fraction(6, 4) * 16384 * 10**12 // (8 * 100 * 10**9))


def test_speed_checks_agree_with_their_integer_form(default):
    space = build_space(default)
    req = space.req
    cw, ck, cx, cb = physics.speed_coefficients(req, space.bw_column.unit)
    assert cx == 0  # a dense model has no MoE table
    for pp, b_units in ((1, 10**5), (2, 3 * 10**5), (8, 10**6)):
        m = physics.micro_batch_m(pp, req.concurrency)
        b = b_units * space.bw_column.unit
        assert physics.speed_ok(req, pp, m, b) == (cw * pp + ck * m <= cb * b_units)


def test_binding_is_reported_only_under_five_percent_room():
    tight = physics.Check("capacity", True, 0.03, "")
    loose = physics.Check("budget", True, 0.5, "")
    assert physics.binding([tight, loose]) == "capacity"
    assert physics.binding([loose]) == "none"
    assert physics.tightest([loose, physics.Check("reach", True, 0.2, "")]).name == "reach"


def test_a_die_that_does_not_fit_on_the_wafer_offers_no_units():
    dy = DieYield(wafer_cost_usd=16000, wafer_diameter_mm=40, defect_density_per_cm2=0.1, logic_area_mm2=150,
                  area_per_unit_mm2=32, reticle_area_mm2=830, fixed_usd=0)
    # a 40 mm wafer holds no 182 mm^2 die once the edge loss is counted
    assert physics.die_max_units(dy) == 0


def test_communication_speed_mask_is_exact_beyond_int64(default):
    import numpy as np
    space = build_space(default)
    req = dataclasses.replace(space.req, min_tokens_per_s=Fraction(333, 10))
    net = next(n for n in space.nets if n.tier and n.tier.name == "ethernet-800g" and n.topology.name == "dragonfly")
    cc = physics.comm_coefficients(net, 1, req, nodes=200_000)
    pp = np.arange(1, 200_001, dtype=np.int64)
    mask = physics.comm_speed_mask(req, cc, pp)
    exact = [physics.comm_speed_ok(req, cc.pp_comm_ps(int(x), max(int(x), req.concurrency)), int(x))
             for x in (1, 1000, 5000, 100_000, 200_000)]
    assert [bool(mask[x - 1]) for x in (1, 1000, 5000, 100_000, 200_000)] == exact


def test_compute_roofline_time(default):
    space = build_space(default)
    req = space.req
    mem = next(m for m in space.mems if m.memory.name == "hbm4" and m.units == 8)
    met = physics.evaluate(Design(mem, space.nets[0], 1, 1), req, space.problem)
    # 2 FLOPs per active parameter per token, 64 tokens in the batch, one node's peak FLOP/s
    assert met.t_comp_s == Fraction(2 * req.active_parameters * 64, mem.compute_flops)
    assert met.decode_tokens_per_s_per_user == 1 / max(met.t_mem_s, met.t_comm_s, met.t_comp_s)


def test_die_max_units_is_bounded_work_on_a_huge_reticle() -> None:
    """Bisection, not a count down by one: a reticle of 10^5 mm^2 in 10^-3 mm^2 units answers at once."""
    dy = DieYield(wafer_cost_usd=16000, wafer_diameter_mm=300, defect_density_per_cm2=0.1, logic_area_mm2=150,
                  area_per_unit_mm2=1e-3, reticle_area_mm2=1e5, fixed_usd=0)
    n = physics.die_max_units(dy)
    assert n > 0 and not math.isinf(physics.die_cost_usd(dy, n)) and math.isinf(physics.die_cost_usd(dy, n + 1))


def test_die_max_units_agrees_with_counting_down() -> None:
    for diameter in (40, 60, 100, 300):
        dy = DieYield(wafer_cost_usd=16000, wafer_diameter_mm=diameter, defect_density_per_cm2=0.1,
                      logic_area_mm2=150, area_per_unit_mm2=32, reticle_area_mm2=5000, fixed_usd=0)
        units = int((5000 - 150) // 32)
        while units > 0 and math.isinf(physics.die_cost_usd(dy, units)):
            units -= 1
        assert physics.die_max_units(dy) == units


def test_a_yield_that_underflows_is_no_good_die() -> None:
    dy = DieYield(wafer_cost_usd=16000, wafer_diameter_mm=1000, defect_density_per_cm2=100, logic_area_mm2=1e5,
                  area_per_unit_mm2=1, reticle_area_mm2=1e5, fixed_usd=0)
    assert math.isinf(physics.die_cost_usd(dy, 1))


def test_comm_coefficients_cache_keys_on_every_input_it_reads():
    """``comm_coefficients`` is remembered by exactly what it reads: changing any one input (network, TP, the
    activation bytes, the speed model, the layers, expert parallel, the MoE figures, the node count) gives what
    a fresh computation gives, which differs from the first answer; a key missing that input would return the
    first answer instead."""
    p = load_problem("mixtral-8x7b-batch")
    space = build_space(p)
    req, moe = dataclasses.replace(space.req, speed_model="calibrated"), p.model.moe
    torus = next(n for n in space.nets if n.tier is not None and n.topology.kind == "torus" and n.n_min <= 4)
    other = next(n for n in space.nets if n.tier is not None and n.tier != torus.tier and n.n_max >= 16)
    base = dict(cfg=torus, tau=4, req=req, expert_parallel=True, moe=moe, nodes=4)   # 4 and 8 nodes: two machines
    variants = {"cfg": dict(cfg=other), "tau": dict(tau=2),
                "activation bytes": dict(req=dataclasses.replace(req, activation_bytes_per_token=3 * 4096)),
                "speed model": dict(req=dataclasses.replace(req, speed_model="roofline")),
                "layers": dict(req=dataclasses.replace(req, layers=req.layers + 1)),
                "expert parallel": dict(expert_parallel=False),
                "moe": dict(moe=dataclasses.replace(moe, active_experts=moe.active_experts + 1)),
                "nodes": dict(nodes=8)}

    def call(kw):
        kw = dict(kw)
        return physics.comm_coefficients(kw.pop("cfg"), kw.pop("tau"), kw.pop("req"), kw.pop("expert_parallel"),
                                         kw.pop("moe"), **kw)
    assert_key_covers(physics.comm_coefficients_of, call, base, variants)
    assert call(base) is call(base)   # remembered


def test_memory_configs_cache_keys_on_every_input_it_reads(default):
    """``memory_configs`` is remembered by the catalog's nodes and media, the include lists, the cost settings
    and the compute dtype: changing any one gives the configurations a fresh computation gives."""
    cat = default.catalog
    h100 = cat.nodes["h100-sxm"]
    hbm = cat.memory[h100.memory[0]]

    def with_catalog(**sections):
        return dataclasses.replace(default, catalog=dataclasses.replace(cat, **sections))
    variants = {
        "node": dict(problem=with_catalog(nodes={**cat.nodes, "h100-sxm": dataclasses.replace(h100, power_w=1)})),
        "medium": dict(problem=with_catalog(memory={**cat.memory, hbm.name: dataclasses.replace(hbm, capacity_gb=1)})),
        "include nodes": dict(problem=dataclasses.replace(default, search=dataclasses.replace(
            default.search, include={"nodes": ("h100-sxm",)}))),
        "include memory": dict(problem=dataclasses.replace(default, search=dataclasses.replace(
            default.search, include={"memory": (hbm.name,)}))),
        "cost": dict(problem=dataclasses.replace(default, cost=dataclasses.replace(default.cost, basis="market"))),
        "compute dtype": dict(problem=dataclasses.replace(default, workload=dataclasses.replace(
            default.workload, compute_dtype="fp8"))),
    }
    assert_key_covers(physics.memory_configs_of, lambda kw: physics.memory_configs(kw["problem"]),
                      dict(problem=default), variants)
    assert physics.memory_configs(default) == physics.memory_configs(default)


def test_tier_configs_cache_keys_on_every_input_it_reads(default):
    """``tier_configs`` is remembered by the tier, its topologies' entries, the include list of topologies, the
    cost settings, nmax and the first index."""
    cat = default.catalog
    tier = cat.interconnects["nvlink4"]
    name = tier.topologies[0]

    def call(kw):
        p = kw["problem"]
        return physics.tier_configs(p, kw["tier"], kw["nmax"], kw["start"])
    variants = {
        "tier": dict(tier=dataclasses.replace(tier, port_cost_usd=tier.port_cost_usd + 1)),
        "topology": dict(problem=dataclasses.replace(default, catalog=dataclasses.replace(cat, topologies={
            **cat.topologies, name: dataclasses.replace(cat.topologies[name], description="changed")}))),
        "include topologies": dict(problem=dataclasses.replace(default, search=dataclasses.replace(
            default.search, include={"topologies": (name,)}))),
        "cost": dict(problem=dataclasses.replace(default, cost=dataclasses.replace(default.cost, basis="market"))),
        "nmax": dict(nmax=4),
        "start": dict(start=7),
    }
    assert_key_covers(physics.tier_configs_of, call, dict(problem=default, tier=tier, nmax=64, start=1), variants)


def test_a_network_remembers_its_hash_but_neither_pickles_nor_copies_it(default):
    """The remembered hash is the dataclass's (every field), and a pickled or copied network works its own out
    (string hashes differ between processes)."""
    import copy
    import pickle
    n = physics.network_configs(default)[5]
    fields = hash(tuple(getattr(n, f.name) for f in dataclasses.fields(n)))
    assert hash(n) == fields and n.__dict__["_hash"] == fields
    for other in (pickle.loads(pickle.dumps(n)), copy.copy(n), copy.deepcopy(n)):
        assert "_hash" not in other.__dict__ and other == n and hash(other) == hash(n)
    assert hash(dataclasses.replace(n, n_max=n.n_max - 1)) != hash(n)
