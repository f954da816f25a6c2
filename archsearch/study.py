"""Studies: a problem solved at every point of a grid of swept parameters, from a study file.

A study file (``archsearch study STUDY.yaml``, format in ``docs/studies.md``) names a problem, any
number of swept parameters (the sweep's dotted paths, ``archsearch/sweep.py``), each with a list of
values or a range, the top K per point and the outputs.  The grid is every combination, the first
parameter outermost; its size is checked against ``max_points`` before any work starts.

Points are solved in contiguous chunks (each chunk warm-starts point to point, as a sweep does) by an
engine: in this process, in worker processes, or on a Dask cluster (``study_engines``).  A chunk
returns compact rows (the swept values and each design's figures: no problem, no catalog), which are
appended to the CSV journal as soon as the chunk finishes (``study_output``), so an interrupted study
resumes (``resume=True``) without solving a finished point again.  Every point is solved exactly, so
the rows do not depend on the engine, the number of workers or the chunking.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from .errors import InfeasibleError, InputError, StudyError, UsageError
from .yamlio import Entry, key_text, read_yaml

#: the most points a study may have unless its file says otherwise (max_points)
DEFAULT_MAX_POINTS = 100_000
#: points per chunk: the unit of warm starts, streaming and resuming
CHUNK_POINTS = 16
#: the columns of a design in a study's rows (from ``report.design_row``), after the swept values
DESIGN_COLUMNS = ("memory", "node", "units_per_node", "nodes", "tensor_parallel", "pipeline_parallel",
                  "interconnect", "topology", "bandwidth_per_dollar", "cost_usd", "decode_tokens_per_s_per_user",
                  "system_tokens_per_s", "power_w", "binding")
OUTPUT_KINDS = ("csv", "parquet", "json", "plot")


@dataclass(frozen=True)
class Parameter:
    path: str
    values: tuple[float, ...]
    log: bool


@dataclass(frozen=True)
class StudySpec:
    """A study file, checked: what to solve and where the results go."""

    name: str
    file: str
    problem: str                     # a bundled problem name or a path
    catalog: Optional[str]
    parameters: tuple[Parameter, ...]
    top_k: int
    distinct: Optional[str]
    max_points: int
    outputs: dict[str, str] = field(default_factory=dict)   # kind -> path (csv always present)

    @property
    def size(self) -> int:
        return math.prod(len(p.values) for p in self.parameters)

    def points(self) -> list[tuple[float, ...]]:
        """Every combination of the parameters' values, the first parameter outermost."""
        return list(itertools.product(*(p.values for p in self.parameters)))

    def columns(self) -> list[str]:
        return ["point"] + [p.path for p in self.parameters] + ["rank", "status", "engine", *DESIGN_COLUMNS,
                                                                  "point_rows", "why"]

    def fingerprint(self) -> str:
        """What the rows depend on: a resumed study must match the journal's."""
        doc = {"problem": self.problem, "catalog": self.catalog, "top_k": self.top_k, "distinct": self.distinct,
               "parameters": [[p.path, list(p.values)] for p in self.parameters]}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


# -- the study file ---------------------------------------------------------------------------------
#: the top-level fields of a study file (docs/studies.md)
STUDY_FIELDS = ("name", "problem", "catalog", "top_k", "distinct", "max_points", "parameters", "outputs")


def load_study(path: str | Path, out_dir: Optional[str | Path] = None) -> StudySpec:
    """Read and check a study file; output paths are relative to ``out_dir`` (default: the current folder)."""
    from . import sweep as sw
    file = str(path)
    raw = read_yaml(Path(path), StudyError)
    top = Entry(raw, file, "study", StudyError).allow(STUDY_FIELDS)
    name = top.string("name", default=Path(path).stem)
    problem = top.string("problem", default="llama-2-70b-chat")
    catalog = top.string("catalog", default=None)
    top_k = top.number("top_k", positive=True, integer=True, default=1)
    distinct = top.string("distinct", choices=("architecture", "medium", "design"), default=None)
    max_points = top.number("max_points", positive=True, integer=True, default=DEFAULT_MAX_POINTS)
    items = top.pop("parameters")
    if not isinstance(items, list) or not items:
        raise top.fail("parameters", "a non-empty list of {path, values or range}", items)
    params: list[Parameter] = []
    for i, item in enumerate(items):
        path_ = item.get("path") if isinstance(item, dict) else None  # names the entry in an unknown-field message
        label = path_ if isinstance(path_, str) and path_ and key_text(path_) == path_ else i
        e = Entry(item, file, f"study.parameters[{label}]", StudyError).allow(("path", "values", "range"))
        p = e.string("path")
        where = f"study.parameters[{p}]"
        e.entry = where
        if p in (q.path for q in params):
            raise e.message("path", "the same parameter twice")
        binary = sw.is_token_field(p)
        has_values, has_range = e.has("values"), e.has("range")
        if has_values == has_range:
            raise e.message(None, "expected exactly one of 'values' (a list) and 'range' (LO:HI:N or LO:HI:N:log)")
        try:
            if has_values:
                v = e.pop("values")
                if isinstance(v, list) and v and all(isinstance(x, (int, float, str)) and not isinstance(x, bool)
                                                      for x in v):
                    vals = [float(x) if not isinstance(x, str) else sw.parse_number(x, binary) for x in v]
                elif isinstance(v, str):
                    vals = sw.parse_values(v, binary)
                else:
                    raise e.fail("values", "a non-empty list of numbers", v)
                vals, log = sw.settle(p, vals), False
            else:
                spec = e.pop("range")
                if not isinstance(spec, str):
                    raise e.fail("range", "LO:HI:N or LO:HI:N:log (a string)", spec)
                vals, log = sw.parse_range(spec, binary)
                vals = sw.settle(p, vals, rounded=True)
        except UsageError as exc:
            text = str(exc).split(": ", 1)[-1]
            raise StudyError(f"{file}: {where}: {'values' if has_values else 'range'}: {text}") from None
        e.done()
        if len(vals) > 1 and not log and vals[0] > 0 and vals[-1] / vals[0] >= 100:
            log = True
        params.append(Parameter(p, tuple(vals), log))
    out = top.child("outputs", default={}).allow(OUTPUT_KINDS)
    outputs: dict[str, str] = {}
    for kind in OUTPUT_KINDS:
        target = out.string(kind, default=None)
        if target is not None:
            outputs[kind] = target
    out.done()
    top.done()
    outputs.setdefault("csv", f"{name}.csv")  # the journal: always written, it is what --resume reads
    base = Path(out_dir) if out_dir is not None else Path(".")
    outputs = {k: str(base / v) for k, v in outputs.items()}
    spec = StudySpec(name=name, file=file, problem=problem, catalog=catalog, parameters=tuple(params), top_k=top_k,
                     distinct=distinct, max_points=max_points, outputs=outputs)
    check_size(spec)
    return spec


def check_size(spec: StudySpec) -> None:
    """A study larger than its max_points is refused before any work starts."""
    if spec.size > spec.max_points:
        dims = " x ".join(str(len(p.values)) for p in spec.parameters)
        raise StudyError(f"{spec.file}: study: {dims} = {spec.size:,} points exceeds max_points {spec.max_points:,} "
                         "(raise max_points in the study file if you mean it)")


# -- one chunk of points (runs in any engine's worker) -------------------------------------------------
@dataclass(frozen=True)
class StudyContext:
    """Everything a worker needs, small enough to send with every chunk: the problem's mapping, not the
    problem (each worker process builds its catalog once, ``_catalog_memo``)."""

    raw: dict
    file: str
    catalog_dir: Optional[str]
    paths: tuple[str, ...]
    top_k: int
    distinct: Optional[str]


@functools.lru_cache(maxsize=8)
def _catalog_memo(directory: Optional[str], overrides_json: str, overrides_file: str):
    from .catalog import load_catalog
    return load_catalog(directory, json.loads(overrides_json), overrides_file=overrides_file)


def shared_catalog(directory, overrides, overrides_file: str = "problem"):
    """``load_catalog``, remembered per (directory, overrides) in this process: points that change only the
    workload share one catalog.  Callers never change a catalog, so sharing it is safe."""
    return _catalog_memo(None if directory is None else str(directory),
                         json.dumps(overrides or {}, sort_keys=True, default=str), overrides_file)


def point_problem(ctx: StudyContext, values: Sequence[float]):
    """The problem at one point of the grid (an InputError names the point)."""
    from .problem import problem_from_dict
    from .sweep import apply
    raw = ctx.raw
    for p, v in zip(ctx.paths, values):
        raw = apply(raw, p, v, _catalog_entry(ctx.catalog_dir))
    try:
        return problem_from_dict(raw, ctx.file, ctx.catalog_dir, catalog_loader=shared_catalog)
    except InputError as exc:
        shown = ", ".join(f"{p} = {v:g}" for p, v in zip(ctx.paths, values))
        raise StudyError(f"at {shown}: {exc}") from None


def _catalog_entry(catalog_dir: Optional[str]) -> Callable[[str, str], dict]:
    from .catalog import default_directory
    from .errors import CatalogError
    from .yamlio import read_yaml_cached
    cat_dir = Path(catalog_dir) if catalog_dir else default_directory()

    def entry(section: str, name: str) -> dict:
        doc = read_yaml_cached(cat_dir / f"{section}.yaml", CatalogError)
        for item in (doc or {}).get(section, []) or []:
            if isinstance(item, dict) and item.get("name") == name:
                return item
        raise UsageError(f"catalog.{section}.{name}: no {section} entry named {name!r}")
    return entry


def solve_chunk(ctx: StudyContext, chunk: Sequence[tuple[int, tuple[float, ...]]]) -> list[list[dict]]:
    """Solve the points of one chunk in order, warm-starting each from the previous point's designs;
    one list of rows per point."""
    from .solve import solve
    out = []
    previous: tuple = ()
    for index, values in chunk:
        problem = point_problem(ctx, values)
        at = {"point": index, **dict(zip(ctx.paths, values))}
        try:
            result = solve(problem, top_k=ctx.top_k, distinct=ctx.distinct, warm=previous)
        except InfeasibleError as exc:
            out.append([{**at, "rank": None, "status": "INFEASIBLE", "engine": getattr(exc, "engine", "cp-sat"),
                         "point_rows": 1, "why": str(exc)}])
            continue
        previous = tuple(rd.design for rd in result.designs)
        out.append(result_rows(at, result, result.engine))
    return out


def result_rows(at: dict, result, engine: str) -> list[dict]:
    """The compact rows of one point: the swept values, then each design's figures."""
    from .report import design_row
    rows = []
    for rd in result.designs:
        r = design_row(rd)
        rows.append({**at, "rank": rd.rank, "status": result.status, "engine": engine,
                     **{c: r.get(c) for c in DESIGN_COLUMNS}, "point_rows": len(result.designs), "why": None})
    return rows


# -- running a study ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StudyRun:
    """What a run did: points in the study, points solved now, points found finished in the journal."""

    spec: StudySpec
    rows: list[dict]
    solved: int
    resumed: int
    seconds: float
    engine: str
    written: dict[str, str]


def make_context(spec: StudySpec) -> StudyContext:
    """The study's problem, checked once, and every parameter's values checked one at a time (each value
    with the others at the problem's own values) before any solve, with the loader's own message."""
    from .problem import read_problem_dict
    from .sweep import apply
    try:
        raw, file = read_problem_dict(spec.problem)
    except InputError as exc:
        raise StudyError(f"{spec.file}: study.problem: {exc}") from None
    ctx = StudyContext(raw=raw, file=file, catalog_dir=spec.catalog, paths=tuple(p.path for p in spec.parameters),
                       top_k=spec.top_k, distinct=spec.distinct)
    from .problem import problem_from_dict
    problem_from_dict(raw, file, spec.catalog, catalog_loader=shared_catalog)
    for p in spec.parameters:
        for v in p.values:
            try:
                r = apply(raw, p.path, v, _catalog_entry(spec.catalog))
                problem_from_dict(r, file, spec.catalog, catalog_loader=shared_catalog)
            except InputError as exc:
                raise StudyError(f"{spec.file}: study.parameters[{p.path}]: at {v:g}: {exc}") from None
    return ctx


def chunks_of(pending: Sequence[tuple[int, tuple[float, ...]]], size: int = CHUNK_POINTS) -> list[list]:
    return [list(pending[i:i + size]) for i in range(0, len(pending), size)]


def run_study(spec: StudySpec, *, workers: int = 1, cluster: Optional[str] = None, resume: bool = False,
              progress: Optional[Callable[[int, int], None]] = None, chunk_points: int = CHUNK_POINTS,
              stop_after: Optional[int] = None) -> StudyRun:
    """Solve every point of ``spec``, streaming rows to the CSV journal, then write the other outputs.

    ``progress(done, total)`` is called after every chunk.  ``cluster``: a Dask scheduler address, or
    ``auto`` for a local Dask cluster of ``workers`` processes (``study_engines``).  ``stop_after``: stop
    after that many chunks (for tests of resuming; the journal keeps what finished).
    """
    from . import study_engines, study_output
    started = time.monotonic()
    check_size(spec)
    ctx = make_context(spec)
    grid = spec.points()
    journal = study_output.Journal(Path(spec.outputs["csv"]), spec.columns(), spec.fingerprint())
    done = journal.open(resume)
    resumed = len(done)
    pending = [(i, v) for i, v in enumerate(grid) if i not in done]
    total, finished = len(grid), resumed
    if progress:
        progress(finished, total)
    engine_name = "local" if cluster is None else "dask"
    chunks = chunks_of(pending, chunk_points)
    if stop_after is not None:
        chunks = chunks[:stop_after]
    try:
        for rows_per_point in study_engines.run_chunks(ctx, chunks, workers=workers, cluster=cluster):
            journal.append(rows_per_point)
            finished += len(rows_per_point)
            if progress:
                progress(finished, total)
    finally:
        journal.close()
    rows = journal.read_rows()
    written = {"csv": spec.outputs["csv"]}
    if finished == total:
        written = study_output.write_outputs(spec, rows)
    return StudyRun(spec=spec, rows=rows, solved=finished - resumed, resumed=resumed,
                    seconds=time.monotonic() - started, engine=engine_name, written=written)
