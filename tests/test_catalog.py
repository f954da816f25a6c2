"""archsearch.catalog: the bundled catalogs load; malformed entries fail with a message naming file, entry, field."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from archsearch.catalog import FILES, Catalog, default_directory, load_catalog
from archsearch.errors import CatalogError, ProblemError

REQUIRED = {
    "memory": ["sram-n5", "hbm3", "hbm3e-8hi", "hbm3e-12hi", "hbm4", "gddr6", "gddr7", "lpddr5x", "ddr5-rdimm",
               "cxl-expander"],
    "topologies": ["ring", "torus-2d", "torus-3d", "mesh-2d", "fat-tree", "dragonfly", "single-switch",
                   "all-to-all"],
    "models": ["llama-2-70b", "llama-3-8b", "llama-3.1-405b", "mixtral-8x7b", "deepseek-v3"],
}


@pytest.fixture(scope="module")
def bundled() -> Catalog:
    return load_catalog()


# -- the bundled catalogs -------------------------------------------------------------------
def test_bundled_catalogs_load(bundled: Catalog) -> None:
    assert Path(bundled.directory) == default_directory()
    for section in FILES:
        assert bundled.section(section), section


def test_default_directory_holds_the_five_files_and_the_reference_designs() -> None:
    assert sorted(p.stem for p in default_directory().glob("*.yaml")) == sorted(FILES + ("designs", "measurements"))


@pytest.mark.parametrize("section", FILES)
def test_every_entry_has_a_source(bundled: Catalog, section: str) -> None:
    for name, e in bundled.section(section).items():
        assert isinstance(e.source, str) and e.source.strip(), f"{section}[{name}] has no source"
        assert e.name == name


@pytest.mark.parametrize("section, name", [(s, n) for s, names in REQUIRED.items() for n in names])
def test_required_entry_exists(bundled: Catalog, section: str, name: str) -> None:
    assert name in bundled.section(section)


def test_at_least_seven_interconnects(bundled: Catalog) -> None:
    assert len(bundled.interconnects) >= 7


def test_entries_are_frozen(bundled: Catalog) -> None:
    with pytest.raises(AttributeError):
        bundled.memory["hbm3"].capacity_gb = 1  # type: ignore[misc]


def test_a_catalog_copy_loads_the_same(catalog_dir: Path, bundled: Catalog) -> None:
    copy_ = load_catalog(catalog_dir)
    assert copy_.directory == str(catalog_dir)
    for section in FILES:
        assert copy_.section(section) == bundled.section(section)


def test_missing_catalog_directory(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as exc:
        load_catalog(tmp_path / "nowhere")
    assert str(exc.value) == f"{tmp_path / 'nowhere'}: catalog directory not found"


def test_missing_catalog_file(catalog_dir: Path) -> None:
    (catalog_dir / "topologies.yaml").unlink()
    with pytest.raises(CatalogError) as exc:
        load_catalog(catalog_dir)
    assert str(exc.value) == f"{catalog_dir / 'topologies.yaml'}: file not found"


# -- corrupted entries -----------------------------------------------------------------------
def _item(doc: dict, section: str, name: str) -> dict:
    for it in doc[section]:
        if it.get("name") == name:
            return it
    raise KeyError(f"test setup: no {section} entry {name!r} in the bundled catalog")


def on(section: str, name: str, change: Callable[[dict], Any]) -> Callable[[dict], None]:
    """A corruption of one named entry of ``section``."""
    def apply(doc: dict) -> None:
        change(_item(doc, section, name))
    return apply


def duplicate(section: str, name: str) -> Callable[[dict], None]:
    def apply(doc: dict) -> None:
        doc[section].append(copy.deepcopy(_item(doc, section, name)))
    return apply


@functools.lru_cache(maxsize=None)
def known(section: str) -> str:
    return ", ".join(sorted(load_catalog().section(section)))


#: the allowed fields of each kind of catalog mapping, as unknown-field messages list them
ALLOWED = {
    "memory": "name, description, attach, capacity_gb, bandwidth_gb_per_s, power_w, max_units_per_node, cost_usd, "
              "cost_basis, source, estimate, bandwidth_efficiency",
    "nodes": "name, description, memory, min_units, max_units, compute_tflops, compute_tflops_fp8, power_w, cost_usd, "
             "cost_basis, source, estimate, layer_overhead_ns, decode_compute_efficiency, prefill_compute_efficiency, "
             "fp8_layer_overhead_ns, decode_efficiency_half_tokens, prefill_efficiency_half_tokens",
    "interconnects": "name, description, link_bandwidth_gb_per_s, links_per_node, latency_ns, reach_nodes, rack_nodes, "
                     "energy_pj_per_bit, port_cost_usd, cable_cost_usd, optics_cost_usd, switch, topologies, node_types, "
                     "cost_basis, source, estimate, roles, domain_sizes, fabric_links_per_node, fabric_topologies, "
                     "collective_latency_ns, collective_latency_ns_by_topology",
    "switch": "ports, cost_usd, power_w",
    "by_topology": "ring, torus, mesh, fat_tree, dragonfly, switch, all_to_all",
    "topologies": "name, description, kind, dimensions, source, estimate",
    "models": "name, description, layers, hidden_size, attention_heads, kv_heads, head_dim, parameters, "
              "active_parameters, kv_elements_per_token_per_layer, moe, source, estimate",
    "moe": "experts, active_experts, expert_parameters, layers",
    "curve": "points, die_yield",
    "die_yield": "wafer_cost_usd, wafer_diameter_mm, defect_density_per_cm2, logic_area_mm2, area_per_unit_mm2, "
                 "reticle_area_mm2, fixed_usd",
}
CORRUPTIONS = [
    ("memory", on("memory", "hbm3", lambda e: e.update(speed_gbps=3)),
     "{dir}/memory.yaml: memory[hbm3]: speed_gbps: unknown field; allowed: " + ALLOWED["memory"]),
    ("memory", on("memory", "hbm3", lambda e: e.update(capacity_gb=-16)),
     "{dir}/memory.yaml: memory[hbm3]: capacity_gb: expected a number in [1e-6, 1,000,000], found -16"),
    ("memory", on("memory", "hbm3", lambda e: e.update(capacity_gb=0)),
     "{dir}/memory.yaml: memory[hbm3]: capacity_gb: expected a number in [1e-6, 1,000,000], found 0"),
    ("memory", on("memory", "hbm3", lambda e: e.update(capacity_gb="sixteen")),
     "{dir}/memory.yaml: memory[hbm3]: capacity_gb: expected a number in [1e-6, 1,000,000], found 'sixteen'"),
    ("memory", on("memory", "hbm3", lambda e: e.update(capacity_gb="16 GB")),
     "{dir}/memory.yaml: memory[hbm3]: capacity_gb: expected a number in [1e-6, 1,000,000], found '16 GB'"),
    ("memory", on("memory", "hbm3", lambda e: e.pop("source")),
     "{dir}/memory.yaml: memory[hbm3]: source: missing required field"),
    ("memory", on("memory", "hbm3", lambda e: e.update(source="")),
     "{dir}/memory.yaml: memory[hbm3]: source: expected a non-empty string, found ''"),
    ("memory", on("memory", "hbm3", lambda e: e.update(attach="chiplet")),
     "{dir}/memory.yaml: memory[hbm3]: attach: expected one of die, wafer, package, board, found 'chiplet'"),
    ("memory", on("memory", "hbm3", lambda e: e.update(max_units_per_node=2.5)),
     "{dir}/memory.yaml: memory[hbm3]: max_units_per_node: expected an integer in [1, 10,000], found 2.5"),
    ("memory", on("memory", "hbm3", lambda e: e.update(estimate="maybe")),
     "{dir}/memory.yaml: memory[hbm3]: estimate: expected true, false or a list of field names, found 'maybe'"),
    ("memory", on("memory", "hbm3", lambda e: e.update(name="HBM3")),
     "{dir}/memory.yaml: memory[HBM3]: name: expected lower-case letters, digits, '.' and '-' (at most 64), found 'HBM3'"),
    ("memory", on("memory", "hbm3", lambda e: e.update(cost_usd={"points": [[8, 2176], [1, 272]]})),
     "{dir}/memory.yaml: memory[hbm3].cost_usd: points: quantities must increase strictly, found 8 then 1"),
    ("memory", on("memory", "hbm3", lambda e: e.update(cost_usd={"points": [[1, 272], [1, 300]]})),
     "{dir}/memory.yaml: memory[hbm3].cost_usd: points: quantities must increase strictly, found 1 then 1"),
    ("memory", on("memory", "hbm3", lambda e: e.update(cost_usd={"points": [[1, -272]]})),
     "{dir}/memory.yaml: memory[hbm3].cost_usd: points: expected [quantity, usd] pairs, quantity an integer "
     "in [0, 10,000], usd a number in [0, 10,000,000], found a list"),
    ("memory", on("memory", "hbm3", lambda e: e.update(cost_usd={})),
     "{dir}/memory.yaml: memory[hbm3].cost_usd: expected exactly one of 'points' or 'die_yield'"),
    ("memory", duplicate("memory", "hbm3"),
     "{dir}/memory.yaml: memory[hbm3]: name: duplicate entry name"),
    ("nodes", on("nodes", "gpu-hbm", lambda e: e.update(memory=["hbm9"])),
     "{dir}/nodes.yaml: nodes[gpu-hbm]: memory: unknown memory 'hbm9' (known: {known_memory})"),
    ("nodes", on("nodes", "gpu-hbm", lambda e: e.update(min_units=9, max_units=8)),
     "{dir}/nodes.yaml: nodes[gpu-hbm]: min_units: min_units 9 exceeds max_units 8"),
    ("nodes", on("nodes", "sram-asic", lambda e: e["cost_usd"]["die_yield"].update(reticle_area_mm2=100)),
     "{dir}/nodes.yaml: nodes[sram-asic].cost_usd.die_yield: reticle_area_mm2: even one unit does not fit on "
     "the reticle"),
    ("interconnects", on("interconnects", "ucie-d2d", lambda e: e.update(topologies=["ring", "mesh-3d"])),
     "{dir}/interconnects.yaml: interconnects[ucie-d2d]: topologies: unknown topology 'mesh-3d' "
     "(known: {known_topologies})"),
    ("interconnects", on("interconnects", "ucie-d2d", lambda e: e.update(node_types=["tpu"])),
     "{dir}/interconnects.yaml: interconnects[ucie-d2d]: node_types: unknown node type 'tpu' "
     "(known: {known_nodes})"),
    ("interconnects", on("interconnects", "nvlink4", lambda e: e["switch"].update(ports=0)),
     "{dir}/interconnects.yaml: interconnects[nvlink4].switch: ports: expected an integer in [1, 100,000], found 0"),
    ("topologies", on("topologies", "ring", lambda e: e.update(kind="rings")),
     "{dir}/topologies.yaml: topologies[ring]: kind: expected one of ring, torus, mesh, fat_tree, dragonfly, "
     "switch, all_to_all, found 'rings' (did you mean 'ring'?)"),
    ("topologies", on("topologies", "torus-3d", lambda e: e.update(dimensions=4)),
     "{dir}/topologies.yaml: topologies[torus-3d]: dimensions: expected an integer in [1, 3], found 4"),
    ("models", on("models", "mixtral-8x7b", lambda e: e.update(active_parameters=5e10)),
     "{dir}/models.yaml: models[mixtral-8x7b]: active_parameters: 5e+10 exceeds parameters 4.67e+10"),
    ("models", on("models", "llama-3-8b", lambda e: e.pop("layers")),
     "{dir}/models.yaml: models[llama-3-8b]: layers: missing required field"),
    ("models", lambda doc: doc.update(extra=1),
     "{dir}/models.yaml: extra: unknown top-level field (expected only 'models')"),
]
CORRUPTION_IDS = [
    "unknown-key", "negative-capacity", "zero-capacity", "string-capacity", "quoted-number", "missing-source",
    "empty-source", "bad-attach", "fractional-units", "bad-estimate", "upper-case-name", "points-decreasing",
    "points-repeated", "points-negative-usd", "curve-empty", "duplicate-name", "node-unknown-memory",
    "node-min-over-max", "die-over-reticle", "interconnect-unknown-topology", "interconnect-unknown-node-type",
    "switch-zero-ports", "bad-topology-kind", "torus-4d", "active-over-total", "model-missing-layers",
    "extra-top-level-key",
]


def _catalog_error(catalog_dir: Path, section: str, corrupt: Callable[[dict], None]) -> str:
    """Corrupt one catalog file's document with ``corrupt``, load the catalog, return the error's message."""
    path = catalog_dir / f"{section}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    corrupt(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    with pytest.raises(CatalogError) as exc:
        load_catalog(catalog_dir)
    return str(exc.value)


@pytest.mark.parametrize("section, corrupt, message", CORRUPTIONS, ids=CORRUPTION_IDS)
def test_corrupted_catalog(catalog_dir: Path, section: str, corrupt: Callable[[dict], None], message: str) -> None:
    assert _catalog_error(catalog_dir, section, corrupt) == message.format(
        dir=catalog_dir, known_memory=known("memory"), known_topologies=known("topologies"), known_nodes=known("nodes"))


@pytest.mark.parametrize("text, message", [
    ("memory:\n  - name: hbm3\n    capacity_gb: [16\n    attach: package\n",
     "line 4, column 11: expected ',' or ']', but got ':'"),
    ("memory:\n  - name: [\n", "line 3, column 1: expected the node content, but found '<stream end>'"),
], ids=["unclosed-list", "unclosed-name"])
def test_malformed_catalog_yaml(catalog_dir: Path, text: str, message: str) -> None:
    (catalog_dir / "memory.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as exc:
        load_catalog(catalog_dir)
    assert str(exc.value) == f"{catalog_dir / 'memory.yaml'}: malformed YAML: {message}"


def test_infinite_figure_is_rejected(catalog_dir: Path) -> None:
    message = _catalog_error(catalog_dir, "memory",
                             lambda doc: _item(doc, "memory", "hbm4").update(bandwidth_gb_per_s=float("inf")))
    assert message == (f"{catalog_dir / 'memory.yaml'}: memory[hbm4]: bandwidth_gb_per_s: expected a number in [1e-6, 1,000,000,000], found inf")


def test_estimate_naming_an_unknown_field_is_rejected() -> None:
    with pytest.raises(CatalogError) as exc:
        load_catalog(overrides={"memory": {"hbm3": {"estimate": ["cost_usd", "no_such_field"]}}})
    assert str(exc.value).endswith("memory[hbm3]: estimate: 'no_such_field' is not a field of this entry (fields: "
                                   "attach, bandwidth_efficiency, bandwidth_gb_per_s, capacity_gb, cost_basis, cost_usd, max_units_per_node, "
                                   "power_w)")


# -- overrides ---------------------------------------------------------------------------------
def test_override_changes_the_field(bundled: Catalog) -> None:
    cat = load_catalog(overrides={"memory": {"hbm3": {"capacity_gb": 32, "bandwidth_gb_per_s": 1000}},
                                  "interconnects": {"nvlink4": {"switch": {"ports": 32, "cost_usd": 1000,
                                                                           "power_w": 50}}}})
    assert cat.memory["hbm3"].capacity_gb == 32
    assert cat.memory["hbm3"].bandwidth_gb_per_s == 1000
    assert cat.interconnects["nvlink4"].switch.ports == 32
    # the rest of the entry, and the bundled catalog, are untouched
    assert cat.memory["hbm3"].cost_usd == bundled.memory["hbm3"].cost_usd
    assert load_catalog().memory["hbm3"].capacity_gb == bundled.memory["hbm3"].capacity_gb != 32


def test_override_applies_to_another_directory(catalog_dir: Path) -> None:
    cat = load_catalog(catalog_dir, overrides={"models": {"llama-3-8b": {"layers": 16}}})
    assert cat.models["llama-3-8b"].layers == 16


def test_override_of_an_unknown_entry() -> None:
    with pytest.raises(ProblemError) as exc:
        load_catalog(overrides={"memory": {"hbm9": {"capacity_gb": 1}}}, overrides_file="p.yaml")
    assert str(exc.value) == f"p.yaml: overrides.memory.hbm9: no such memory entry in {default_directory() / 'memory.yaml'} (did you mean 'hbm4'?)"


@pytest.mark.parametrize("overrides, message", [
    ({"memroy": {"hbm3": {"capacity_gb": 1}}},
     "p.yaml: overrides.memroy: unknown catalog section (expected one of memory, nodes, interconnects, "
     "topologies, models) (did you mean 'memory'?)"),
    ({"memory": ["hbm3"]}, "p.yaml: overrides.memory: expected a mapping of entry names, found list"),
    ({"memory": {"hbm3": 32}}, "p.yaml: overrides.memory.hbm3: expected a mapping of fields, found int"),
], ids=["unknown-section", "section-not-mapping", "fields-not-mapping"])
def test_bad_overrides(overrides: dict, message: str) -> None:
    with pytest.raises(ProblemError) as exc:
        load_catalog(overrides=overrides, overrides_file="p.yaml")
    assert str(exc.value) == message


def test_override_with_a_bad_value_names_the_catalog_and_the_problem() -> None:
    with pytest.raises(CatalogError) as exc:
        load_catalog(overrides={"memory": {"hbm3": {"capacity_gb": -1}}}, overrides_file="p.yaml")
    assert str(exc.value) == (f"{default_directory() / 'memory.yaml'} (with overrides from p.yaml): memory[hbm3]: "
                              "capacity_gb: expected a number in [1e-6, 1,000,000], found -1")


def test_override_with_an_unknown_field() -> None:
    with pytest.raises(CatalogError) as exc:
        load_catalog(overrides={"topologies": {"ring": {"hops": 2}}}, overrides_file="p.yaml")
    assert str(exc.value) == (f"{default_directory() / 'topologies.yaml'} (with overrides from p.yaml): "
                              "topologies[ring]: hops: unknown field; allowed: " + ALLOWED["topologies"])


# -- issue 13: structure before use, names full-matched, folders without loops ------------------------
HOSTILE_CATALOG = [
    ("memory", on("memory", "hbm3", lambda e: e.update(name={"a": 1})),
     "{dir}/memory.yaml: memory[2]: name: expected a non-empty string, found a mapping"),
    ("memory", on("memory", "hbm3", lambda e: e.update(name=["hbm3"])),
     "{dir}/memory.yaml: memory[2]: name: expected a non-empty string, found a list"),
    ("memory", on("memory", "hbm3", lambda e: e.update(name="hbm3\n")),
     "{dir}/memory.yaml: memory[2]: name: expected lower-case letters, digits, '.' and '-' (at most 64), "
     "found 'hbm3\\n'"),
    ("memory", on("memory", "hbm3", lambda e: e.update(cost_usd={"points": [[1, "x"], [2, 3]]})),
     "{dir}/memory.yaml: memory[hbm3].cost_usd: points: expected [quantity, usd] pairs, quantity an integer in "
     "[0, 10,000], usd a number in [0, 10,000,000], found a list"),
    ("memory", on("memory", "hbm3", lambda e: e.update(cost_usd={"points": [["a", 1], [2, 3]]})),
     "{dir}/memory.yaml: memory[hbm3].cost_usd: points: expected [quantity, usd] pairs, quantity an integer in "
     "[0, 10,000], usd a number in [0, 10,000,000], found a list"),
    ("memory", on("memory", "hbm3", lambda e: e.update(cost_usd={"points": [[1, 1e300]]})),
     "{dir}/memory.yaml: memory[hbm3].cost_usd: points: expected [quantity, usd] pairs, quantity an integer in "
     "[0, 10,000], usd a number in [0, 10,000,000], found a list"),
    ("memory", on("memory", "hbm3", lambda e: e.update(capacity_gb=10**30)),
     "{dir}/memory.yaml: memory[hbm3]: capacity_gb: expected a number in [1e-6, 1,000,000], found a 31-digit "
     "integer"),
    ("nodes", on("nodes", "sram-asic", lambda e: e["cost_usd"]["die_yield"].update(reticle_area_mm2=1e12)),
     "{dir}/nodes.yaml: nodes[sram-asic].cost_usd.die_yield: reticle_area_mm2: expected a number in "
     "[0.001, 100,000], found 1000000000000.0"),
    ("interconnects", on("interconnects", "nvlink4", lambda e: e.update(topologies={"ring": 1})),
     "{dir}/interconnects.yaml: interconnects[nvlink4]: topologies: expected a non-empty list of names, found a "
     "mapping"),
]


@pytest.mark.parametrize("section, corrupt, message", HOSTILE_CATALOG,
                         ids=["name-mapping", "name-list", "name-final-newline", "points-mixed-types",
                              "points-string-quantity", "points-huge-usd", "30-digit-capacity", "huge-reticle",
                              "topologies-mapping"])
def test_hostile_catalog(catalog_dir: Path, section: str, corrupt: Callable[[dict], None], message: str) -> None:
    assert _catalog_error(catalog_dir, section, corrupt) == message.format(dir=catalog_dir)


def test_catalog_folder_with_a_symlink_loop(catalog_dir: Path) -> None:
    (catalog_dir / "memory.yaml").unlink()
    (catalog_dir / "memory.yaml").symlink_to(catalog_dir / "memory.yaml")
    (catalog_dir / "loop").symlink_to(catalog_dir / "loop")
    with pytest.raises(CatalogError) as exc:
        load_catalog(catalog_dir)
    assert str(exc.value) == f"{catalog_dir / 'memory.yaml'}: cannot read: Too many levels of symbolic links"
    with pytest.raises(CatalogError) as exc:
        load_catalog(catalog_dir / "loop")
    assert str(exc.value) == f"{catalog_dir / 'loop'}: catalog directory not found"


def test_an_override_that_breaks_a_reference_blames_the_problem() -> None:
    with pytest.raises(ProblemError) as exc:
        load_catalog(overrides={"nodes": {"h100-sxm": {"memory": ["hbm9"]}}}, overrides_file="p.yaml")
    assert str(exc.value).startswith("p.yaml: overrides.nodes.h100-sxm.memory: unknown memory 'hbm9' (known: ")


def test_overrides_must_be_a_mapping() -> None:
    with pytest.raises(ProblemError) as exc:
        load_catalog(overrides=False, overrides_file="p.yaml")  # type: ignore[arg-type]
    assert str(exc.value) == "p.yaml: overrides: expected a mapping of catalog sections, found false (a boolean)"


# -- two-level fields (roles, domain sizes, fabric ports) ----------------------------------------
@pytest.mark.parametrize("name, change, message", [
    ("nvlink4", lambda e: e.update(roles=["spine"]),
     "interconnects[nvlink4]: roles: unknown role 'spine' (known: domain, fabric)"),
    ("nvlink4", lambda e: e.pop("domain_sizes"),
     "interconnects[nvlink4]: domain_sizes: missing: a tier with role 'domain' lists the domain sizes it is built in"),
    ("nvlink4", lambda e: e.update(domain_sizes=[8, 1]),
     "interconnects[nvlink4]: domain_sizes: expected a non-empty list of integers in [2, 1,000,000], found [8, 1]"),
    ("nvlink4", lambda e: e.update(roles=["fabric"]),
     "interconnects[nvlink4]: domain_sizes: given, but 'domain' is not in roles"),
    ("infiniband-ndr", lambda e: e.update(roles=["domain"]),
     "interconnects[infiniband-ndr]: domain_sizes: missing: a tier with role 'domain' lists the domain sizes it is "
     "built in"),
    ("nvlink4", lambda e: e.update(fabric_links_per_node=2),
     "interconnects[nvlink4]: fabric_links_per_node: given, but 'fabric' is not in roles"),
    ("infiniband-ndr", lambda e: e.update(fabric_links_per_node=0),
     "interconnects[infiniband-ndr]: fabric_links_per_node: expected an integer in [1, 10,000], found 0"),
    # found by the long fuzz profile: the echoed name carried its newline into the message
    ("nvlink4", lambda e: e.update(roles=["a\nb"]),
     "interconnects[nvlink4]: roles: unknown role 'a\\nb' (known: domain, fabric)"),
    ("groq-c2c", lambda e: e.update(fabric_topologies=["a\nb"]),
     "interconnects[groq-c2c]: fabric_topologies: 'a\\nb' is not one of the tier's topologies"),
], ids=["unknown-role", "domain-without-sizes", "size-one", "sizes-without-role", "fabric-as-domain",
        "fabric-ports-without-role", "zero-fabric-ports", "role-with-newline", "fabric-topology-with-newline"])
def test_bad_two_level_fields(catalog_dir: Path, name: str, change, message: str) -> None:
    got = _catalog_error(catalog_dir, "interconnects", lambda doc: change(_item(doc, "interconnects", name)))
    assert got == f"{catalog_dir / 'interconnects.yaml'}: {message}"


def test_bundled_two_level_roles(bundled: Catalog) -> None:
    ic = bundled.interconnects
    assert ic["nvlink4"].roles == ("domain",) and ic["nvlink4"].domain_sizes == (8, 256)
    assert ic["nvlink5"].domain_sizes == (8, 72, 576)
    assert ic["infiniband-ndr"].roles == ("fabric",) and ic["infiniband-ndr"].fabric_links_per_node == 1
    assert ic["groq-c2c"].roles == ("domain", "fabric")
    assert ic["cs3-ethernet"].roles == ()


# -- issue 10: an unknown key is reported before a missing required field, in every kind of entry -------------
def without(*fields: str, **extra: Any) -> Callable[[dict], None]:
    """Drop required ``fields`` of a mapping and add unrelated ``extra`` keys."""
    def change(e: dict) -> None:
        for f in fields:
            del e[f]
        e.update(extra)
    return change


def inside(key: str, change: Callable[[dict], None]) -> Callable[[dict], None]:
    return lambda e: change(e[key])


UNKNOWN_BEFORE_MISSING = [
    ("memory", on("memory", "hbm3", without("capacity_gb", colour="red")),
     "{dir}/memory.yaml: memory[hbm3]: colour: unknown field; allowed: " + ALLOWED["memory"]),
    ("nodes", on("nodes", "gpu-hbm", without("max_units", colour="red")),
     "{dir}/nodes.yaml: nodes[gpu-hbm]: colour: unknown field; allowed: " + ALLOWED["nodes"]),
    ("interconnects", on("interconnects", "nvlink4", without("latency_ns", colour="red")),
     "{dir}/interconnects.yaml: interconnects[nvlink4]: colour: unknown field; allowed: " + ALLOWED["interconnects"]),
    ("interconnects", on("interconnects", "nvlink4", inside("switch", without("ports", port=64))),
     "{dir}/interconnects.yaml: interconnects[nvlink4].switch: port: unknown field (did you mean 'ports'?); "
     "allowed: " + ALLOWED["switch"]),
    ("interconnects", on("interconnects", "nvlink4", lambda e: e.update(
        collective_latency_ns_by_topology={"ring": 10, "hypercube": 5})),
     "{dir}/interconnects.yaml: interconnects[nvlink4].collective_latency_ns_by_topology: hypercube: unknown field; "
     "allowed: " + ALLOWED["by_topology"]),
    ("topologies", on("topologies", "ring", without("kind", colour="red")),
     "{dir}/topologies.yaml: topologies[ring]: colour: unknown field; allowed: " + ALLOWED["topologies"]),
    ("models", on("models", "llama-2-70b", without("layers", colour="red")),
     "{dir}/models.yaml: models[llama-2-70b]: colour: unknown field; allowed: " + ALLOWED["models"]),
    ("models", on("models", "mixtral-8x7b", inside("moe", without("experts", colour="red"))),
     "{dir}/models.yaml: models[mixtral-8x7b].moe: colour: unknown field; allowed: " + ALLOWED["moe"]),
    ("memory", on("memory", "hbm3", inside("cost_usd", without("points", curve="linear"))),
     "{dir}/memory.yaml: memory[hbm3].cost_usd: curve: unknown field; allowed: " + ALLOWED["curve"]),
    ("nodes", on("nodes", "sram-asic", inside("cost_usd", inside("die_yield", without("wafer_cost_usd",
                                                                                      wafer_usd=9000)))),
     "{dir}/nodes.yaml: nodes[sram-asic].cost_usd.die_yield: wafer_usd: unknown field (did you mean "
     "'wafer_cost_usd'?); allowed: " + ALLOWED["die_yield"]),
]


@pytest.mark.parametrize("section, corrupt, message", UNKNOWN_BEFORE_MISSING,
                         ids=["memory", "nodes", "interconnects", "switch", "by-topology", "topologies", "models",
                              "moe", "cost-curve", "die-yield"])
def test_an_unknown_key_is_reported_before_a_missing_field(catalog_dir: Path, section: str,
                                                           corrupt: Callable[[dict], None], message: str) -> None:
    test_corrupted_catalog(catalog_dir, section, corrupt, message)
