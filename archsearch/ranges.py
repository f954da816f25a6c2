"""The physical range of every numeric field of catalogs, problems and designs: stated once, here.

The loaders (``yamlio.Entry.number``) look a field up in ``RANGES`` by its kind and name
(``memory.capacity_gb``, ``workload.context_length``) and refuse a value outside the range
with one line naming file, entry, field, the allowed range and the value found.  Adding a
field is one line in the table; ``python -m archsearch.ranges`` writes ``docs/field-ranges.md``
from it (``python benchmarks/field_ranges.py`` does the same; a test fails when that page is stale).

Why these bounds (derivation)
-----------------------------
CP-SAT takes integer coefficients and bounds whose products stay within 2^62 (``scaling.INT_LIMIT``,
about 4.61e18); ``scaling.check_linear`` refuses any linear expression that would pass it.  The
ranges make every figure physical and keep the model inside that guard for figures written with a
sensible number of significant digits:

* Counts.  Nodes per machine are at most ``interconnects.reach_nodes`` <= 10^6 (``constraints.max_nodes``
  above every tier's reach is clamped to it, see ``problem.py``), units per node <= 10^4, so one
  design holds at most 10^10 units (< 2^34).
* Cost.  Costs enter the model in whole dollars (``units.usd``).  A unit or node price is at most
  $10^7 per point of a cost curve; a design costs at most 10^6 nodes x (10^4 units x $10^7 + $10^7
  for the node, ports, cables, optics and its share of switches), about 10^17 < 2^62 / 46: the
  budget row fits with room for the handful of extra terms the model adds.
* Rates and sizes.  Per-unit bandwidth <= 10^9 GB/s (10^18 B/s), capacity <= 10^6 GB, parameters
  <= 10^15, tokens <= 2^30 per context: every product the physics forms (at most six such figures)
  stays below 10^100, far inside float range (1.8e308), and no figure is so small (lower bounds
  such as 10^-6) that a ratio of two of them leaves float range either.
* Precision.  A figure with many significant digits (``0.1234567891234``) has a fine common
  unit, and may still push a scaled column past 2^62; the guard then fails with its own one-line
  ``SolverError`` (exit 3) naming the row, never a wrong answer.
* Python.  Integers longer than ``MAX_DIGITS`` digits are refused as text before Python's
  int-string limit (4,300 digits) can raise, and every bound here is finite, so NaN and
  infinities are refused with the rest.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

#: the most digits a number in an input file or on the command line may have (far below Python's 4,300)
MAX_DIGITS = 40


@dataclass(frozen=True)
class Range:
    """Allowed values of one numeric field: ``lo <= x <= hi`` (``lo < x`` when ``lo_open``)."""

    lo: float
    hi: float
    integer: bool = False
    lo_open: bool = False
    unit: str = ""

    def contains(self, x: int | float) -> bool:
        if isinstance(x, float) and not math.isfinite(x):
            return False
        if self.integer and not (x.denominator == 1 if isinstance(x, Fraction) else
                                 isinstance(x, int) or float(x).is_integer()):
            return False
        above = x > self.lo if self.lo_open else x >= self.lo
        return above and x <= self.hi

    def text(self) -> str:
        """The range as messages and the docs page show it: ``an integer in [1, 10,000]``."""
        kind = "an integer" if self.integer else "a number"
        left = "(" if self.lo_open else "["
        return f"{kind} in {left}{_g(self.lo)}, {_g(self.hi)}]"


def _g(x: float) -> str:
    if x == int(x) and abs(x) < 10**13:
        return f"{int(x):,}"
    return f"{x:g}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")


def R(lo: float, hi: float, unit: str = "", *, integer: bool = False, lo_open: bool = False) -> Range:
    return Range(lo, hi, integer, lo_open, unit)


def I(lo: int, hi: int, unit: str = "") -> Range:  # noqa: E743 - short name keeps the table one line per field
    return Range(lo, hi, True, False, unit)


CPSAT_SEED_MAX = 2**31 - 1  # CP-SAT's random_seed is an int32

#: kind.field -> range.  Kinds: catalog sections (memory, nodes, interconnects, topologies, models) and their
#: sub-mappings (``interconnects.switch``, ``models.moe``), cost curves (``cost_curve``), the sections of a
#: problem (workload, constraints, ...) and reference designs (``designs.*``).
RANGES: dict[str, Range] = {
    # memory.yaml: one unit of a memory medium
    "memory.capacity_gb": R(1e-6, 1e6, "GB", lo_open=False),
    "memory.bandwidth_gb_per_s": R(1e-6, 1e9, "GB/s"),  # a wafer-scale SRAM part: 2.1e7
    "memory.power_w": R(0, 1e5, "W"),
    "memory.max_units_per_node": I(1, 10**4),
    "memory.bandwidth_efficiency": R(1e-6, 1, "fraction"),  # calibrated: streaming share of the datasheet figure
    # nodes.yaml
    "nodes.min_units": I(1, 10**4),
    "nodes.max_units": I(1, 10**4),
    "nodes.compute_tflops": R(1e-6, 1e7, "TFLOP/s"),
    "nodes.compute_tflops_fp8": R(1e-6, 1e7, "TFLOP/s"),
    "nodes.power_w": R(0, 1e6, "W"),
    "nodes.layer_overhead_ns": R(0, 1e9, "ns"),  # calibrated: fixed time per layer per step (<= 1 s)
    "nodes.decode_compute_efficiency": R(1e-6, 1, "fraction"),
    "nodes.prefill_compute_efficiency": R(1e-6, 1, "fraction"),
    "nodes.fp8_layer_overhead_ns": R(0, 1e9, "ns"),  # calibrated: extra time per layer in FP8 (quantisation)
    "nodes.decode_efficiency_half_tokens": R(0, 1e7, "tokens"),  # calibrated: batch-aware decode efficiency
    "nodes.prefill_efficiency_half_tokens": R(0, 1e7, "tokens"),  # calibrated: prompt-length-aware prefill
    # cost curves (any entry's cost_usd): points [quantity, usd] or a die-yield model
    "cost_curve.points.quantity": I(0, 10**4, "units"),
    "cost_curve.points.usd": R(0, 1e7, "USD"),
    "cost_curve.die_yield.wafer_cost_usd": R(1, 1e7, "USD"),
    "cost_curve.die_yield.wafer_diameter_mm": R(1, 1000, "mm"),
    "cost_curve.die_yield.defect_density_per_cm2": R(0, 100, "per cm^2"),
    "cost_curve.die_yield.logic_area_mm2": R(0, 1e5, "mm^2"),
    "cost_curve.die_yield.area_per_unit_mm2": R(1e-3, 1e5, "mm^2"),
    "cost_curve.die_yield.reticle_area_mm2": R(1e-3, 1e5, "mm^2"),
    "cost_curve.die_yield.fixed_usd": R(0, 1e7, "USD"),
    # interconnects.yaml
    "interconnects.link_bandwidth_gb_per_s": R(1e-6, 1e6, "GB/s"),
    "interconnects.links_per_node": I(1, 10**4),
    "interconnects.latency_ns": R(0, 1e9, "ns"),
    "interconnects.reach_nodes": I(1, 10**6, "nodes"),
    "interconnects.rack_nodes": I(1, 10**6, "nodes"),
    "interconnects.energy_pj_per_bit": R(0, 1e4, "pJ/bit"),
    "interconnects.port_cost_usd": R(0, 1e7, "USD"),
    "interconnects.cable_cost_usd": R(0, 1e7, "USD"),
    "interconnects.optics_cost_usd": R(0, 1e7, "USD"),
    "interconnects.fabric_links_per_node": I(1, 10**4),  # two levels: ports per node into the fabric
    "interconnects.collective_latency_ns": R(0, 1e9, "ns"),  # calibrated: fixed time of one collective
    "interconnects.collective_latency_ns_by_topology.ring": R(0, 1e9, "ns"),
    "interconnects.collective_latency_ns_by_topology.torus": R(0, 1e9, "ns"),
    "interconnects.collective_latency_ns_by_topology.mesh": R(0, 1e9, "ns"),
    "interconnects.collective_latency_ns_by_topology.fat_tree": R(0, 1e9, "ns"),
    "interconnects.collective_latency_ns_by_topology.dragonfly": R(0, 1e9, "ns"),
    "interconnects.collective_latency_ns_by_topology.switch": R(0, 1e9, "ns"),
    "interconnects.collective_latency_ns_by_topology.all_to_all": R(0, 1e9, "ns"),
    "interconnects.switch.ports": I(1, 10**5),
    "interconnects.switch.cost_usd": R(0, 1e7, "USD"),
    "interconnects.switch.power_w": R(0, 1e6, "W"),
    # topologies.yaml
    "topologies.dimensions": I(1, 3),
    # models.yaml (and a model written in a problem)
    "models.layers": I(1, 10**4),
    "models.hidden_size": I(1, 10**7),
    "models.attention_heads": I(1, 10**5),
    "models.kv_heads": I(1, 10**5),
    "models.head_dim": I(1, 10**5),
    "models.parameters": R(1, 1e15, "parameters"),
    "models.active_parameters": R(1, 1e15, "parameters"),
    "models.kv_elements_per_token_per_layer": I(1, 10**9),
    "models.moe.experts": I(1, 10**6),
    "models.moe.active_experts": I(1, 10**6),
    "models.moe.expert_parameters": R(1, 1e15, "parameters"),
    "models.moe.layers": I(1, 10**4),
    # a problem's workload
    "workload.context_length": I(1, 2**30, "tokens"),
    "workload.concurrency": I(1, 10**8, "requests"),
    "workload.output_tokens_per_request": I(1, 2**30, "tokens"),
    "workload.min_decode_tokens_per_s_per_user": R(0, 1e6, "tokens/s"),
    "workload.prompt_tokens": I(0, 2**30, "tokens"),
    "workload.prefill_compute_efficiency": R(1e-6, 1, "fraction"),
    "workload.kv_read_fraction": R(1e-6, 1, "fraction"),
    "workload.speculative.draft_tokens": I(1, 1000, "tokens"),
    "workload.speculative.accepted_tokens_per_step": R(1, 1001, "tokens"),
    "workload.speculative.draft_parameters": R(0, 1e15, "parameters"),
    "workload.kv_swap.idle_requests": I(1, 10**9, "requests"),
    "workload.kv_swap.node_io_gb_per_s": R(1e-6, 1e6, "GB/s"),
    # constraints
    "constraints.max_nodes": I(1, 10**12, "nodes"),
    "constraints.budget_usd": R(1, 1e15, "USD"),
    "constraints.max_power_w": R(1, 1e12, "W"),
    "constraints.capacity_overhead_fraction": R(0, 100, "fraction"),
    "constraints.max_tensor_parallel": I(1, 10**6),
    "constraints.max_ttft_ms": R(1e-6, 1e9, "ms"),
    "constraints.balance.tensor_parallel_ratio": R(0, 1e6),
    "constraints.balance.pipeline_parallel_ratio": R(0, 1e6),
    "constraints.balance.comm_time_ratio": R(1e-6, 1e6),
    # cost settings
    "cost.market_over_build": R(1e-2, 100),
    "cost.amortisation_years": R(1e-2, 100, "years"),
    # search settings (the command line checks --workers against this machine's cores as well)
    "search.top_k": I(1, 1000, "designs"),
    "search.time_limit_s": R(1e-3, 1e7, "s"),
    "search.seed": I(0, CPSAT_SEED_MAX),
    "search.workers": I(1, 1024),
    # reference designs (designs.yaml) and --design
    "designs.design.units": I(1, 10**4),
    "designs.design.nodes": I(1, 10**6),
    "designs.design.tp": I(1, 10**6),
    "designs.design.domain": I(2, 10**6),  # two levels: nodes per scale-up domain
    "designs.published.memory_capacity_gb": R(1e-6, 1e9, "GB"),
    "designs.published.memory_bandwidth_tb_per_s": R(1e-6, 1e9, "TB/s"),
    "designs.published.interconnect_tb_per_s": R(1e-6, 1e9, "TB/s"),
    "designs.published.price_usd": R(1, 1e12, "USD"),
}

#: how a kind is written in a problem file, for the docs page (sections of a problem, catalog files)
_WHERE = {"memory": "memory.yaml", "nodes": "nodes.yaml", "cost_curve": "any cost_usd curve",
          "interconnects": "interconnects.yaml", "topologies": "topologies.yaml", "models": "models.yaml / problem model",
          "workload": "problem", "constraints": "problem", "cost": "problem", "search": "problem",
          "designs": "designs.yaml"}


def lookup(kind: str | None, field: str) -> Range | None:
    """The range of ``field`` in an entry of ``kind``, or None when the table has none."""
    if kind is None:
        return None
    return RANGES.get(f"{kind}.{field}")


def markdown() -> str:
    """``docs/field-ranges.md``: the table above as a page."""
    lines = ["# Field ranges", "",
             "<!-- generated by `python benchmarks/field_ranges.py`; edit archsearch/ranges.py, not this page -->", "",
             "Every numeric field of the catalogs, problems and reference designs must lie in its range; a value",
             "outside it (or NaN, an infinity, or a number of more than "
             f"{MAX_DIGITS} digits) is refused when the file is",
             "loaded, with one line naming the file, the entry, the field, the range and the value found.",
             "The same ranges apply to `--set` and to every `sweep` value. Why the bounds are where they are",
             "(CP-SAT's 2^62 limit, float range) is derived in the docstring of `archsearch/ranges.py`; numbers",
             "may be written `2e6`, `32k`, `1M` or `32_768` (see [Reliability](reliability.md#numbers)).",
             "`constraints.max_nodes` above the largest `reach_nodes` of the catalog is clamped to it, and",
             "the report says so.", "",
             "| where | field | allowed | unit |", "|---|---|---|---|"]
    for key, r in RANGES.items():
        kind = key.split(".", 1)[0]
        field = key.split(".", 1)[1] if kind in ("workload", "constraints", "cost", "search") else key.split(".", 1)[1]
        where = _WHERE.get(kind, kind)
        shown = f"{kind}.{field}" if where == "problem" else field
        lines.append(f"| {where} | `{shown}` | {r.text()} | {r.unit} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the docs page (``python -m archsearch.ranges [PATH]``, default ``docs/field-ranges.md``)."""
    from .yamlio import write_atomic
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else Path("docs") / "field-ranges.md"
    write_atomic(path, markdown())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
