"""Reports: pure functions from a ``SolveResult`` to rows, a JSON document and rich renderables.

JSON and tables come from the same rows; nothing here prints.  JSON uses SI
units (bytes, bytes/s, seconds, USD, W) with the unit in every field name.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from .level_report import levels_tables, span_words
from .tables import Column, fit_tables, fits
from .physics import tightest
from .solve import RankedDesign, SolveResult
from .units import format_bytes, format_usd, tb_per_s_per_million_usd, usd_exact_str

SCHEMA_VERSION = 1


def _f(x: Fraction | int | float) -> float:
    return float(x)


def _costs(**costs: Fraction) -> dict[str, Any]:
    """Each exact cost twice: ``<name>_usd`` as a float (for arithmetic) and ``<name>_usd_exact`` as the exact
    decimal or fraction (``"2429.15"``, ``"7286/3"``): costs are exact fractions of dollars, never rounded."""
    out: dict[str, Any] = {}
    for name, x in costs.items():
        out[f"{name}_usd"] = _f(x)
        out[f"{name}_usd_exact"] = usd_exact_str(x)
    return out


def basis_words(cost) -> str:
    """The cost basis in words, as every title and JSON document states it."""
    k = f"{float(cost.market_over_build):g}"
    if cost.basis == "build":
        return f"build cost: estimated manufacturing cost, market price / {k}"
    return f"market cost: street price, build cost x {k}"


def distinct_words(distinct: str) -> str:
    """What ``--distinct`` made the ranks differ in."""
    return {"architecture": "designs distinct by memory medium, interconnect and machine topology",
            "medium": "designs distinct by memory medium",
            "design": "designs distinct by any decision"}[distinct]


def design_row(rd: RankedDesign) -> dict[str, Any]:
    d, m = rd.design, rd.metrics
    net = d.net
    return {
        "rank": rd.rank,
        "memory": d.mem.memory.name,
        "node": d.mem.node.name,
        "units_per_node": d.mem.units,
        "nodes": d.nodes,
        "tensor_parallel": d.tensor_parallel,
        "pipeline_parallel": d.pipeline_parallel,
        "topology": d.wiring.name if net.topology else "none",       # the machine (coinciding topologies identified)
        "wired_as": net.topology.name if net.topology else "none",   # the catalog topology it was searched as
        "interconnect": net.tier.name if net.tier else "none",
        "fat_tree_levels": net.level if net.topology is not None and d.wiring.kind == "fat_tree" else None,
        "capacity_bytes": m.capacity_bytes,
        "memory_bandwidth_bytes_per_s": m.bandwidth_bytes_per_s,
        **_costs(cost=m.cost_usd, node_cost=m.node_cost_usd, network_cost=m.network_cost_usd),
        "power_w": round(_f(m.power_w), 3),
        "bandwidth_per_dollar": _f(m.bandwidth_per_dollar),
        "bandwidth_per_dollar_exact": str(m.bandwidth_per_dollar),   # bytes/s per USD, an exact fraction
        "decode_tokens_per_s_per_user": _f(m.decode_tokens_per_s_per_user),
        "system_tokens_per_s": _f(m.system_tokens_per_s),
        "time_per_token_memory_s": _f(m.t_mem_s),
        "time_per_token_comm_s": _f(m.t_comm_s),
        "time_per_token_compute_s": _f(m.t_comp_s),
        "pipeline_busy_fraction": _f(m.pipeline_busy_fraction),
        "balance_ratio": _f(m.balance_ratio),
        "comm_time_ratio": _f(m.comm_ratio),
        "compute_flops": _f(m.compute_flops),
        "link_bandwidth_bytes_per_s": _f(m.link_bandwidth_bytes_per_s),
        "time_to_first_token_s": _f(m.ttft_s) if m.ttft_s is not None else None,
        # the speed model (docs/calibration.md): calibrated figures above, the roofline bound beside them
        "speed_model": m.speed_model,
        "time_per_token_fixed_s": _f(m.t_fixed_s),
        "decode_tokens_per_s_per_user_bound": _f(m.decode_tokens_per_s_per_user_bound),
        "time_to_first_token_bound_s": _f(m.ttft_bound_s) if m.ttft_bound_s is not None else None,
        "time_per_token_io_s": _f(m.t_io_s),
        "backing": ({"memory": d.backing.memory.name, "units": d.backing.units, **_costs(cost=d.backing.cost_usd)}
                    if d.backing else None),
        **_costs(backing_cost=m.backing_cost_usd),
        "binding": rd.binding,
        "breaks": [c.name for c in rd.checks if not c.ok],
        "tightest": _tightest(rd),
        "proven_optimal": rd.proven,
        "constraints": [{"name": c.name, "ok": c.ok, "slack_fraction": round(c.slack, 6), "detail": c.detail}
                        for c in rd.checks],
        "network_items": m.network_counts,
        "levels": levels_row(rd),
        "sources": {
            "memory": d.mem.memory.source, "node": d.mem.node.source,
            "interconnect": net.tier.source if net.tier else None,
            "topology": net.topology.source if net.topology else None,
        },
        "cost_basis": {
            "memory": d.mem.memory.cost_basis, "node": d.mem.node.cost_basis,
            "interconnect": net.tier.cost_basis if net.tier else None,
        },
        "estimates": {
            "memory": d.mem.memory.estimate, "node": d.mem.node.estimate,
            "interconnect": net.tier.estimate if net.tier else None,
        },
    }


def levels_row(rd: RankedDesign) -> dict[str, Any] | None:
    """A two-level design's domain and fabric: tier, topology, size, cost, items, links and communication
    time per token on each (None for a one-level design)."""
    from . import physics
    d, m = rd.design, rd.metrics
    net = d.net
    if not net.domain_nodes:
        return None
    items, cost = physics.level_items(net, d.nodes), physics.level_cost_usd(net, d.nodes)
    comm = m.level_comm
    out = {}
    for name, cfg, size in (("domain", net.domain, net.domain_nodes), ("fabric", net.fabric, d.nodes)):
        out[name] = {
            "interconnect": cfg.tier.name, "topology": cfg.wiring(size).name,
            "fat_tree_levels": cfg.level if cfg.wiring(size).kind == "fat_tree" else None,
            **_costs(cost=cost[name]), "items": items[name],
            "link_bandwidth_bytes_per_s_per_node": _f(cfg.node_link_bytes_per_s),
            "time_per_token_comm_s": _f(comm[name]), "pipeline_hops": comm[f"{name}_hops"],
        }
    out["domain"]["nodes_per_domain"] = net.domain_nodes
    out["domain"]["domains"] = physics.domains(net, d.nodes)
    # domains one TP (and expert-parallel) group covers: 1 inside a domain, TP / D when it spans whole ones
    out["domain"]["domains_per_tp_group"] = physics.tp_group_domains(net, d.tensor_parallel)
    return out


def _tightest(rd: RankedDesign) -> dict[str, Any] | None:
    t = tightest(list(rd.checks))
    return {"name": t.name, "slack_fraction": round(t.slack, 6)} if t else None


def solver_line(result: SolveResult) -> str:
    """The engine that proved the answer, its status, effort and time, and what "distinct" meant."""
    st = result.settings
    if result.engine == "enumeration":
        cells = result.space.get("cells")
        how = f"every design enumerated{f' ({cells:,} cells)' if cells else ''}, {result.wall_time_s:.2f} s"
    else:
        how = (f"{result.iterations} CP-SAT solves"
               + (" (+ enumeration)" if "enumeration" in result.engine else "")
               + f", {result.wall_time_s:.2f} s, seed {st['seed']}, {st['workers']} worker(s)")
    return f"solver: {result.status}, {how}; {distinct_words(st['distinct'])}"


def to_json(result: SolveResult) -> dict[str, Any]:
    p, req = result.problem, result.requirements
    return {
        "schema_version": SCHEMA_VERSION,
        "status": result.status,
        "problem": {"name": p.name, "path": p.path, "description": p.description, "model": p.model.name,
                    "cost_basis": p.cost.basis, "cost_basis_words": basis_words(p.cost),
                    "budget_usd": _f(p.constraints.budget_usd) if p.constraints.budget_usd is not None else None,
                    "catalog": p.catalog.directory, "max_nodes_clamped": clamped_max_nodes(p),
                    "speed_model": p.constraints.speed_model, "balance_rule": p.constraints.balance.rule},
        "distinct": distinct_words(result.settings["distinct"]) if "distinct" in result.settings else None,
        "requirements": {
            "weights_bytes": req.weights_bytes,
            "active_weight_bytes": req.active_weight_bytes,
            "kv_bytes_per_token": req.kv_bytes_per_token,
            "kv_bytes_per_request": req.kv_bytes_per_request,
            "kv_bytes_total": req.kv_bytes_total,
            "capacity_required_bytes": req.capacity_required_bytes,
            "min_decode_tokens_per_s_per_user": _f(req.min_tokens_per_s),
            "kv_read_bytes_per_request": req.kv_read_bytes_per_request,
            "step_tokens": req.step_tokens,
            "accepted_tokens_per_step": _f(req.accepted_per_step),
            "step_weight_bytes": req.step_weight_bytes,
            "prompt_tokens": p.workload.prompt_tokens,
            "prefill_tokens": req.prompt_tokens,
            "prefill_flops": req.prefill_flops,
            "max_ttft_s": _f(req.max_ttft_s) if req.max_ttft_s is not None else None,
            "kv_parked_bytes": req.swap.parked_bytes if req.swap else None,
            "kv_swap_io_bytes_per_s": _f(req.min_tokens_per_s * req.swap.io_bytes_per_user_token) if req.swap else None,
        },
        "designs": [design_row(rd) for rd in result.designs],
        "solver": {
            "wall_time_s": round(result.wall_time_s, 4),
            "iterations": result.iterations,
            "bound_bandwidth_per_dollar": (_f(result.bound_bytes_per_s_per_usd)
                                           if result.bound_bytes_per_s_per_usd is not None else None),
            **result.settings,
            "engine": result.engine,    # what proved the answer (engine_setting: what was asked for)
            "search_space": result.space,
        },
    }


def _ratio(x: float) -> str:
    return f"{x:.2f}" if x < 100 else f"{x:,.0f}"


def memory_cell(r: dict[str, Any]) -> str:
    """A design row's memory as tables show it: medium x units (node type)."""
    return f"{r['memory']} x{r['units_per_node']} ({r['node']})"


def network_cell(r: dict[str, Any]) -> str:
    """A design row's network as tables show it: tier and topology (and the fabric), or 'single node'."""
    if r["interconnect"] == "none":
        return "single node"
    return f"{r['interconnect']} {r['topology']}" + (f" {fabric_cell(r)}" if r.get("levels") else "")


def fabric_cell(r: dict[str, Any]) -> str:
    """A two-level design's domains and fabric: 'x8 (3 domains) + infiniband-ndr fat-tree L1'; '-' for one level."""
    lv = r.get("levels")
    if not lv:
        return "-"
    dom, fab = lv["domain"], lv["fabric"]
    lvl = f" L{fab['fat_tree_levels']}" if fab["fat_tree_levels"] else ""
    return (f"x{dom['nodes_per_domain']} ({dom['domains']} domains{span_words(dom)}) + {fab['interconnect']} "
            f"{fab['topology']}{lvl}")


def ratio_cell(r: dict[str, Any]) -> str:
    """A design row's bandwidth per dollar in TB/s per $M."""
    return f"{tb_per_s_per_million_usd(r['bandwidth_per_dollar']):,.2f}"


def _with_bound(value: float, r: dict, bound_key: str, scale: float) -> str:
    """A calibrated figure with its roofline bound beside it ("23.2 (roofline 107)"); the roofline alone as is."""
    if r.get("speed_model") != "calibrated" or r.get(bound_key) is None:
        return f"{value:,.1f}"
    return f"{value:,.1f} (roofline {r[bound_key] * scale:,.0f})"


#: (header, justify, cell) for every column of the designs table
_COLUMNS = (
    ("#", "right", lambda r, rd: "-" if r["rank"] == 0 else f"{r['rank']}{'' if rd.proven else '*'}"),
    ("memory", "left", lambda r, rd: memory_cell(r)),
    ("nodes", "right", lambda r, rd: str(r["nodes"])),
    ("TPxPP", "right", lambda r, rd: f"{r['tensor_parallel']}x{r['pipeline_parallel']}"),
    ("interconnect", "left", lambda r, rd: r["interconnect"]),
    ("topology", "left", lambda r, rd: r["topology"] + (f" L{r['fat_tree_levels']}" if r["fat_tree_levels"] else "")),
    ("fabric", "left", lambda r, rd: fabric_cell(r)),
    ("capacity", "right", lambda r, rd: format_bytes(r["capacity_bytes"])),
    ("mem TB/s", "right", lambda r, rd: f"{r['memory_bandwidth_bytes_per_s'] / 1e12:,.1f}"),
    ("cost", "right", lambda r, rd: format_usd(r["cost_usd"])),
    ("TB/s per $M", "right", lambda r, rd: ratio_cell(r)),
    ("tok/s user", "right", lambda r, rd: _with_bound(r["decode_tokens_per_s_per_user"], r, "decode_tokens_per_s_per_user_bound", 1)),
    ("tok/s system", "right", lambda r, rd: f"{r['system_tokens_per_s']:,.0f}"),
    ("TTFT ms", "right", lambda r, rd: _with_bound(r["time_to_first_token_s"] * 1e3, r, "time_to_first_token_bound_s", 1e3)),
    ("KV backing", "left", lambda r, rd: f"{r['backing']['memory']} x{r['backing']['units']}" if r["backing"] else "-"),
    ("link/mem", "right", lambda r, rd: _ratio(r["balance_ratio"])),
    ("comm/mem", "right", lambda r, rd: _ratio(r["comm_time_ratio"])),
    ("binding", "left", lambda r, rd: _binding_cell(r)),
)
#: below this console width the table is split in two: the design, then its figures
WIDE = 180
_DESIGN_COLS = ("#", "memory", "nodes", "TPxPP", "interconnect", "topology", "fabric", "KV backing", "TB/s per $M",
                "binding")
_FIGURE_COLS = ("#", "capacity", "mem TB/s", "cost", "tok/s user", "tok/s system", "TTFT ms", "link/mem", "comm/mem")
#: columns shown only when the problem uses them
_OPTIONAL = {"TTFT ms": lambda req: req.prompt_tokens > 0, "KV backing": lambda req: req.swap is not None}


#: the winning row's style, and broken constraints' (colour where the console has it)
WIN_STYLE, BREAK_STYLE = "bold green", "bold red"


def _table_parts(result: SolveResult, names: tuple[str, ...] | None):
    cols = [c for c in _COLUMNS if (names is None or c[0] in names)
            and (c[0] not in _OPTIONAL or _OPTIONAL[c[0]](result.requirements))
            and (c[0] != "fabric" or any(rd.design.net.domain_nodes for rd in result.designs))]
    rows, styles = [], []
    for rd in result.designs:
        r = design_row(rd)
        cells = [cell(r, rd) for _, _, cell in cols]
        rows.append([Text(x, style=BREAK_STYLE) if x.startswith("BREAKS") else x for x in cells])
        styles.append(WIN_STYLE if rd.rank == 1 else "")
    return [Column(head, just, key=head == "#") for head, just, _ in cols], rows, styles


def designs_tables(result: SolveResult, width: int = WIDE) -> list[Table]:
    """The ranked designs as one table, or split (design, then figures, then further as the width needs)."""
    p = result.problem
    title = (f"{p.name}: top {len(result.designs)} designs by memory bandwidth per dollar "
             f"({result.status}; {basis_words(p.cost)})")
    if result.status == "EVALUATED":
        title = f"{p.name}: one design, evaluated ({basis_words(p.cost)})"
    out: list[Table] = []
    one = width >= WIDE and fits(*_table_parts(result, None)[:2], width)   # one table only without wrapping
    for n, names in enumerate([None] if one else [_DESIGN_COLS, _FIGURE_COLS]):
        cols, rows, styles = _table_parts(result, names)
        out += fit_tables(title if n == 0 else "figures of the same designs", cols, rows, width, styles)
    rank = _COLUMNS[0][2]
    return out + levels_tables([(rank(r, rd), r) for rd in result.designs for r in [design_row(rd)]], width)


def _binding_cell(r: dict[str, Any]) -> str:
    if r["breaks"]:
        return "BREAKS " + ", ".join(r["breaks"])
    t = r["tightest"]
    if t is None:
        return "-"
    room = f"{t['slack_fraction']:.0%} headroom"
    return f"{t['name']} ({room})" if r["binding"] != "none" else f"none (tightest: {t['name']}, {room})"


def requirements_text(result: SolveResult) -> Text:
    req, p = result.requirements, result.problem
    w = p.workload
    lines = [
        f"model {p.model.name}: weights {format_bytes(req.weights_bytes)} ({w.weight_dtype}), "
        f"read per token {format_bytes(req.active_weight_bytes)}",
        f"KV per token {req.kv_bytes_per_token:,} bytes ({w.kv_dtype}); per request at {w.context_length:,} tokens "
        f"{format_bytes(req.kv_bytes_per_request)}; {w.concurrency} requests {format_bytes(req.kv_bytes_total)}",
        f"capacity required {format_bytes(req.capacity_required_bytes)} "
        f"(+{p.constraints.capacity_overhead_fraction:.0%} overhead); target "
        f"{float(req.min_tokens_per_s):g} tokens/s per user"
        + (f" (calibrated speed; balance rule {p.constraints.balance.rule})" if req.calibrated else ""),
        *serving_lines(p, req),
        solver_line(result),
        f"dollars are {basis_words(p.cost)}"
        + (f"; budget {format_usd(p.constraints.budget_usd)}, checked in {p.cost.basis} dollars"
           if p.constraints.budget_usd is not None else ""),
    ]
    if result.status != "OPTIMAL":
        lines.append("* not proven optimal: the time limit stopped the proof; raise --time-limit (search.time_limit_s)")
    return Text("\n".join(lines))


def serving_lines(p, req) -> list[str]:
    """The options beyond plain decode that the problem turns on, one line each."""
    w, out = p.workload, []
    if p.model.moe is not None:
        moe = p.model.moe
        ep = "expert parallel (all-to-all)" if p.constraints.expert_parallel else "experts split by tensor parallel"
        out.append(f"MoE: {moe.active_experts} of {moe.experts} experts per token in {moe.layers} layers; a step of "
                   f"{w.concurrency} requests reads up to {format_bytes(req.step_weight_bytes + req.moe_extra_bytes[0])}"
                   f" of weights; {ep}")
    if req.prompt_tokens:
        ttft = f", TTFT limit {p.constraints.max_ttft_ms:g} ms" if p.constraints.max_ttft_ms is not None else ""
        what = ("prompt tokens" if req.prompt_tokens == w.prompt_tokens
                else f"tokens before a first token ({w.prompt_tokens:,} of prompt, the rest recomputed history)")
        out.append(f"prefill: {req.prompt_tokens:,} {what}, {req.prefill_flops / 1e12:,.1f} TFLOP each at "
                   f"{float(req.prefill_efficiency):.0%} of peak, amortised over {req.output_tokens:,} output "
                   f"tokens{ttft}")
    if w.speculative is not None:
        sp = w.speculative
        out.append(f"speculative decoding: {sp.draft_tokens} drafted, {sp.accepted_tokens_per_step:g} tokens per "
                   f"step, draft {sp.draft_parameters / 1e9:g}B parameters")
    if w.kv_read_fraction < 1:
        out.append(f"KV sparsity: {w.kv_read_fraction:.0%} of each request's KV read per step "
                   f"({format_bytes(req.kv_read_bytes_per_request)} of {format_bytes(req.kv_bytes_per_request)})")
    if w.kv_swap is not None:
        ks = w.kv_swap
        line = f"KV swapping ({ks.mode}): {ks.idle_requests:,} idle requests between turns"
        if req.swap is not None:
            io = float(req.min_tokens_per_s * req.swap.io_bytes_per_user_token) / 1e9
            line += (f", {format_bytes(req.swap.parked_bytes)} of history parked, {io:,.1f} GB/s of swap I/O each way "
                     f"at the target{' (designs that swap)' if ks.mode == 'best' else ''}")
        out.append(line)
    return out


def solve_renderable(result: SolveResult, width: int = WIDE) -> Group:
    note = clamp_note(result.problem)
    return Group(*designs_tables(result, width), *([note] if note else []), requirements_text(result))


def clamped_max_nodes(problem) -> dict[str, int] | None:
    """``{"requested": R, "used": U}`` when the problem's max_nodes was above every interconnect's reach."""
    c = problem.constraints
    return None if c.max_nodes_requested is None else {"requested": c.max_nodes_requested, "used": c.max_nodes}


def clamp_note(problem) -> str:
    """The line under the table that says max_nodes was clamped (empty when it was not)."""
    c = problem.constraints
    if c.max_nodes_requested is None:
        return ""
    return (f"max_nodes {c.max_nodes_requested:,} is above every interconnect's reach; searched up to "
            f"{c.max_nodes:,} nodes (the largest reach_nodes in the catalog)")


def pareto_table(name: str, rows: list[dict[str, Any]], width: int = WIDE, cost=None) -> Group:
    """The frontier, slowest (best bandwidth per dollar) first."""
    title = (f"{name}: speed per user against bandwidth per dollar (no design beats a row on both"
             + (f"; {basis_words(cost)})" if cost is not None else ")"))
    cols = [Column(c, j, key=c == "tok/s user") for c, j in (
        ("tok/s user", "right"), ("TB/s per $M", "right"), ("cost", "right"), ("memory", "left"), ("nodes", "right"),
        ("TPxPP", "right"), ("network", "left"), ("binding", "left"))]
    cells = [[f"{r['decode_tokens_per_s_per_user']:,.1f}", ratio_cell(r), format_usd(r["cost_usd"]), memory_cell(r),
              str(r["nodes"]), f"{r['tensor_parallel']}x{r['pipeline_parallel']}", network_cell(r), r["binding"]]
             for r in rows]
    return Group(*fit_tables(title, cols, cells, width, more_title="the same frontier, continued"))


def evaluation_renderable(ev, result: SolveResult, width: int = WIDE) -> Group:
    """One design as a row of solve's table, every constraint with its room, and where it ranks."""
    cols = [Column("constraint", key=True), Column("holds"), Column("headroom", "right"), Column("detail")]
    rows = []
    for c in list(ev.design.checks) + list(ev.structure):
        room = f"{c.slack:+.1%}" if c.name not in ("tensor parallel", "node type on this interconnect") else ""
        rows.append([c.name, "yes" if c.ok else Text("NO", style=BREAK_STYLE), room, c.detail])
    t = fit_tables("constraints (headroom: how much room is left before the limit; negative: broken by that much)",
                   cols, rows, width, more_title="the same constraints, continued")
    return Group(*designs_tables(result, width), *t, Text(verdict(ev)))


def verdict(ev) -> str:
    broken = [c.name for c in list(ev.design.checks) + list(ev.structure) if not c.ok]
    head = f"breaks: {', '.join(broken)}. " if broken else "meets every constraint. "
    if ev.best is None:
        return head + f"The problem has no feasible design ({ev.infeasible})."
    b = ev.best
    return (head + f"{float(ev.versus_best):.2f}x the best bandwidth per dollar; best is {b.design.mem.label}, "
            f"{b.design.nodes} nodes, "
            f"{b.design.net.tier.name + ' ' + b.design.wiring.name if b.design.net.tier else 'single node'} "
            f"({tb_per_s_per_million_usd(b.metrics.bandwidth_per_dollar):,.2f} TB/s per $M).")


def evaluation_json(ev, problem=None) -> dict[str, Any]:
    return {"cost_basis_words": basis_words(problem.cost) if problem is not None else None,
            "design": design_row(ev.design),
            "structure": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in ev.structure],
            "versus_best": float(ev.versus_best) if ev.versus_best is not None else None,
            "best": design_row(ev.best) if ev.best else None, "infeasible": ev.infeasible, "verdict": verdict(ev)}


def _broken(ev) -> list[str]:
    return [c.name for c in list(ev.design.checks) + list(ev.structure) if not c.ok]


def compare_rows(cmp) -> list[dict[str, Any]]:
    """One row per reference design: its figures on the problem, what it breaks, and how it ranks."""
    rows = []
    for c in cmp.references:
        ref = c.reference
        row: dict[str, Any] = {"reference": ref.name, "description": ref.description, "source": ref.source}
        if c.evaluation is None:
            rows.append({**row, "skipped": c.skipped})
            continue
        ev = c.evaluation
        rows.append({**row, "skipped": None, "design": design_row(ev.design), "breaks": _broken(ev),
                     "versus_best": float(ev.versus_best) if ev.versus_best is not None else None})
    return rows


def compare_json(cmp, problem=None) -> dict[str, Any]:
    return {"references": compare_rows(cmp), "search": to_json(cmp.search) if cmp.search else None,
            "cost_basis_words": basis_words(problem.cost) if problem is not None else None,
            "infeasible": cmp.infeasible}


_COMPARE_COLUMNS = (("reference", "left"), ("memory", "left"), ("nodes", "right"), ("TPxPP", "right"),
                    ("network", "left"), ("cost", "right"), ("TB/s per $M", "right"), ("x best", "right"),
                    ("tok/s user", "right"), ("breaks", "left"))
#: below WIDE columns the comparison is split: what each machine is, then how it does
_COMPARE_SPLIT = (("reference", "memory", "nodes", "TPxPP", "network"),
                  ("reference", "cost", "TB/s per $M", "x best", "tok/s user", "breaks"))


def _compare_cells(row: dict[str, Any]) -> dict[str, str]:
    if row["skipped"]:
        return {"reference": row["reference"], "memory": "not in this catalog", "breaks": row["skipped"]}
    r = row["design"]
    return {"reference": row["reference"], "memory": memory_cell(r), "nodes": str(r["nodes"]),
            "TPxPP": f"{r['tensor_parallel']}x{r['pipeline_parallel']}", "network": network_cell(r),
            "cost": format_usd(r["cost_usd"]), "TB/s per $M": ratio_cell(r),
            "x best": f"{row['versus_best']:.2f}" if row["versus_best"] is not None else "-",
            "tok/s user": f"{r['decode_tokens_per_s_per_user']:,.1f}", "breaks": ", ".join(row["breaks"]) or "nothing"}


def compare_renderable(cmp, problem, width: int = WIDE) -> Group:
    """The reference designs on the problem (one table, or two below ``WIDE`` columns), then the search's top."""
    rows = [_compare_cells(r) for r in compare_rows(cmp)]
    groups = [tuple(c for c, _ in _COMPARE_COLUMNS)] if width >= WIDE else list(_COMPARE_SPLIT)
    just = dict(_COMPARE_COLUMNS)
    parts: list[Any] = []
    for i, names in enumerate(groups if rows else []):
        title = (f"{problem.name}: reference designs, evaluated ({basis_words(problem.cost)})" if i == 0
                 else "how the same reference designs do")
        cols = [Column(col, just[col], key=col == "reference") for col in names]
        cells = [[Text(r.get(col, ""), style=BREAK_STYLE) if col == "breaks" and r.get(col) not in ("nothing", "")
                  else r.get(col, "") for col in names] for r in rows]
        parts += fit_tables(title, cols, cells, width, more_title="the same reference designs, continued")
    if cmp.search is not None:
        parts += designs_tables(cmp.search, width)
        parts.append(Text("x best: bandwidth per dollar over the search's best design. A reference design that "
                          "breaks a constraint can beat the best on this ratio; the search may not return it."))
    else:
        parts.append(Text(f"the search found no feasible design: {cmp.infeasible}"))
    if not rows:
        parts.insert(0, Text(f"no reference designs: {problem.catalog.directory} has no designs.yaml"))
    return Group(*parts)


def disaggregate_json(sp) -> dict[str, Any]:
    homo = sp.homogeneous.designs[0] if sp.homogeneous else None
    return {
        "cost_basis_words": basis_words(sp.decode.problem.cost),
        "request_rate_per_s": _f(sp.request_rate),
        "split": {
            "prefill_pool": {**design_row(sp.prefill), "prompts_per_s": _f(sp.prefill_prompts_per_s),
                             "proven_cheapest": sp.prefill_proven},
            "decode_pool": design_row(sp.decode.designs[sp.decode_rank - 1]),
            "kv_link": {"interconnect": sp.link.tier.name, "links": sp.link.links, **_costs(cost=sp.link.cost_usd),
                        "kv_bytes_per_s": _f(sp.link.bytes_per_s)},
            **_costs(cost=sp.cost_usd), "tokens_per_s": _f(sp.tokens_per_s), "usd_per_million_tokens": _f(sp.usd_per_mtok),
            "time_to_first_token_s": _f(sp.ttft_s), "power_w": round(_f(sp.power_w), 3),
        },
        "homogeneous": ({**design_row(homo), "usd_per_million_tokens": _f(sp.homogeneous_usd_per_mtok)}
                        if homo else None),
        "homogeneous_infeasible": sp.homogeneous_infeasible,
        "winner": sp.winner, "cheaper_by_factor": sp.factor,
        "amortisation_years": sp.decode.problem.cost.amortisation_years,
    }


def disaggregate_renderable(sp, problem, width: int = WIDE) -> Group:
    """The two pools, the link between them, and the best single design, on cost per million tokens."""
    title = (f"{problem.name}: split prefill/decode pools against one homogeneous design "
             f"({basis_words(problem.cost)}; {problem.cost.amortisation_years:g}-year amortisation)")
    cols = [Column(c, j, key=c == "part") for c, j in (("part", "left"), ("design", "left"), ("cost", "right"),
                                                        ("tok/s", "right"), ("TTFT ms", "right"),
                                                        ("$ per M tok", "right"))]
    rows: list[list[str]] = []

    def row(name: str, rd, tokens: str, usd_mtok: str) -> None:
        r = design_row(rd)
        ttft = f"{r['time_to_first_token_s'] * 1e3:,.1f}" if r["time_to_first_token_s"] is not None else "-"
        what = (f"{r['nodes']} x {memory_cell(r)}, {network_cell(r)}, "
                f"TP {r['tensor_parallel']} x PP {r['pipeline_parallel']}")
        rows.append([name, what, format_usd(r["cost_usd"]), tokens, ttft, usd_mtok])

    row("prefill pool", sp.prefill, f"{float(sp.prefill_prompts_per_s):,.2f} prompts/s", "")
    dec = sp.decode.designs[sp.decode_rank - 1]
    row(f"decode pool (#{sp.decode_rank})", dec, f"{float(dec.metrics.system_tokens_per_s):,.0f}", "")
    rows.append(["KV link", f"{sp.link.links} x {sp.link.tier.name} ({float(sp.link.bytes_per_s) / 1e9:,.1f} GB/s "
                 "of KV)", format_usd(sp.link.cost_usd), "", "", ""])
    rows.append(["split total", "TTFT includes the prompt's KV crossing the link", format_usd(sp.cost_usd),
                 f"{float(sp.tokens_per_s):,.0f}", f"{float(sp.ttft_s) * 1e3:,.1f}", f"{float(sp.usd_per_mtok):,.4f}"])
    if sp.homogeneous:
        row("homogeneous", sp.homogeneous.designs[0], f"{float(sp.homogeneous_tokens_per_s):,.0f}",
            f"{float(sp.homogeneous_usd_per_mtok):,.4f}")
    tables = fit_tables(title, cols, rows, width, more_title="the same parts, continued")
    if sp.homogeneous is None:
        verdict = f"the split is the only option: no single design serves the problem ({sp.homogeneous_infeasible})"
    elif sp.winner == "tie":
        verdict = "the split and the homogeneous design cost the same per million tokens"
    else:
        verdict = (f"{sp.winner} wins: {sp.factor:.2f}x cheaper per million tokens "
                   f"(split ${float(sp.usd_per_mtok):,.4f}, homogeneous ${float(sp.homogeneous_usd_per_mtok):,.4f})")
    note = (f"decode pool: #{sp.decode_rank} of the top {len(sp.decode.designs)} decode designs by bandwidth per "
            f"dollar, the one whose split costs least per token; request rate {float(sp.request_rate):,.2f}/s: what it "
            f"completes; the prefill pool is the cheapest that feeds it"
            f"{'' if sp.prefill_proven else ' (not proven cheapest: time limit)'}")
    return Group(*tables, Text(verdict), Text(note))
