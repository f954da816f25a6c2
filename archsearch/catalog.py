"""Loading the hardware and model catalogs into frozen, typed entries.

Five YAML files (schema: ``docs/catalogs.md``): ``memory.yaml``, ``nodes.yaml``,
``interconnects.yaml``, ``topologies.yaml``, ``models.yaml``.  The bundled ones
ship inside the package; ``--catalog DIR`` names another folder.  A problem may
override any field of any entry before the entries are typed.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Union

from .errors import CatalogError, ProblemError
from .ranges import RANGES
from .yamlio import Entry, check_number, describe, entries, field_names, key_text, read_yaml_cached, shown

FILES = ("memory", "nodes", "interconnects", "topologies", "models")
SECTION = {"memory": "memory", "nodes": "nodes", "interconnects": "interconnects",
           "topologies": "topologies", "models": "models"}
ATTACH = ("die", "wafer", "package", "board")
COST_BASES = ("build", "market")
TOPOLOGY_KINDS = ("ring", "torus", "mesh", "fat_tree", "dragonfly", "switch", "all_to_all")
NAME_RE = re.compile(r"[a-z0-9][a-z0-9.\-]{0,63}")  # always fullmatch: "$" would pass a final newline

Estimate = Union[bool, tuple[str, ...]]


@dataclass(frozen=True)
class DieYield:
    """A die whose area grows with its SRAM units; cost per good die from a Poisson yield model."""

    wafer_cost_usd: float
    wafer_diameter_mm: float
    defect_density_per_cm2: float
    logic_area_mm2: float
    area_per_unit_mm2: float
    reticle_area_mm2: float
    fixed_usd: float


@dataclass(frozen=True)
class Curve:
    """Cost over a quantity: piecewise-linear ``points`` or a ``die_yield`` model (exactly one)."""

    points: tuple[tuple[int, float], ...] | None = None
    die_yield: DieYield | None = None


@dataclass(frozen=True)
class Memory:
    name: str
    description: str
    attach: str
    capacity_gb: float
    bandwidth_gb_per_s: float
    power_w: float
    max_units_per_node: int
    cost_usd: Curve
    cost_basis: str
    source: str
    estimate: Estimate
    # calibration (docs/calibration.md): the fraction of bandwidth that streaming weight and KV reads reach
    bandwidth_efficiency: float = 1.0


@dataclass(frozen=True)
class Node:
    name: str
    description: str
    memory: tuple[str, ...]
    min_units: int
    max_units: int
    compute_tflops: float
    compute_tflops_fp8: float | None    # dense FP8 rate; None: no faster FP8 path (the BF16 rate applies)
    power_w: float
    cost_usd: Curve
    cost_basis: str
    source: str
    estimate: Estimate
    # calibration (docs/calibration.md): fixed time per layer per decode step or prompt pass (kernel
    # launches, synchronisation), and the fractions of peak FLOP/s that decode and prefill reach
    layer_overhead_ns: float = 0.0
    decode_compute_efficiency: float = 1.0
    prefill_compute_efficiency: float = 1.0
    # extra time per layer when the matrix work runs in FP8 (activation-quantisation kernels), and the tokens
    # per step at which decode / prefill reach half their efficiency: efficiency x tokens / (tokens + half)
    fp8_layer_overhead_ns: float = 0.0
    decode_efficiency_half_tokens: float = 0.0
    prefill_efficiency_half_tokens: float = 0.0

    def tflops(self, compute_dtype: str) -> float:
        """Dense TFLOP/s for matrix work in ``compute_dtype`` (``bf16`` or ``fp8``)."""
        if compute_dtype == "fp8" and self.compute_tflops_fp8 is not None:
            return self.compute_tflops_fp8
        return self.compute_tflops


@dataclass(frozen=True)
class Switch:
    ports: int
    cost_usd: float
    power_w: float


@dataclass(frozen=True)
class Interconnect:
    name: str
    description: str
    link_bandwidth_gb_per_s: float
    links_per_node: int
    latency_ns: float
    reach_nodes: int
    rack_nodes: int
    energy_pj_per_bit: float
    port_cost_usd: float
    cable_cost_usd: float
    optics_cost_usd: float
    switch: Switch | None
    topologies: tuple[str, ...]
    node_types: tuple[str, ...] | None
    cost_basis: str
    source: str
    estimate: Estimate
    roles: tuple[str, ...] = ()                 # two-level networks: "domain" (scale-up), "fabric" (scale-out)
    domain_sizes: tuple[int, ...] = ()          # nodes per scale-up domain the tier is built in (role domain)
    fabric_links_per_node: int | None = None    # ports per node when the tier is the fabric (None: links_per_node)
    fabric_topologies: tuple[str, ...] | None = None  # topologies it is wired as when the fabric (None: all)
    # calibration (docs/calibration.md): fixed time of one small-message collective (all-reduce,
    # all-to-all) or pipeline hop, beyond the per-hop latency_ns; per topology kind where it differs
    collective_latency_ns: float = 0.0
    collective_latency_ns_by_topology: tuple[tuple[str, float], ...] = ()   # (topology kind, ns) pairs


@dataclass(frozen=True)
class Topology:
    name: str
    description: str
    kind: str
    dimensions: int
    source: str
    estimate: Estimate


@dataclass(frozen=True)
class MoE:
    """Routed experts of a mixture-of-experts model.

    ``expert_parameters`` counts every routed expert of every MoE layer; the rest of
    ``parameters`` (attention, embeddings, shared experts, dense layers) is read for every token.
    """

    experts: int                 # routed experts per MoE layer
    active_experts: int          # routed experts each token uses (top-k)
    expert_parameters: float     # parameters in all routed experts, all layers
    layers: int                  # MoE layers (the others are dense)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    parameters: float
    active_parameters: float
    kv_elements_per_token_per_layer: int | None
    moe: "MoE | None"
    source: str
    estimate: Estimate

    @property
    def kv_elements_per_layer(self) -> int:
        """Cached elements per token per layer: K and V of every KV head, unless overridden (MLA)."""
        if self.kv_elements_per_token_per_layer is not None:
            return self.kv_elements_per_token_per_layer
        return 2 * self.kv_heads * self.head_dim


@dataclass(frozen=True)
class Catalog:
    memory: Mapping[str, Memory]
    nodes: Mapping[str, Node]
    interconnects: Mapping[str, Interconnect]
    topologies: Mapping[str, Topology]
    models: Mapping[str, ModelSpec]
    directory: str

    def section(self, name: str) -> Mapping[str, Any]:
        return getattr(self, name)


# -- field readers shared by entry kinds -------------------------------------------
def _common(e: Entry) -> dict[str, Any]:
    name = e.string("name")
    if not NAME_RE.fullmatch(name):
        raise e.fail("name", "lower-case letters, digits, '.' and '-' (at most 64)", name)
    out = {"name": name, "description": e.string("description"), "source": e.string("source")}
    est = e.pop("estimate")
    if isinstance(est, bool):
        out["estimate"] = est
    elif isinstance(est, list) and est and all(isinstance(x, str) and x for x in est):
        out["estimate"] = tuple(est)
    else:
        raise e.fail("estimate", "true, false or a list of field names", est)
    return out


def _curve(e: Entry, field: str) -> Curve:
    c = e.child(field, kind="cost_curve").allow(field_names(Curve))
    if c.has("points") == c.has("die_yield"):
        raise c.message(None, "expected exactly one of 'points' or 'die_yield'")
    if c.has("points"):
        raw = c.pop("points")
        if not isinstance(raw, list) or not raw:
            raise c.fail("points", "a non-empty list of [quantity, usd] pairs", raw)
        pts: list[tuple[int, float]] = []
        q_range, usd_range = RANGES["cost_curve.points.quantity"], RANGES["cost_curve.points.usd"]
        expected = f"[quantity, usd] pairs, quantity {q_range.text()}, usd {usd_range.text()}"
        for p in raw:
            if not (isinstance(p, list) and len(p) == 2):
                raise c.fail("points", expected, p)
            q, usd = (check_number(x, r, lambda exp, found: c.fail("points", expected, p))
                      for x, r in zip(p, (q_range, usd_range)))
            p = [q, usd]
            if pts and p[0] <= pts[-1][0]:
                raise c.message("points", f"quantities must increase strictly, found {pts[-1][0]} then {p[0]}")
            pts.append((p[0], p[1]))
        c.done()
        return Curve(points=tuple(pts))
    d = c.child("die_yield").allow(field_names(DieYield))
    dy = DieYield(
        wafer_cost_usd=d.number("wafer_cost_usd"),
        wafer_diameter_mm=d.number("wafer_diameter_mm"),
        defect_density_per_cm2=d.number("defect_density_per_cm2"),
        logic_area_mm2=d.number("logic_area_mm2"),
        area_per_unit_mm2=d.number("area_per_unit_mm2"),
        reticle_area_mm2=d.number("reticle_area_mm2"),
        fixed_usd=d.number("fixed_usd", default=0),
    )
    d.done()
    c.done()
    if dy.logic_area_mm2 + dy.area_per_unit_mm2 > dy.reticle_area_mm2:
        raise d.message("reticle_area_mm2", "even one unit does not fit on the reticle")
    return Curve(die_yield=dy)


def _memory(e: Entry) -> Memory:
    e.allow(field_names(Memory))
    common = _common(e)
    m = Memory(
        attach=e.string("attach", choices=ATTACH),
        capacity_gb=e.number("capacity_gb"),
        bandwidth_gb_per_s=e.number("bandwidth_gb_per_s"),
        power_w=e.number("power_w"),
        max_units_per_node=e.number("max_units_per_node"),
        cost_basis=e.string("cost_basis", choices=COST_BASES),
        cost_usd=_curve(e, "cost_usd"),
        bandwidth_efficiency=_fraction(e, "bandwidth_efficiency"),
        **common,
    )
    e.done()
    return m


def _fraction(e: Entry, field: str) -> float:
    """An optional efficiency in (0, 1]; 1 (the roofline) when absent."""
    v = e.number(field, positive=True, default=1.0)
    if v > 1:
        raise e.fail(field, "a fraction in (0, 1]", v)
    return v


def _node(e: Entry) -> Node:
    e.allow(field_names(Node))
    common = _common(e)
    n = Node(
        memory=e.string_list("memory"),
        min_units=e.number("min_units", default=1),
        max_units=e.number("max_units"),
        compute_tflops=e.number("compute_tflops"),
        compute_tflops_fp8=e.number("compute_tflops_fp8", default=None),
        power_w=e.number("power_w"),
        cost_basis=e.string("cost_basis", choices=COST_BASES),
        cost_usd=_curve(e, "cost_usd"),
        layer_overhead_ns=e.number("layer_overhead_ns", minimum=0, default=0.0),
        decode_compute_efficiency=_fraction(e, "decode_compute_efficiency"),
        prefill_compute_efficiency=_fraction(e, "prefill_compute_efficiency"),
        fp8_layer_overhead_ns=e.number("fp8_layer_overhead_ns", minimum=0, default=0.0),
        decode_efficiency_half_tokens=e.number("decode_efficiency_half_tokens", minimum=0, default=0.0),
        prefill_efficiency_half_tokens=e.number("prefill_efficiency_half_tokens", minimum=0, default=0.0),
        **common,
    )
    if n.min_units > n.max_units:
        raise e.message("min_units", f"min_units {n.min_units} exceeds max_units {n.max_units}")
    e.done()
    return n


def _interconnect(e: Entry) -> Interconnect:
    e.allow(field_names(Interconnect))
    common = _common(e)
    switch = None
    if e.has("switch"):
        s = e.child("switch").allow(field_names(Switch))
        switch = Switch(ports=s.number("ports"),
                        cost_usd=s.number("cost_usd"), power_w=s.number("power_w"))
        s.done()
    i = Interconnect(
        link_bandwidth_gb_per_s=e.number("link_bandwidth_gb_per_s"),
        links_per_node=e.number("links_per_node"),
        latency_ns=e.number("latency_ns"),
        reach_nodes=e.number("reach_nodes"),
        rack_nodes=e.number("rack_nodes"),
        energy_pj_per_bit=e.number("energy_pj_per_bit"),
        port_cost_usd=e.number("port_cost_usd"),
        cable_cost_usd=e.number("cable_cost_usd"),
        optics_cost_usd=e.number("optics_cost_usd"),
        switch=switch,
        topologies=e.string_list("topologies"),
        node_types=e.string_list("node_types", default=None),
        cost_basis=e.string("cost_basis", choices=COST_BASES),
        collective_latency_ns=e.number("collective_latency_ns", minimum=0, default=0.0),
        collective_latency_ns_by_topology=_by_topology(e),
        **common,
        **_levels(e),
    )
    for t in i.fabric_topologies or ():
        if t not in i.topologies:
            raise e.message("fabric_topologies", f"{shown(t)} is not one of the tier's topologies")
    e.done()
    return i


ROLES = ("domain", "fabric")


#: the largest scale-up domain a catalog may state (the largest interconnect reach the ranges allow)
MAX_DOMAIN_NODES = 10**6


def _levels(e: Entry) -> dict[str, Any]:
    """The two-level fields of a tier: the roles it may play, its domain sizes, its ports as a fabric."""
    roles = e.string_list("roles", default=())
    for r in roles:
        if r not in ROLES:
            raise e.message("roles", f"unknown role {shown(r)} (known: {', '.join(ROLES)})")
    sizes = e.pop("domain_sizes", None)
    if sizes is not None:
        if (not isinstance(sizes, list) or not sizes
                or not all(isinstance(x, int) and not isinstance(x, bool) and 2 <= x <= MAX_DOMAIN_NODES
                           for x in sizes)):
            raise e.message("domain_sizes", f"expected a non-empty list of integers in [2, {MAX_DOMAIN_NODES:,}], "
                                            f"found {shown(sizes)}")
        if "domain" not in roles:
            raise e.message("domain_sizes", "given, but 'domain' is not in roles")
    elif "domain" in roles:
        raise e.message("domain_sizes", "missing: a tier with role 'domain' lists the domain sizes it is built in")
    fab = e.number("fabric_links_per_node", positive=True, integer=True, default=None)
    if fab is not None and "fabric" not in roles:
        raise e.message("fabric_links_per_node", "given, but 'fabric' is not in roles")
    fab_topos = e.string_list("fabric_topologies", default=None)
    if fab_topos is not None:
        if "fabric" not in roles:
            raise e.message("fabric_topologies", "given, but 'fabric' is not in roles")
    return {"roles": tuple(roles), "domain_sizes": tuple(sorted(set(sizes or ()))), "fabric_links_per_node": fab,
            "fabric_topologies": fab_topos}


def _by_topology(e: Entry) -> tuple[tuple[str, float], ...]:
    """Optional ``{topology kind: ns}``: a collective's fixed time where a topology kind differs from the tier's."""
    x = e.optional_child("collective_latency_ns_by_topology")
    if x is None:
        return ()
    x.allow(TOPOLOGY_KINDS)
    out = tuple((kind, x.number(kind, minimum=0)) for kind in TOPOLOGY_KINDS if x.has(kind))
    x.done()
    return out


def _topology(e: Entry) -> Topology:
    e.allow(field_names(Topology))
    common = _common(e)
    kind = e.string("kind", choices=TOPOLOGY_KINDS)
    if kind in ("torus", "mesh"):
        dims = e.number("dimensions")
        if dims not in (2, 3):
            raise e.fail("dimensions", "2 or 3", dims)
    else:
        dims = e.number("dimensions", default=1)
    t = Topology(kind=kind, dimensions=dims, **common)
    e.done()
    return t


def _model(e: Entry) -> ModelSpec:
    e.allow(field_names(ModelSpec))
    common = _common(e)
    m = ModelSpec(
        layers=e.number("layers"),
        hidden_size=e.number("hidden_size"),
        attention_heads=e.number("attention_heads"),
        kv_heads=e.number("kv_heads"),
        head_dim=e.number("head_dim"),
        parameters=e.number("parameters"),
        active_parameters=e.number("active_parameters"),
        kv_elements_per_token_per_layer=e.number("kv_elements_per_token_per_layer", default=None),
        moe=_moe(e),
        **common,
    )
    if m.active_parameters > m.parameters:
        raise e.message("active_parameters", f"{m.active_parameters:g} exceeds parameters {m.parameters:g}")
    if m.moe is not None:
        if m.moe.expert_parameters >= m.parameters:
            raise e.message("moe.expert_parameters", f"{m.moe.expert_parameters:g} is not below parameters "
                                                     f"{m.parameters:g} (attention and embeddings are not experts)")
        if m.moe.layers > m.layers:
            raise e.message("moe.layers", f"{m.moe.layers} exceeds the model's {m.layers} layers")
    e.done()
    return m


def _moe(e: Entry) -> MoE | None:
    x = e.optional_child("moe")
    if x is None:
        return None
    x.allow(field_names(MoE))
    moe = MoE(experts=x.number("experts"),
              active_experts=x.number("active_experts"),
              expert_parameters=x.number("expert_parameters"),
              layers=x.number("layers"))
    x.done()
    if moe.active_experts > moe.experts:
        raise x.message("active_experts", f"{moe.active_experts} exceeds experts {moe.experts}")
    return moe


def _check_estimate(e: Entry, item: Any) -> Any:
    """An estimate list may only name the entry's own figures."""
    if isinstance(item.estimate, tuple):
        known = {f.name for f in dataclasses.fields(item)} - {"name", "description", "source", "estimate"}
        for field in item.estimate:
            if field not in known:
                raise e.message("estimate", f"{shown(field)} is not a field of this entry (fields: {', '.join(sorted(known))})")
    return item


READERS = {"memory": _memory, "nodes": _node, "interconnects": _interconnect,
           "topologies": _topology, "models": _model}


def model_from_entry(e: Entry) -> ModelSpec:
    """Read an explicit model (the same fields as a ``models.yaml`` entry) from a problem file."""
    return _model(e)


def default_directory() -> Path:
    return Path(str(resources.files("archsearch") / "catalogs"))


def load_catalog(directory: Path | str | None = None, overrides: Mapping[str, Any] | None = None,
                 overrides_file: str = "problem") -> Catalog:
    """Load the five catalog files of ``directory`` (default: the bundled catalogs).

    ``overrides`` is ``{section: {entry name: {field: value}}}``, applied to the raw
    entries before they are typed; naming an unknown section or entry is a ProblemError.
    """
    directory = Path(directory) if directory is not None else default_directory()
    if not directory.is_dir():
        raise CatalogError(f"{directory}: catalog directory not found")
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ProblemError(f"{overrides_file}: overrides: expected a mapping of catalog sections, found {describe(overrides)}")
    overrides = dict(overrides or {})
    for section in overrides:
        if section not in FILES:
            near = difflib.get_close_matches(str(section), FILES, n=1)
            raise ProblemError(f"{overrides_file}: overrides.{key_text(section)}: unknown catalog section "
                               f"(expected one of {', '.join(FILES)})" + (f" (did you mean '{near[0]}'?)" if near else ""))
    loaded: dict[str, dict[str, Any]] = {}
    for section in FILES:
        path = directory / f"{section}.yaml"
        raw = read_yaml_cached(path, CatalogError)
        label = str(path)
        sec_over = overrides.get(section) or {}
        if not isinstance(sec_over, dict):
            raise ProblemError(f"{overrides_file}: overrides.{section}: expected a mapping of entry names, "
                               f"found {type(sec_over).__name__}")
        items = raw.get(section) if isinstance(raw, dict) else None
        if sec_over and isinstance(items, list):
            names = {it["name"]: it for it in items if isinstance(it, dict) and isinstance(it.get("name"), str)}
            for name, fields in sec_over.items():
                if not isinstance(name, str) or name not in names:
                    near = difflib.get_close_matches(name, list(names), n=1) if isinstance(name, str) else []
                    raise ProblemError(f"{overrides_file}: overrides.{section}.{key_text(name)}: no such {section} "
                                       f"entry in {path}" + (f" (did you mean '{near[0]}'?)" if near else ""))
                if not isinstance(fields, dict):
                    raise ProblemError(f"{overrides_file}: overrides.{section}.{name}: expected a mapping "
                                       f"of fields, found {type(fields).__name__}")
                names[name].update(copy.deepcopy(fields))
            label = f"{path} (with overrides from {overrides_file})"
        out: dict[str, Any] = {}
        for e in entries(raw, label, section, CatalogError):
            item = _check_estimate(e, READERS[section](e))
            if item.name in out:
                raise CatalogError(f"{label}: {section}[{item.name}]: name: duplicate entry name")
            out[item.name] = item
        loaded[section] = out
    cat = Catalog(directory=str(directory), **loaded)
    _check_references(cat, directory, overrides, overrides_file)
    return cat


def _check_references(cat: Catalog, directory: Path, overrides: Mapping[str, Any] | None = None,
                      overrides_file: str = "problem") -> None:
    """Names one entry gives of another must exist.  A broken name a problem's ``overrides`` wrote is blamed
    on the problem file and the override's path, not on the installed catalog."""
    overrides = overrides or {}

    def fail(section: str, name: str, field: str, text: str) -> Exception:
        over = (overrides.get(section) or {}).get(name) or {}
        if isinstance(over, dict) and field in over:
            return ProblemError(f"{overrides_file}: overrides.{section}.{name}.{field}: {text}")
        return CatalogError(f"{directory / (section + '.yaml')}: {section}[{name}]: {field}: {text}")

    for node in cat.nodes.values():
        for m in node.memory:
            if m not in cat.memory:
                raise fail("nodes", node.name, "memory", f"unknown memory {shown(m)} (known: {', '.join(sorted(cat.memory))})")
    for ic in cat.interconnects.values():
        for nt in ic.node_types or ():
            if nt not in cat.nodes:
                raise fail("interconnects", ic.name, "node_types",
                           f"unknown node type {shown(nt)} (known: {', '.join(sorted(cat.nodes))})")
        for t in ic.topologies:
            if t not in cat.topologies:
                raise fail("interconnects", ic.name, "topologies",
                           f"unknown topology {shown(t)} (known: {', '.join(sorted(cat.topologies))})")
