"""Sweeps: solve a problem at many values of one field and find where the best design changes.

A parameter is a dotted path into the problem file (``workload.context_length``,
``constraints.budget_usd``, ``model.layers``) or into a catalog entry
(``catalog.memory.hbm3e-8hi.capacity_gb``).  A catalog field holding a cost curve
(``catalog.memory.hbm3e-8hi.cost_usd``) is swept as a multiplier of its prices
(1 = the catalog).  Every point is checked by the same loaders as a problem file,
so a value a problem could not hold is refused with the loader's message.

Points are independent solves; neighbours warm-start each other (the previous
point's designs, where still feasible, are exact lower bounds), and points can run
in worker processes.  The answer is the same whatever the worker count.
"""

from __future__ import annotations

import copy
import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from .catalog import FILES
from .errors import InfeasibleError, InputError, UsageError
from .problem import problem_from_dict, read_problem_dict
from .solve import SolveResult, solve
from .study import shared_catalog

#: suffixes of swept values; token counts use binary multiples (a "4k" context is 4,096 tokens)
DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9}
BINARY = {"k": 2**10, "M": 2**20, "G": 2**30}
TOKEN_FIELDS = ("context_length", "output_tokens_per_request", "prompt_tokens")
#: fields whose values are whole numbers (the loaders' schema); a sweep refuses fractions for them
INTEGER_FIELDS = frozenset({
    "workload.context_length", "workload.concurrency", "workload.output_tokens_per_request",
    "workload.prompt_tokens", "workload.speculative.draft_tokens", "workload.kv_swap.idle_requests",
    "constraints.max_nodes", "constraints.max_tensor_parallel", "search.top_k", "search.seed", "search.workers",
    "model.layers", "model.hidden_size", "model.attention_heads", "model.kv_heads", "model.head_dim",
    "model.kv_elements_per_token_per_layer", "catalog.memory.*.max_units_per_node", "catalog.nodes.*.min_units",
    "catalog.nodes.*.max_units", "catalog.interconnects.*.links_per_node", "catalog.interconnects.*.reach_nodes",
    "catalog.interconnects.*.rack_nodes", "catalog.models.*.layers", "catalog.models.*.hidden_size",
    "catalog.models.*.attention_heads", "catalog.models.*.kv_heads", "catalog.models.*.head_dim",
})


def is_integer_field(path: str) -> bool:
    keys = path.split(".")
    if keys[0] == "catalog" and len(keys) == 4:
        return ".".join(keys[:2] + ["*"] + keys[3:]) in INTEGER_FIELDS
    return path in INTEGER_FIELDS


def settle(path: str, values: Sequence[float], rounded: bool = False) -> list[float]:
    """The values a sweep will solve at: whole numbers for integer fields, ascending, without repeats.

    Values the user typed must already be whole for an integer field; values of a range are rounded
    (``rounded``), since a log range of token counts rarely lands on whole numbers.
    """
    out = []
    for v in values:
        if is_integer_field(path):
            if not rounded and v != int(v):
                raise UsageError(f"--param {path}: expected whole numbers, found {v:g}")
            v = int(round(v))
        out.append(v)
    return sorted(set(out))
#: the range `sweep` uses for the context length when none is given: 1k to 1M tokens, doubling
DEFAULT_RANGES = {"workload.context_length": "1k:1M:11:log"}
CURVE_FIELDS = ("cost_usd",)


@dataclass(frozen=True)
class Point:
    """One sweep point: the value and its result (or why it has none)."""

    value: float
    result: Optional[SolveResult]
    infeasible: Optional[str]


def is_token_field(path: str) -> bool:
    return path.rsplit(".", 1)[-1] in TOKEN_FIELDS


def parse_number(text: str, binary: bool = False, what: str = "--values") -> float:
    """A number with an optional k/M/G suffix (binary multiples for token counts)."""
    t = text.strip()
    mult = 1
    if t and t[-1] in DECIMAL:
        mult = (BINARY if binary else DECIMAL)[t[-1]]
        t = t[:-1]
    try:
        v = float(t) * mult
    except ValueError:
        raise UsageError(f"{what}: expected a number (optionally with k, M or G), found {text!r}") from None
    if not math.isfinite(v):
        raise UsageError(f"{what}: expected a finite number, found {text!r}")
    return v


def parse_values(text: str, binary: bool = False) -> list[float]:
    items = [x for x in text.split(",")]
    if not text.strip() or any(not x.strip() for x in items):
        raise UsageError(f"--values: expected numbers separated by commas, found {text!r}")
    return [parse_number(x, binary) for x in items]


def parse_range(text: str, binary: bool = False) -> tuple[list[float], bool]:
    """``LO:HI:N[:log]`` as N values from LO to HI, evenly or log-spaced; returns (values, log)."""
    parts = text.split(":")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "log"):
        raise UsageError(f"--range: expected LO:HI:N or LO:HI:N:log, found {text!r}")
    lo, hi = parse_number(parts[0], binary, "--range"), parse_number(parts[1], binary, "--range")
    try:
        n = int(parts[2])
    except ValueError:
        raise UsageError(f"--range: expected a whole number of points, found {parts[2]!r}") from None
    log = len(parts) == 4
    if n < 1:
        raise UsageError(f"--range: expected at least 1 point, found {n}")
    if hi < lo:
        raise UsageError(f"--range: HI ({parts[1]}) is below LO ({parts[0]})")
    if n > 1 and hi == lo:
        raise UsageError(f"--range: LO and HI are equal ({parts[0]}) but {n} points were asked for")
    if log and lo <= 0:
        raise UsageError(f"--range: a log range needs LO > 0, found {parts[0]}")
    if n == 1:
        if hi != lo:
            raise UsageError(f"--range: 1 point needs LO equal to HI, found {parts[0]} and {parts[1]}")
        return [lo], log
    if log:
        r = (hi / lo) ** (1 / (n - 1))
        vals = [lo * r ** i for i in range(n)]
        vals[-1] = hi
    else:
        vals = [lo + (hi - lo) * i / (n - 1) for i in range(n)]
    return vals, log


def _walk(raw: dict, keys: Sequence[str], path: str) -> tuple[dict, str]:
    """The mapping holding the last key of ``keys`` (created where the problem may omit a section)."""
    node = raw
    for k in keys[:-1]:
        nxt = node.get(k)
        if nxt is None:
            nxt = node[k] = {}
        if not isinstance(nxt, dict):
            raise UsageError(f"--param {path}: '{k}' is not a section of the problem")
        node = nxt
    return node, keys[-1]


def apply(raw: dict, path: str, value: float, catalog_raw: Callable[[str, str], dict]) -> dict:
    """A copy of the problem mapping with ``path`` set to ``value``."""
    raw = copy.deepcopy(raw)
    keys = path.split(".")
    if len(keys) < 2 or not all(keys):
        raise UsageError(f"--param {path}: expected a dotted path such as workload.context_length")
    if keys[0] == "catalog":
        if len(keys) != 4 or keys[1] not in FILES:
            raise UsageError(f"--param {path}: expected catalog.<section>.<entry>.<field> with a section of "
                             f"{', '.join(FILES)}")
        section, entry, field = keys[1:]
        current = dict(catalog_raw(section, entry))
        earlier = ((raw.get("overrides") or {}).get(section) or {}).get(entry) or {}
        current.update(earlier if isinstance(earlier, dict) else {})  # the problem's own overrides count
        if field not in current:
            raise UsageError(f"--param {path}: {section} entry '{entry}' has no field '{field}'")
        over = raw.setdefault("overrides", {}) or {}
        raw["overrides"] = over
        fields = over.setdefault(section, {}).setdefault(entry, {})
        if field in CURVE_FIELDS and isinstance(current[field], dict):
            fields[field] = _scaled_curve(current[field], value, path)
        elif isinstance(current[field], bool) or not isinstance(current[field], (int, float)):
            raise UsageError(f"--param {path}: not a numeric field (found {current[field]!r})")
        else:
            fields[field] = value
        return raw
    if keys[0] == "model" and isinstance(raw.get("model"), str):
        raw["model"] = {"preset": raw["model"]}
    node, key = _walk(raw, keys, path)
    current = node.get(key)
    if isinstance(current, (bool, str, list, dict)):
        raise UsageError(f"--param {path}: not a numeric field (found {current!r})")
    node[key] = value
    return raw


def _scaled_curve(curve: dict, factor: float, path: str) -> dict:
    if factor <= 0:
        raise UsageError(f"--param {path}: a price multiplier must be positive, found {factor:g}")
    out = copy.deepcopy(curve)
    if "points" in out:
        out["points"] = [[q, usd * factor] for q, usd in out["points"]]
    if "die_yield" in out:
        dy = out["die_yield"]
        for k in ("wafer_cost_usd", "fixed_usd"):
            if k in dy:
                dy[k] = dy[k] * factor
    return out


def _solve_point(args: tuple) -> Point:
    raw, file, catalog_dir, value, top_k, distinct, warm_designs, start = args
    problem = problem_from_dict(raw, file, catalog_dir, catalog_loader=shared_catalog)
    try:
        return Point(value, solve(problem, top_k=top_k, distinct=distinct, start=start, warm=warm_designs), None)
    except InfeasibleError as exc:
        return Point(value, None, str(exc))


def sweep(path: Optional[str | Path], param: str | Sequence[str], values: Sequence[Any], *,
          catalog_dir: Optional[str] = None, top_k: int = 1, distinct: Optional[str] = None, workers: int = 1,
          warm: bool = True, progress: Optional[Callable[[int], None]] = None,
          basis: Optional[str] = None) -> list[Point]:
    """Solve the problem at every value of ``param``; points come back in the order of ``values``.

    ``basis`` (build or market), if given, replaces the problem's cost.basis (prices and budget).

    ``param`` may be a list of paths, with every value a tuple of one number per path (a grid).
    With ``workers`` > 1 the values are split into that many contiguous blocks, one process each; every
    block warm-starts point to point.  Results do not depend on the split: every point is solved exactly.
    """
    params = [param] if isinstance(param, str) else list(param)
    if len(set(params)) != len(params):
        raise UsageError(f"--param: the same parameter twice ({params[0]})")
    raw, file = read_problem_dict(path)
    if basis is not None and isinstance(raw, dict):
        cost = raw.get("cost")
        raw["cost"] = {**(cost if isinstance(cost, dict) else {}), "basis": basis}
    problem_from_dict(raw, file, catalog_dir, catalog_loader=shared_catalog)  # sound before any value is set
    from .catalog import default_directory
    from .errors import CatalogError
    from .yamlio import read_yaml_cached
    cat_dir = Path(catalog_dir) if catalog_dir else default_directory()

    def catalog_raw(section: str, entry: str) -> dict:
        doc = read_yaml_cached(cat_dir / f"{section}.yaml", CatalogError)
        for item in (doc or {}).get(section, []) or []:
            if isinstance(item, dict) and item.get("name") == entry:
                return item
        raise UsageError(f"--param catalog.{section}.{entry}: no {section} entry named '{entry}'")

    raws = []
    for v in values:
        vs = (v,) if len(params) == 1 else tuple(v)
        r = raw
        for pth, x in zip(params, vs):
            r = apply(r, pth, x, catalog_raw)
        try:  # refuse a bad value before any solve, with the loader's own message
            problem_from_dict(r, file, catalog_dir, catalog_loader=shared_catalog)
        except InputError as exc:
            shown = ", ".join(f"{pth} = {x:g}" for pth, x in zip(params, vs))
            raise UsageError(f"--param {shown}: {exc}") from None
        raws.append(r)
    jobs = [(r, file, catalog_dir, v) for r, v in zip(raws, values)]
    if workers <= 1 or len(jobs) <= 1:
        return _run_block(jobs, top_k, distinct, warm, progress)
    size = math.ceil(len(jobs) / workers)
    blocks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    out: list[Point] = []
    with ProcessPoolExecutor(max_workers=len(blocks)) as pool:
        futures = [pool.submit(_run_block, b, top_k, distinct, warm, None) for b in blocks]
        for f in futures:
            part = f.result()
            out.extend(part)
            if progress:
                progress(len(part))
    return out


def grid(path: Optional[str | Path], params: Sequence[str], values_a: Sequence[float], values_b: Sequence[float],
         **kwargs: Any) -> list[Point]:
    """A two-parameter sweep: every (a, b), row by row (a outer, b inner), each point's value the pair."""
    return sweep(path, list(params), [(a, b) for a in values_a for b in values_b], **kwargs)


def _run_block(jobs: list, top_k: int, distinct: Optional[str], warm: bool,
               progress: Optional[Callable[[int], None]]) -> list[Point]:
    out: list[Point] = []
    previous: tuple = ()
    for raw, file, catalog_dir, value in jobs:
        start = "quick" if warm else "zero"
        point = _solve_point((raw, file, catalog_dir, value, top_k, distinct, previous if warm else (), start))
        if point.result is not None:
            previous = tuple(d.design for d in point.result.designs)
        out.append(point)
        if progress:
            progress(1)
    return out


# -- rows and crossovers ---------------------------------------------------------------------------
def sweep_for_report(path: Optional[str | Path], param: str | Sequence[str], values: Sequence[Any], *,
                     top_k: int, distinct: Optional[str], per_medium: bool,
                     progress: Callable[[str], Any], **kwargs: Any) -> tuple[list[Point], Optional[list[Point]]]:
    """The points for the table and, if ``per_medium``, every memory medium's best design at every point.

    A plot needs each medium's best design (``distinct="medium"``); when the table wants only the best
    design, that one sweep serves both.  ``progress(label)`` returns a context manager giving a
    ``progress(n)`` callback (or None).
    """
    label = f"sweeping {param if isinstance(param, str) else ', '.join(param)}"
    media = dict(kwargs, top_k=64, distinct="medium")
    if per_medium and top_k == 1 and distinct in (None, "architecture", "medium"):
        with progress(label) as advance:
            both = sweep(path, param, values, progress=advance, **media)
        return keep_top(both, 1), both
    with progress(label) as advance:
        points = sweep(path, param, values, progress=advance, top_k=top_k, distinct=distinct, **kwargs)
    if not per_medium:
        return points, None
    if distinct == "medium":
        return points, points
    with progress(label + " (best of each medium, for the plot)") as advance:
        return points, sweep(path, param, values, progress=advance, **media)


def keep_top(points: Sequence[Point], k: int) -> list[Point]:
    """The same points with only their k best designs."""
    import dataclasses
    return [p if p.result is None else Point(p.value, dataclasses.replace(p.result, designs=p.result.designs[:k]),
                                             None) for p in points]


def point_rows(points: Sequence[Point], param: str | Sequence[str]) -> list[dict[str, Any]]:
    """One row per point and rank: the swept value, the design, its figures and the binding constraint."""
    from .report import design_row
    rows = []
    params = [param] if isinstance(param, str) else list(param)
    for p in points:
        at = dict(zip(params, p.value if isinstance(p.value, tuple) else (p.value,)))
        if p.result is None:
            rows.append({**at, "rank": None, "status": "INFEASIBLE", "why": p.infeasible})
            continue
        for rd in p.result.designs:
            r = design_row(rd)
            rows.append({**at, "rank": r["rank"], "status": p.result.status,
                         "memory": r["memory"], "node": r["node"], "units_per_node": r["units_per_node"],
                         "nodes": r["nodes"], "tensor_parallel": r["tensor_parallel"],
                         "pipeline_parallel": r["pipeline_parallel"], "interconnect": r["interconnect"],
                         "topology": r["topology"], "bandwidth_per_dollar": r["bandwidth_per_dollar"],
                         "cost_usd": r["cost_usd"], "decode_tokens_per_s_per_user": r["decode_tokens_per_s_per_user"],
                         "binding": r["binding"]})
    return rows


def architecture_of(p: Point) -> Optional[tuple[str, str, str]]:
    return p.result.designs[0].design.architecture() if p.result and p.result.designs else None


def _label(arch: Optional[tuple[str, str, str]]) -> str:
    if arch is None:
        return "infeasible"
    medium, tier, topology = arch
    return f"{medium} single node" if tier == "-" else f"{medium} {tier} {topology}"


def crossovers(points: Sequence[Point]) -> list[dict[str, Any]]:
    """Where the best design's memory medium, interconnect or topology changes between neighbouring values."""
    out = []
    for a, b in zip(points, points[1:]):
        x, y = architecture_of(a), architecture_of(b)
        if x != y:
            out.append({"from_value": a.value, "to_value": b.value, "from": _label(x), "to": _label(y),
                        "medium_changes": (x[0] if x else None) != (y[0] if y else None)})
    return out
