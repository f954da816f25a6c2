"""The catalog as a report: one row per entry (figures, price in words and its cost basis, estimate mark,
source) and its table, for ``archsearch catalog``; pure functions, nothing printed."""

from __future__ import annotations

from typing import Any

from rich.console import Group

from .catalog import Catalog
from .report import WIDE
from .tables import Column, fit_tables
from .units import format_usd


def catalog_rows(cat: Catalog, section: str | None = None, basis: str | None = None,
                 market_over_build: float = 3.0) -> list[dict[str, Any]]:
    """One row per catalog entry: its figures (numeric fields, as in the YAML), its price in words and the
    cost basis of that price (converted to ``basis`` with ``market_over_build`` when given)."""
    import dataclasses
    rows = []
    for sec in ("memory", "nodes", "interconnects", "topologies", "models"):
        if section and sec != section:
            continue
        for e in cat.section(sec).values():
            figures = {k: v for k, v in dataclasses.asdict(e).items()
                       if k not in ("name", "description", "source", "estimate")}
            own = getattr(e, "cost_basis", None)
            factor = 1.0
            if basis and own and own != basis:
                factor = market_over_build if basis == "market" else 1 / market_over_build
            rows.append({"section": sec, "name": e.name, "summary": _summary(sec, e),
                         "price": _price(sec, e, factor, basis or own) if own else "",
                         "price_basis": (basis or own) if own else None, "price_factor": factor if own else None,
                         "figures": figures, "estimate": e.estimate, "source": e.source})
    return rows


def _curve_words(curve, factor: float, unit: str) -> str:
    if curve.points is None:
        dy = curve.die_yield
        return f"die-yield model (wafer {format_usd(dy.wafer_cost_usd * factor)}, +{format_usd(dy.fixed_usd * factor)})"
    (q0, c0), (q1, c1) = curve.points[0], curve.points[-1]
    if q0 == q1:
        return f"{format_usd(c0 * factor)} at {q0} {unit}"
    return f"{format_usd(c0 * factor)} at {q0} to {format_usd(c1 * factor)} at {q1} {unit}"


def _price(sec: str, e: Any, factor: float, basis: str) -> str:
    """An entry's price in words, on ``basis``."""
    if sec == "memory":
        return f"{_curve_words(e.cost_usd, factor, 'units')} ({basis})"
    if sec == "nodes":
        return f"{_curve_words(e.cost_usd, factor, 'units')} ({basis})"
    sw = f", switch {format_usd(e.switch.cost_usd * factor)}" if e.switch else ""
    return (f"port {format_usd(e.port_cost_usd * factor)}, cable {format_usd(e.cable_cost_usd * factor)}, optics "
            f"{format_usd(e.optics_cost_usd * factor)}{sw} ({basis})")


def _summary(sec: str, e: Any) -> str:
    if sec == "memory":
        return (f"{e.capacity_gb:g} GB, {e.bandwidth_gb_per_s:,g} GB/s per unit, <= {e.max_units_per_node} "
                f"per node, {e.attach}")
    if sec == "nodes":
        return f"{'/'.join(e.memory)}, {e.min_units}-{e.max_units} units, {e.compute_tflops:,g} TFLOP/s"
    if sec == "interconnects":
        return (f"{e.links_per_node} x {e.link_bandwidth_gb_per_s:g} GB/s per dir, {e.latency_ns:g} ns, "
                f"reach {e.reach_nodes:,}, {'/'.join(e.topologies)}")
    if sec == "topologies":
        return e.kind + (f" {e.dimensions}-D" if e.kind in ("torus", "mesh") else "")
    moe = f", MoE {e.moe.active_experts} of {e.moe.experts} experts" if e.moe else ""
    return (f"{e.layers} layers, {e.kv_heads} KV heads x {e.head_dim}, {e.parameters / 1e9:,.1f}B params "
            f"({e.active_parameters / 1e9:,.1f}B active{moe})")


def catalog_table(cat: Catalog, section: str | None = None, width: int = WIDE, basis: str | None = None,
                  market_over_build: float = 3.0) -> Group:
    """Every entry with its figures, price (and the cost basis it is in), estimate mark and source."""
    title = f"catalog {cat.directory}" + (
        f" (prices in {basis} dollars; market = build x {market_over_build:g})" if basis else
        " (prices as each entry states them: build = estimated manufacturing cost, market = street price)")
    cols = [Column("section", key=False), Column("name", key=True), Column("figures"), Column("price"),
            Column("estimate"), Column("source")]
    rows = []
    for r in catalog_rows(cat, section, basis, market_over_build):
        est = r["estimate"]
        est_s = ("yes" if est else "no") if isinstance(est, bool) else ", ".join(est)
        rows.append([r["section"], r["name"], r["summary"], r["price"] or "-", est_s, r["source"]])
    return Group(*fit_tables(title, cols, rows, width, more_title="the same entries, continued"))
