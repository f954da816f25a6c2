"""Loading a problem YAML: a model, a serving workload, constraints and search settings.

The annotated schema is in docs/problem-file.md.  Every field is checked; unknown keys
are errors; a problem may override any catalog field under ``overrides:``.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping

from .catalog import FILES, Catalog, ModelSpec, load_catalog, model_from_entry
from .errors import ProblemError
from .units import DTYPE_BYTES
from .yamlio import MAX_BYTES, Entry, field_names, parse_yaml, read_yaml, shown

DEFAULT_PROBLEM = "llama-2-70b-chat.yaml"
STDIN = "-"                 # a problem path of "-" reads the problem from standard input
STDIN_LABEL = "<stdin>"     # how messages name it
BALANCE_RULES = ("ratio", "comm_time")
SPEED_MODELS = ("calibrated", "roofline")   # docs/calibration.md
DEFAULT_SPEED_MODEL = "calibrated"
DEFAULT_BALANCE_RULE = "comm_time"          # the physics; "ratio" is the essay's rule of thumb
DISTINCT = ("architecture", "medium", "design")
#: the top-level fields of a problem file (docs/problem-file.md)
PROBLEM_FIELDS = ("name", "description", "overrides", "model", "workload", "constraints", "cost", "search")
ENGINES = ("auto", "cp-sat", "enumeration")   # search.engine: what proves the answer (docs/benchmarks.md)
SWAP_MODES = ("swap", "recompute", "best")
TP_RULES = ("divides_heads", "any")
DTYPES = tuple(DTYPE_BYTES)
COMPUTE_DTYPES = ("bf16", "fp8")   # the rate the tensor units run at: a node's compute_tflops or compute_tflops_fp8


@dataclass(frozen=True)
class Speculative:
    draft_tokens: int                   # tokens the draft proposes per step (gamma)
    accepted_tokens_per_step: float     # expected tokens each verification step yields, 1..gamma+1
    draft_parameters: float             # parameters of the draft model (0: n-gram or self-drafting)


@dataclass(frozen=True)
class KvSwap:
    idle_requests: int                  # requests between turns, their KV parked in the backing tier
    backing: tuple[str, ...]            # memory media that may serve as the backing tier
    mode: str                           # swap, recompute, or best (the better of the two, per design)
    node_io_gb_per_s: float             # each node's path to the backing tier, per direction


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
    prompt_tokens: int                  # prompt length per request; 0 = prefill not modelled
    prefill_compute_efficiency: float | None   # fraction of peak FLOP/s a prefill reaches (None: the node's,
                                               # or 0.5 under the roofline speed model)
    kv_read_fraction: float             # share of a request's KV read per decode step (KV sparsity)
    speculative: Speculative | None
    kv_swap: KvSwap | None
    prefill_here: bool = True           # False for a decode pool whose prompts are prefilled elsewhere


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
    expert_parallel: bool
    max_ttft_ms: float | None
    balance: Balance
    speed_model: str = DEFAULT_SPEED_MODEL   # calibrated (measured terms) or roofline (the upper bound)
    max_nodes_requested: int | None = None   # the problem's max_nodes when above every tier's reach (clamped)


@dataclass(frozen=True)
class CostSettings:
    basis: str
    market_over_build: float
    amortisation_years: float       # capital spread over this many years for cost per million tokens


@dataclass(frozen=True)
class Search:
    top_k: int
    distinct: str
    time_limit_s: float
    seed: int
    workers: int
    include: Mapping[str, tuple[str, ...]]
    two_level: bool = False         # opt-in: designs may join scale-up domains by a scale-out fabric (issue 11)
    engine: str = "auto"            # what proves the answer: CP-SAT, exhaustive enumeration, or auto by space size


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

    @classmethod
    def from_dict(cls, raw: Any, *, name: str = "<dict>", catalog_dir: Path | str | None = None) -> "Problem":
        """A problem from a mapping shaped like a problem file (``name`` is what error messages call it)."""
        return problem_from_dict(raw, name, catalog_dir)

    @classmethod
    def from_yaml(cls, path: Path | str, *, catalog_dir: Path | str | None = None) -> "Problem":
        """A problem from a YAML file, or a bundled problem's name (``llama-2-70b-chat``)."""
        return load_problem(path, catalog_dir)

    def __repr__(self) -> str:
        return f"Problem({self.name!r}, model={self.model.name!r}, path={self.path!r})"


def default_problem_path() -> Path:
    return Path(str(resources.files("archsearch") / "problems" / DEFAULT_PROBLEM))


def bundled_problems() -> list[Path]:
    folder = Path(str(resources.files("archsearch") / "problems"))
    return sorted(folder.glob("*.yaml"))


def resolve_problem_path(path: Path | str | None) -> Path:
    """The file to read: the given path; a bundled problem's name (``long-document-prefill``, or
    ``problems/long-document-prefill.yaml`` run outside the repository); or the default problem."""
    if path is None:
        return default_problem_path()
    if str(path) == STDIN:
        return Path(STDIN)
    path = Path(path)
    if not path.exists():
        stem = path.name[:-5] if path.name.endswith(".yaml") else path.name
        if path.parent in (Path("."), Path("problems")):
            bundled = {p.stem: p for p in bundled_problems()}
            if stem in bundled:
                return bundled[stem]
            near = difflib.get_close_matches(stem, list(bundled), n=1, cutoff=0.6)
            hint = f"did you mean '{near[0]}'? " if near else ""
            raise ProblemError(f"{shown(str(path))[1:-1]}: file not found ({hint}bundled problems: {', '.join(bundled)})")
    return path


_STDIN_TEXT: list[str] = []


def _read(path: Path) -> Any:
    """The raw mapping of a problem file, or of standard input when the path is ``-`` (read once per process)."""
    if str(path) == STDIN:
        if not _STDIN_TEXT:
            _STDIN_TEXT.append(sys.stdin.read(MAX_BYTES + 1))
        return parse_yaml(_STDIN_TEXT[0], STDIN_LABEL, ProblemError)
    return read_yaml(path, ProblemError)


def _label(path: Path) -> str:
    return STDIN_LABEL if str(path) == STDIN else str(path)


def load_problem(path: Path | str | None = None, catalog_dir: Path | str | None = None) -> Problem:
    """Read and check a problem file (default: the bundled default problem)."""
    path = resolve_problem_path(path)
    return problem_from_dict(_read(path), _label(path), catalog_dir)


def read_problem_dict(path: Path | str | None = None) -> tuple[Any, str]:
    """The raw mapping of a problem file and the file name messages use (for sweeps that change fields)."""
    path = resolve_problem_path(path)
    return _read(path), _label(path)


def problem_from_dict(raw: Any, file: str, catalog_dir: Path | str | None = None, *,
                      catalog_loader: Callable[..., Catalog] | None = None) -> Problem:
    """Check a problem given as the mapping a problem file holds; ``file`` names it in messages.

    ``catalog_loader``: called as ``load_catalog`` is (a study passes a memo of it, so thousands of points
    share one catalog)."""
    raw = copy.deepcopy(raw)
    top = Entry(raw, file, "problem", ProblemError, kind="").allow(PROBLEM_FIELDS)
    name = top.string("name")
    if not name.isprintable() or len(name) > 100:
        raise top.fail("name", "a one-line name of at most 100 printable characters", name)
    description = top.string("description", default="")
    overrides = top.pop("overrides", {})
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, dict):
        raise top.fail("overrides", "a mapping of catalog sections", overrides)
    catalog = (catalog_loader or load_catalog)(catalog_dir, overrides, overrides_file=file)

    model = _model(top, catalog, file)
    workload = _workload(top.child("workload"), catalog)
    constraints = _constraints(top.child("constraints"))
    if workload.kv_swap is not None and workload.kv_swap.mode != "recompute" and \
            workload.min_decode_tokens_per_s_per_user == 0:
        raise ProblemError(f"{file}: problem.workload.kv_swap: mode: swapping is sized at the speed target; set "
                           "workload.min_decode_tokens_per_s_per_user, or use mode: recompute")
    if constraints.max_ttft_ms is not None and workload.prompt_tokens == 0:
        raise ProblemError(f"{file}: problem.constraints: max_ttft_ms: needs workload.prompt_tokens "
                           "(time to first token is the prefill of the prompt)")
    cost = _cost(top.child("cost", default={}))
    search = _search(top.child("search", default={}), catalog)
    top.done()
    reach = max((ic.reach_nodes for ic in catalog.interconnects.values()), default=1)
    if constraints.max_nodes > reach:  # unreachable: no tier connects more nodes; clamped, and reports say so
        constraints = dataclasses.replace(constraints, max_nodes=reach, max_nodes_requested=constraints.max_nodes)
    if constraints.max_tensor_parallel > constraints.max_nodes:
        constraints = dataclasses.replace(constraints, max_tensor_parallel=constraints.max_nodes)
    return Problem(name=name, description=description, path=file, model=model, workload=workload,
                   constraints=constraints, cost=cost, search=search, catalog=catalog)


def _model(top: Entry, catalog: Catalog, file: str) -> ModelSpec:
    raw = top.pop("model")
    if isinstance(raw, str):
        if raw not in catalog.models:
            raise top.message("model", f"unknown model preset {shown(raw)} (known: {', '.join(sorted(catalog.models))})")
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
    return model_from_entry(Entry(fields, file, "problem.model", ProblemError, kind="models"))


def _speculative(e: Entry) -> Speculative | None:
    x = e.optional_child("speculative")
    if x is None:
        return None
    x.allow(field_names(Speculative))
    sp = Speculative(draft_tokens=x.number("draft_tokens"),
                     accepted_tokens_per_step=x.number("accepted_tokens_per_step"),
                     draft_parameters=x.number("draft_parameters", default=0))
    x.done()
    if sp.accepted_tokens_per_step > sp.draft_tokens + 1:
        raise x.message("accepted_tokens_per_step", f"{sp.accepted_tokens_per_step:g} exceeds draft_tokens + 1 = "
                                                    f"{sp.draft_tokens + 1} (a step yields at most the drafted tokens "
                                                    "and one of its own)")
    return sp


def _kv_swap(e: Entry, catalog: Catalog) -> KvSwap | None:
    x = e.optional_child("kv_swap")
    if x is None:
        return None
    x.allow(field_names(KvSwap))
    ks = KvSwap(idle_requests=x.number("idle_requests"),
                backing=x.string_list("backing", default=("ddr5-rdimm", "cxl-expander", "nvme-ssd")),
                mode=x.string("mode", choices=SWAP_MODES, default="best"),
                node_io_gb_per_s=x.number("node_io_gb_per_s", default=64))
    for name in ks.backing:
        if name not in catalog.memory:
            raise x.message("backing", f"unknown memory {shown(name)} (known: {', '.join(sorted(catalog.memory))})")
    x.done()
    return ks


def _workload(e: Entry, catalog: Catalog) -> Workload:
    e.allow(field_names(Workload, drop=("prefill_here",)))
    w = Workload(
        context_length=e.number("context_length"),
        concurrency=e.number("concurrency"),
        output_tokens_per_request=e.number("output_tokens_per_request", default=512),
        min_decode_tokens_per_s_per_user=e.number("min_decode_tokens_per_s_per_user", default=0),
        weight_dtype=e.string("weight_dtype", choices=DTYPES, default="bf16"),
        kv_dtype=e.string("kv_dtype", choices=DTYPES, default="bf16"),
        activation_dtype=e.string("activation_dtype", choices=DTYPES, default="bf16"),
        compute_dtype=e.string("compute_dtype", choices=COMPUTE_DTYPES, default="bf16"),
        prompt_tokens=e.number("prompt_tokens", default=0),
        prefill_compute_efficiency=e.number("prefill_compute_efficiency", default=None),  # None: the node's own
        kv_read_fraction=e.number("kv_read_fraction", default=1.0),
        speculative=_speculative(e),
        kv_swap=_kv_swap(e, catalog),
    )
    if w.prompt_tokens > w.context_length:
        raise e.message("prompt_tokens", f"{w.prompt_tokens} exceeds context_length {w.context_length} "
                                         "(the context holds the prompt)")
    e.done()
    return w


def _constraints(e: Entry) -> Constraints:
    e.allow(field_names(Constraints, drop=("max_nodes_requested",)))
    b = e.child("balance", default={}).allow(field_names(Balance))
    balance = Balance(
        rule=b.string("rule", choices=BALANCE_RULES, default=DEFAULT_BALANCE_RULE),
        tensor_parallel_ratio=b.number("tensor_parallel_ratio", default=1.0),
        pipeline_parallel_ratio=b.number("pipeline_parallel_ratio", default=0.1),
        comm_time_ratio=b.number("comm_time_ratio", default=0.5),
    )
    b.done()
    max_nodes = e.number("max_nodes")
    c = Constraints(
        max_nodes=max_nodes,
        budget_usd=e.number("budget_usd", default=None, allow_none=True),
        max_power_w=e.number("max_power_w", default=None, allow_none=True),
        capacity_overhead_fraction=e.number("capacity_overhead_fraction", default=0.1),
        tensor_parallel=e.string("tensor_parallel", choices=TP_RULES, default="divides_heads"),
        max_tensor_parallel=e.number("max_tensor_parallel", default=64),
        expert_parallel=e.boolean("expert_parallel", default=False),
        max_ttft_ms=e.number("max_ttft_ms", default=None, allow_none=True),
        balance=balance,
        speed_model=e.string("speed_model", choices=SPEED_MODELS, default=DEFAULT_SPEED_MODEL),
    )
    e.done()
    return c


def _cost(e: Entry) -> CostSettings:
    e.allow(field_names(CostSettings))
    c = CostSettings(
        basis=e.string("basis", choices=("build", "market"), default="build"),
        market_over_build=e.number("market_over_build", default=3.0),
        amortisation_years=e.number("amortisation_years", default=3.0),
    )
    e.done()
    return c


def _search(e: Entry, catalog: Catalog) -> Search:
    e.allow(field_names(Search))
    include_entry = e.child("include", default={}).allow(tuple(s for s in FILES if s != "models"))
    include: dict[str, tuple[str, ...]] = {}
    for section in FILES:
        if section == "models" or not include_entry.has(section):
            continue
        names = include_entry.string_list(section)
        known = catalog.section(section)
        for n in names:
            if n not in known:
                raise include_entry.message(section, f"unknown {section} entry {shown(n)} (known: {', '.join(sorted(known))})")
        include[section] = names
    include_entry.done()
    s = Search(
        top_k=e.number("top_k", default=10),
        distinct=e.string("distinct", choices=DISTINCT, default="architecture"),
        time_limit_s=e.number("time_limit_s", default=60),
        seed=e.number("seed", default=0),
        workers=e.number("workers", default=1),
        include=include,
        two_level=e.boolean("two_level", default=False),
        engine=e.string("engine", choices=ENGINES, default="auto"),
    )
    e.done()
    return s
