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

from . import quantity
from .catalog import FILES
from .errors import InfeasibleError, InputError, UsageError
from .quantity import BINARY, DECIMAL, TOKEN_FIELDS, is_token_field  # noqa: F401 - re-exported: the grammar's rule
from .ranges import MAX_DIGITS
from .units import exact
from .yamlio import shown
from .problem import problem_from_dict, read_problem_dict
from .solve import SolveResult, solve
from .study import shared_catalog

#: the most points one sweep or grid may solve (checked before any list is built)
MAX_POINTS = 10_000
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
        elif rounded and is_price_field(path):
            # costs are exact (physics.costs): a range's 0.30000000000000004 or a log step's 0.316227766... would
            # make every cost a multiple of 1e-17 dollars, beyond CP-SAT's integers; 4 significant digits do not
            v = float(f"{v:.{PRICE_DIGITS}g}")
        out.append(v)
    return sorted(set(out))


#: significant digits of a price (or price multiplier) a range generates
PRICE_DIGITS = 4


def is_price_field(path: str) -> bool:
    """A price: a catalog cost curve (swept as a multiplier) or any field in dollars."""
    return path.split(".")[-1] in CURVE_FIELDS or path.endswith("_usd")
#: the range `sweep` uses for the context length when none is given: 1k to 1M tokens, doubling
DEFAULT_RANGES = {"workload.context_length": "1k:1M:11:log"}
CURVE_FIELDS = ("cost_usd",)


@dataclass(frozen=True)
class Point:
    """One sweep point: the value and its result (or why it has none)."""

    value: float
    result: Optional[SolveResult]
    infeasible: Optional[str]


def parse_number(text: str, binary: bool = False, what: str = "--values") -> float:
    """A number of the grammar in ``quantity`` (``2e6``, ``32k``, ``32_768``; binary multiples for token counts)."""
    try:
        return quantity.parse(text, binary)
    except quantity.NotANumber as exc:
        why = "" if str(exc) == "not a number" else f" ({exc})"
        raise UsageError(f"{what}: expected a number (optionally with k, M or G), found {shown(text)}{why}") from None


def parse_values(text: str, binary: bool = False) -> list[float]:
    items = [x for x in text.split(",")]
    if not text.strip() or any(not x.strip() for x in items):
        raise UsageError(f"--values: expected numbers separated by commas, found {shown(text)}")
    if len(items) > MAX_POINTS:
        raise UsageError(f"--values: {len(items):,} values, more than a sweep may solve ({MAX_POINTS:,})")
    return [parse_number(x, binary) for x in items]


def parse_range(text: str, binary: bool = False) -> tuple[list[float], bool]:
    """``LO:HI:N[:log]`` as N values from LO to HI, evenly or log-spaced; returns (values, log)."""
    parts = text.split(":")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "log"):
        raise UsageError(f"--range: expected LO:HI:N or LO:HI:N:log, found {shown(text)}")
    lo, hi = parse_number(parts[0], binary, "--range"), parse_number(parts[1], binary, "--range")
    try:
        n = int(parts[2]) if len(parts[2]) <= MAX_DIGITS else None
    except ValueError:
        n = None
    if n is None:
        raise UsageError(f"--range: expected a whole number of points, found {shown(parts[2])}") from None
    log = len(parts) == 4
    if n < 1:
        raise UsageError(f"--range: expected at least 1 point, found {n}")
    if n > MAX_POINTS:
        raise UsageError(f"--range: {n:,} points, more than a sweep may solve ({MAX_POINTS:,})")
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
            raise UsageError(f"--param {path}: not a numeric field (found {shown(current[field])})")
        else:
            fields[field] = value
        return raw
    if keys[0] == "model" and isinstance(raw.get("model"), str):
        raw["model"] = {"preset": raw["model"]}
    node, key = _walk(raw, keys, path)
    current = node.get(key)
    if isinstance(current, (bool, str, list, dict)):
        raise UsageError(f"--param {path}: not a numeric field (found {shown(current)})")
    node[key] = value
    return raw


def catalog_lookup(catalog_dir: Optional[str | Path], flag: str = "--param") -> Callable[[str, str], dict]:
    """``(section, entry) -> the entry's raw mapping`` in the catalog folder, for ``apply``."""
    from .catalog import default_directory
    from .errors import CatalogError
    from .yamlio import read_yaml_cached
    cat_dir = Path(catalog_dir) if catalog_dir else default_directory()

    def catalog_raw(section: str, entry: str) -> dict:
        doc = read_yaml_cached(cat_dir / f"{section}.yaml", CatalogError)
        items = doc.get(section) if isinstance(doc, dict) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("name") == entry:
                return item
        raise UsageError(f"{flag} catalog.{section}.{entry}: no {section} entry named {shown(entry)}")
    return catalog_raw


def load_with_sets(path: Optional[str | Path], sets: Sequence[str], catalog_dir: Optional[str] = None):
    """The problem with every ``--set PATH=VALUE`` applied (the sweep's path grammar; VALUE a number of the
    grammar in ``quantity``, or a word for a text field of the problem), checked by the loaders."""
    from .problem import load_problem
    if not sets:
        return load_problem(path, catalog_dir)
    raw, file = read_problem_dict(path)
    if not isinstance(raw, dict):
        return problem_from_dict(raw, file, catalog_dir)  # the loader's own message
    catalog_raw = catalog_lookup(catalog_dir, "--set")
    for item in sets:
        pth, sep, text = item.partition("=")
        if not sep or not pth or not text.strip():
            raise UsageError(f"--set: expected PATH=VALUE, e.g. workload.context_length=32k, found {shown(item)}")
        try:
            value: Any = quantity.parse(text, is_token_field(pth))
        except quantity.NotANumber:
            value = text.strip()
        try:
            if isinstance(value, str):
                raw = _set_text(raw, pth, value)
            else:
                value = settle(pth, [value])[0]
                raw = apply(raw, pth, value, catalog_raw)
        except UsageError as exc:
            raise UsageError(str(exc).replace("--param", "--set", 1)) from None
    try:
        return problem_from_dict(raw, file, catalog_dir)
    except InputError as exc:
        raise type(exc)(f"--set {', '.join(shown(x)[1:-1] for x in sets)}: {exc}") from None


def _set_text(raw: dict, path: str, value: str) -> dict:
    """A copy of the problem mapping with the text field at ``path`` set to ``value``."""
    keys = path.split(".")
    if keys[0] == "catalog" or len(keys) < 1 or not all(keys):
        raise UsageError(f"--set {shown(path)[1:-1]}: expected a number, found {shown(value)}")
    raw = copy.deepcopy(raw)
    if len(keys) == 1:
        raw[keys[0]] = value
        return raw
    if keys[0] == "model" and isinstance(raw.get("model"), str):
        raw["model"] = {"preset": raw["model"]}
    node, key = _walk(raw, keys, path)
    if isinstance(node.get(key), (int, float, list, dict)) and not isinstance(node.get(key), bool):
        raise UsageError(f"--set {shown(path)[1:-1]}: expected a number, found {shown(value)}")
    node[key] = value
    return raw


def _scaled_curve(curve: dict, factor: float, path: str) -> dict:
    if factor <= 0:
        raise UsageError(f"--param {path}: a price multiplier must be positive, found {factor:g}")
    out = copy.deepcopy(curve)
    k = exact(factor)

    def times(x: Any) -> Any:  # exact products: 272 x 1.1 is 299.2, not the float 299.20000000000005
        try:
            v = quantity.parse(x, False) if isinstance(x, str) else x
            return exact(v) * k if isinstance(v, (int, float)) and not isinstance(v, bool) else x
        except quantity.NotANumber:
            return x  # left for the catalog's own check to report
    if "points" in out:
        out["points"] = [[q, times(usd)] for q, usd in out["points"]]
    if "die_yield" in out:
        dy = out["die_yield"]
        for f in ("wafer_cost_usd", "fixed_usd"):
            if f in dy:
                dy[f] = times(dy[f])
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
    if len(values) > MAX_POINTS:
        raise UsageError(f"--param: {len(values):,} points, more than a sweep may solve ({MAX_POINTS:,})")
    catalog_raw = catalog_lookup(catalog_dir)
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
