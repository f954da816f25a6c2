"""The per-level table of two-level designs: each design's domain and fabric, with their cost, items, links
and communication time per token (the JSON ``levels`` field, as rows a reader can scan)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from .tables import Column, fit_tables
from .units import format_usd

TITLE = "the two levels of each two-level design (nodes: domains x nodes per domain, and all nodes on the fabric)"
COLUMNS = (Column("#", "right", key=True), Column("level"), Column("network"), Column("nodes", "right"),
           Column("cost", "right"), Column("items"), Column("GB/s per node", "right"),
           Column("comm ms/token", "right"), Column("hops", "right"))


def span_words(dom: dict[str, Any]) -> str:
    """', TP over 2' when a design's TP group covers whole domains (a JSON ``levels.domain`` row), else ''."""
    return f", TP over {dom['domains_per_tp_group']}" if dom.get("domains_per_tp_group", 1) > 1 else ""


def _items(items: dict[str, int]) -> str:
    """'64 ports, 48 optical links, 1 switch': each item count with its name, singular for one."""
    def name(label: str, n: int) -> str:
        return label if n != 1 else label[:-2] if label.endswith("switches") else label[:-1]
    return ", ".join(f"{n:,} {name(label, n)}" for label, n in items.items() if n) or "-"


def level_rows(rank: str, row: dict[str, Any]) -> list[list[str]]:
    """The two rows (domain, fabric) of one design row with ``levels`` (``report.design_row``)."""
    lv = row["levels"]
    dom, fab = lv["domain"], lv["fabric"]
    sizes = {"domain": f"{dom['domains']}x{dom['nodes_per_domain']}{span_words(dom)}", "fabric": f"{row['nodes']}"}
    out = []
    for name, x in (("domain", dom), ("fabric", fab)):
        lvl = f" L{x['fat_tree_levels']}" if x["fat_tree_levels"] else ""
        out.append([rank, name, f"{x['interconnect']} {x['topology']}{lvl}", sizes[name],
                    format_usd(x["cost_usd"]), _items(x["items"]),
                    f"{x['link_bandwidth_bytes_per_s_per_node'] / 1e9:,.0f}",
                    f"{x['time_per_token_comm_s'] * 1e3:,.3g}", str(x["pipeline_hops"])])
    return out


def levels_tables(ranked: list[tuple[str, dict[str, Any]]], width: int) -> list[Table]:
    """One table of every two-level design's levels (none when no design has two levels).  ``ranked``:
    (rank cell, design row) pairs in the order of the designs table."""
    rows = [r for rank, row in ranked if row.get("levels") for r in level_rows(rank, row)]
    return fit_tables(TITLE, list(COLUMNS), rows, width) if rows else []
