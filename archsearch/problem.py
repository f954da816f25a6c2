"""Loading a problem YAML: a model, a serving workload, constraints and search settings.

The annotated schema is in the README.  Every field is checked; unknown keys
are errors; a problem may override any catalog field under ``overrides:``.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from .catalog import FILES, Catalog, ModelSpec, load_catalog, model_from_entry
from .errors import ProblemError
from .units import DTYPE_BYTES
from .yamlio import Entry, read_yaml

DEFAULT_PROBLEM = "llama-2-70b-chat.yaml"
BALANCE_RULES = ("ratio", "comm_time")
DISTINCT = ("architecture", "medium", "design")
TP_RULES = ("divides_heads", "any")
DTYPES = tuple(DTYPE_BYTES)
COMPUTE_DTYPES = ("bf16", "fp8")   # the rate the tensor units run at: a node's compute_tflops or compute_tflops_fp8


@dataclass(frozen=True)
class Workload:
    context_length: int
    concurrency: int
    output_tokens_per_request: int
    min_decode_tokens_per_s_per_user: float
    weight_dtype: str
    kv_dtype: str
    activation_dtype: str
    compute_dtype: str


@dataclass(frozen=True)
class Balance:
    rule: str
    tensor_parallel_ratio: float
    pipeline_parallel_ratio: float
    comm_time_ratio: float


@dataclass(frozen=True)
class Constraints:
    max_nodes: int
    budget_usd: float | None
    max_power_w: float | None
    capacity_overhead_fraction: float
    tensor_parallel: str
    max_tensor_parallel: int
    balance: Balance


@dataclass(frozen=True)
class CostSettings:
    basis: str
    market_over_build: float


@dataclass(frozen=True)
class Search:
    top_k: int
    distinct: str
    time_limit_s: float
    seed: int
    workers: int
    include: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Problem:
    name: str
    description: str
    path: str
    model: ModelSpec
    workload: Workload
    constraints: Constraints
    cost: CostSettings
    search: Search
    catalog: Catalog


def default_problem_path() -> Path:
    return Path(str(resources.files("archsearch") / "problems" / DEFAULT_PROBLEM))


def bundled_problems() -> list[Path]:
    folder = Path(str(resources.files("archsearch") / "problems"))
    return sorted(folder.glob("*.yaml"))


def load_problem(path: Path | str | None = None, catalog_dir: Path | str | None = None) -> Problem:
    """Read and check a problem file (default: the bundled default problem)."""
    path = Path(path) if path is not None else default_problem_path()
    return problem_from_dict(read_yaml(path, ProblemError), str(path), catalog_dir)


def read_problem_dict(path: Path | str | None = None) -> tuple[Any, str]:
    """The raw mapping of a problem file and the file name messages use (for sweeps that change fields)."""
    path = Path(path) if path is not None else default_problem_path()
    return read_yaml(path, ProblemError), str(path)


def problem_from_dict(raw: Any, file: str, catalog_dir: Path | str | None = None) -> Problem:
    """Check a problem given as the mapping a problem file holds; ``file`` names it in messages."""
    raw = copy.deepcopy(raw)
    top = Entry(raw, file, "problem", ProblemError)
    name = top.string("name")
    description = top.string("description", default="")
    overrides = top.pop("overrides", {}) or {}
    if not isinstance(overrides, dict):
        raise top.fail("overrides", "a mapping of catalog sections", overrides)
    catalog = load_catalog(catalog_dir, overrides, overrides_file=file)

    model = _model(top, catalog, file)
    workload = _workload(top.child("workload"))
    constraints = _constraints(top.child("constraints"))
    cost = _cost(top.child("cost", default={}))
    search = _search(top.child("search", default={}), catalog)
    top.done()
    if constraints.max_tensor_parallel > constraints.max_nodes:
        constraints = dataclasses.replace(constraints, max_tensor_parallel=constraints.max_nodes)
    return Problem(name=name, description=description, path=file, model=model, workload=workload,
                   constraints=constraints, cost=cost, search=search, catalog=catalog)


def _model(top: Entry, catalog: Catalog, file: str) -> ModelSpec:
    raw = top.pop("model")
    if isinstance(raw, str):
        if raw not in catalog.models:
            raise top.message("model", f"unknown model preset '{raw}' (known: {', '.join(sorted(catalog.models))})")
        return catalog.models[raw]
    if not isinstance(raw, dict):
        raise top.fail("model", "a preset name or a mapping of model fields", raw)
    fields = dict(raw)
    preset = fields.pop("preset", None)
    if preset is not None:
        if not isinstance(preset, str) or preset not in catalog.models:
            raise top.message("model.preset", f"unknown model preset {preset!r} "
                                              f"(known: {', '.join(sorted(catalog.models))})")
        base = dataclasses.asdict(catalog.models[preset])
        base["estimate"] = list(base["estimate"]) if isinstance(base["estimate"], tuple) else base["estimate"]
        if fields and "name" not in fields:
            base["name"] = f"{preset}-modified"  # a changed model must not pass for the preset
        base.update(fields)
        fields = base
    else:
        fields.setdefault("description", "model given in the problem file")
        fields.setdefault("source", file)
        fields.setdefault("estimate", False)
    return model_from_entry(Entry(fields, file, "problem.model", ProblemError))


def _workload(e: Entry) -> Workload:
    w = Workload(
        context_length=e.number("context_length", positive=True, integer=True),
        concurrency=e.number("concurrency", positive=True, integer=True),
        output_tokens_per_request=e.number("output_tokens_per_request", positive=True, integer=True, default=512),
        min_decode_tokens_per_s_per_user=e.number("min_decode_tokens_per_s_per_user", minimum=0, default=0),
        weight_dtype=e.string("weight_dtype", choices=DTYPES, default="bf16"),
        kv_dtype=e.string("kv_dtype", choices=DTYPES, default="bf16"),
        activation_dtype=e.string("activation_dtype", choices=DTYPES, default="bf16"),
        compute_dtype=e.string("compute_dtype", choices=COMPUTE_DTYPES, default="bf16"),
    )
    e.done()
    return w


def _constraints(e: Entry) -> Constraints:
    b = e.child("balance", default={})
    balance = Balance(
        rule=b.string("rule", choices=BALANCE_RULES, default="ratio"),
        tensor_parallel_ratio=b.number("tensor_parallel_ratio", minimum=0, default=1.0),
        pipeline_parallel_ratio=b.number("pipeline_parallel_ratio", minimum=0, default=0.1),
        comm_time_ratio=b.number("comm_time_ratio", positive=True, default=0.5),
    )
    b.done()
    max_nodes = e.number("max_nodes", positive=True, integer=True)
    c = Constraints(
        max_nodes=max_nodes,
        budget_usd=e.number("budget_usd", positive=True, default=None, allow_none=True),
        max_power_w=e.number("max_power_w", positive=True, default=None, allow_none=True),
        capacity_overhead_fraction=e.number("capacity_overhead_fraction", minimum=0, default=0.1),
        tensor_parallel=e.string("tensor_parallel", choices=TP_RULES, default="divides_heads"),
        max_tensor_parallel=e.number("max_tensor_parallel", positive=True, integer=True, default=64),
        balance=balance,
    )
    e.done()
    return c


def _cost(e: Entry) -> CostSettings:
    c = CostSettings(
        basis=e.string("basis", choices=("build", "market"), default="build"),
        market_over_build=e.number("market_over_build", positive=True, default=3.0),
    )
    e.done()
    return c


def _search(e: Entry, catalog: Catalog) -> Search:
    include_entry = e.child("include", default={})
    include: dict[str, tuple[str, ...]] = {}
    for section in FILES:
        if section == "models" or not include_entry.has(section):
            continue
        names = include_entry.string_list(section)
        known = catalog.section(section)
        for n in names:
            if n not in known:
                raise include_entry.message(section, f"unknown {section} entry '{n}' (known: {', '.join(sorted(known))})")
        include[section] = names
    include_entry.done()
    s = Search(
        top_k=e.number("top_k", positive=True, integer=True, default=10),
        distinct=e.string("distinct", choices=DISTINCT, default="architecture"),
        time_limit_s=e.number("time_limit_s", positive=True, default=60),
        seed=e.number("seed", integer=True, minimum=0, default=0),
        workers=e.number("workers", integer=True, positive=True, default=1),
        include=include,
    )
    e.done()
    return s
