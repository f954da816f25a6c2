"""Reference designs: real machines written as archsearch designs, with the figures their makers publish.

They live in ``designs.yaml`` next to the catalog files (optional in a user's
catalog folder).  Each entry names its parts from the catalog, so a reference
design is evaluated with exactly the equations the search uses, and the search
can find the same machine.  ``compare`` evaluates every reference design on a
problem and returns them beside the search's top designs; ``totals`` gives the
derived figures the validation tests hold against the published ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

from .catalog import default_directory
from .errors import CatalogError, InfeasibleError, UsageError
from .evaluate import DesignSpec, Evaluation, check_levels, evaluate_fixed, parse_design
from .solve import SolveResult, solve
from .units import gb_to_bytes
from .ranges import RANGES
from .yamlio import Entry, check_number, entries, read_yaml_cached, shown

FILE = "designs.yaml"
PRICE_COVERS = ("system", "accelerators")
PUBLISHED_FIELDS = ("memory_capacity_gb", "memory_bandwidth_tb_per_s", "interconnect_tb_per_s", "price_usd")


@dataclass(frozen=True)
class Published:
    """Figures the maker (or a cited analyst) publishes for the whole machine; None where none is published."""

    memory_capacity_gb: Optional[float]
    memory_bandwidth_tb_per_s: Optional[float]
    interconnect_tb_per_s: Optional[float]          # every node's scale-up links, both directions summed
    price_usd: Optional[tuple[float, float]]        # market price range (low, high)
    price_covers: str                               # "system" (whole machine) or "accelerators" (chips only)


@dataclass(frozen=True)
class Reference:
    name: str
    description: str
    source: str
    estimate: Any
    independent: tuple[str, ...]        # published figures the catalog parts were not derived from
    spec: DesignSpec
    published: Published


#: the fields of a designs.yaml entry, of its design and of its published figures (docs/validation.md)
DESIGN_ENTRY_FIELDS = ("name", "description", "source", "estimate", "independent", "design", "published")
DESIGN_FIELDS = ("memory", "units", "node", "nodes", "tp", "interconnect", "topology", "domain", "fabric",
                 "fabric_topology")
PUBLISHED_ENTRY_FIELDS = ("memory_capacity_gb", "memory_bandwidth_tb_per_s", "interconnect_tb_per_s", "price_usd",
                          "price_covers")


def _spec(e: Entry) -> DesignSpec:
    d = e.child("design").allow(DESIGN_FIELDS)
    spec = DesignSpec(
        memory=d.string("memory"), units=d.number("units"),
        node=d.string("node", default=None), nodes=d.number("nodes"),
        tensor_parallel=d.number("tp", default=1),
        interconnect=d.string("interconnect", default=None), topology=d.string("topology", default=None),
        domain=d.number("domain", default=None), fabric=d.string("fabric", default=None),
        fabric_topology=d.string("fabric_topology", default=None))
    d.done()
    try:
        check_levels(spec, f"{d.file}: {d.entry}")
    except UsageError as exc:
        raise CatalogError(str(exc)) from None
    if spec.nodes % spec.tensor_parallel:
        raise d.message("tp", f"tp {spec.tensor_parallel} does not divide nodes {spec.nodes}")
    if spec.nodes > 1 and (spec.interconnect is None or spec.topology is None):
        raise d.message("interconnect", "more than one node needs an interconnect and a topology")
    return spec


def _price(p: Entry) -> Optional[tuple[float, float]]:
    """``price_usd``: one price or a published range ``[low, high]`` (market basis)."""
    raw = p.pop("price_usd", None)
    if raw is None:
        return None
    pair = raw if isinstance(raw, list) else [raw, raw]
    rng = RANGES["designs.published.price_usd"]
    expected = f"a price or a range [low, high], each {rng.text()}"
    if len(pair) != 2:
        raise p.fail("price_usd", expected, raw)
    low, high = (check_number(x, rng, lambda exp, found: p.fail("price_usd", expected, raw)) for x in pair)
    if low > high:
        raise p.fail("price_usd", expected, raw)
    return float(low), float(high)


def _reference(e: Entry) -> Reference:
    e.allow(DESIGN_ENTRY_FIELDS)
    name = e.string("name")
    description, source = e.string("description"), e.string("source")
    estimate = e.pop("estimate")
    if not (isinstance(estimate, bool) or (isinstance(estimate, list) and all(isinstance(x, str) for x in estimate))):
        raise e.fail("estimate", "true, false or a list of published field names", estimate)
    independent = e.string_list("independent", default=())
    for f in independent:
        if f not in PUBLISHED_FIELDS:
            raise e.message("independent", f"{shown(f)} is not a published figure ({', '.join(PUBLISHED_FIELDS)})")
    spec = _spec(e)
    p = e.child("published").allow(PUBLISHED_ENTRY_FIELDS)
    pub = Published(
        memory_capacity_gb=p.number("memory_capacity_gb", default=None),
        memory_bandwidth_tb_per_s=p.number("memory_bandwidth_tb_per_s", default=None),
        interconnect_tb_per_s=p.number("interconnect_tb_per_s", default=None),
        price_usd=_price(p), price_covers=p.string("price_covers", choices=PRICE_COVERS, default="system"))
    p.done()
    e.done()
    return Reference(name, description, source, estimate, independent, spec, pub)


def load_references(directory: Path | str | None = None) -> list[Reference]:
    """The reference designs of a catalog folder (default: the bundled one); none if it has no designs.yaml."""
    path = Path(directory if directory is not None else default_directory()) / FILE
    if not path.is_file():
        return []
    out: list[Reference] = []
    for e in entries(read_yaml_cached(path, CatalogError), str(path), "designs", CatalogError):
        r = _reference(e)
        if any(r.name == o.name for o in out):
            raise CatalogError(f"{path}: designs[{r.name}]: name: duplicate entry name")
        out.append(r)
    return out


@dataclass(frozen=True)
class Totals:
    """A design's whole-machine figures in the units makers publish them in."""

    memory_capacity_gb: float
    memory_bandwidth_tb_per_s: float
    interconnect_tb_per_s: float
    price_usd: float                 # the whole design: nodes and network
    accelerators_usd: float          # the nodes alone
    power_kw: float


def totals(ev: Evaluation) -> Totals:
    m = ev.design.metrics
    return Totals(
        memory_capacity_gb=float(Fraction(m.capacity_bytes, gb_to_bytes(1))),
        memory_bandwidth_tb_per_s=m.bandwidth_bytes_per_s / 1e12,
        interconnect_tb_per_s=float(m.link_bandwidth_bytes_per_s) / 1e12,
        price_usd=float(m.cost_usd),
        accelerators_usd=float(m.node_cost_usd),
        power_kw=float(m.power_w) / 1e3)


@dataclass(frozen=True)
class Compared:
    reference: Reference
    evaluation: Optional[Evaluation]     # None when the problem's catalog lacks a part of the design
    skipped: Optional[str]


@dataclass(frozen=True)
class Comparison:
    references: tuple[Compared, ...]
    search: Optional[SolveResult]        # None when the problem has no feasible design
    infeasible: Optional[str]


def design_spec(text: str, directory: Path | str | None = None) -> DesignSpec:
    """``--design``: key=value pairs, or the name of a reference design of the catalog folder."""
    if "=" not in text:
        refs = {r.name: r for r in load_references(directory)}
        if text.strip() not in refs:
            raise UsageError(f"--design: {shown(text)} is neither key=value pairs nor a reference design "
                             f"(reference designs: {', '.join(refs) or 'none'})")
        return refs[text.strip()].spec
    return parse_design(text)


def evaluate_reference(problem, ref: Reference, best=None) -> Evaluation:
    """One reference design on one problem (``best``: the search's best design, for the ratio)."""
    return evaluate_fixed(problem, ref.spec, best)


def compare(problem, top_k: int = 5, directory: Path | str | None = None) -> Comparison:
    """Every reference design of the problem's catalog folder, evaluated, beside the search's top ``top_k``."""
    refs = load_references(directory if directory is not None else problem.catalog.directory)
    try:
        result, why = solve(problem, top_k=top_k), None
    except InfeasibleError as exc:
        result, why = None, str(exc)
    best = result.designs[0] if result else None
    out = []
    for ref in refs:
        try:
            out.append(Compared(ref, evaluate_reference(problem, ref, best), None))
        except UsageError as exc:  # a user catalog without this machine's parts
            out.append(Compared(ref, None, str(exc).replace("--design: ", "")))
    return Comparison(tuple(out), result, why)
