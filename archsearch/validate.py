"""The calibrated model against published measurements (``archsearch validate``, docs/calibration.md).

A measurement file lists cases: a design (catalog parts, or a reference design's name), a model and a
workload that reproduce the measured conditions, the metric measured, its value and source, and the set
the case belongs to: ``fit`` (the calibration terms were fitted to it: benchmarks/fit_calibration.py),
``check`` (held out: model / measured must lie within 1 +- band) or ``out_of_scope`` (shown, never
counted, with the reason).  The bundled file is ``catalogs/measurements.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, Optional

from . import physics
from .errors import UsageError
from .evaluate import DesignSpec, build_design
from .problem import SPEED_MODELS, problem_from_dict
from .reference import _spec, load_references
from .yamlio import Entry, entries, read_yaml, shown

SETS = ("fit", "check", "out_of_scope")
#: how an e2e case's prompts are prefilled: ``batch`` (a static batch: every prompt in one pass, as
#: benchmark_latency-style runs do) or ``request`` (requests arrive on their own: one prompt's TTFT)
PREFILLS = ("batch", "request")
METRICS = {"tpot_ms": "time per output token, ms", "tokens_per_s_per_user": "tokens/s per user",
           "ttft_ms": "time to first token, ms", "e2e_latency_ms": "request latency (TTFT + decode), ms",
           "system_tokens_per_s": "tokens/s, system", "tokens_per_s_per_node": "tokens/s per accelerator"}
#: a case's band unless it says otherwise (and why)
DEFAULT_BAND = 0.25
#: no check-set band may be wider than this (issue 9: within +-25%, none wider than +-50%)
MAX_BAND = 0.5


@dataclass(frozen=True)
class Case:
    name: str
    set: str
    source: str
    conditions: str
    design: DesignSpec
    model: Any                  # a models.yaml name or an explicit model mapping
    workload: dict
    metric: str
    measured: float
    band: float                 # allowed |model / measured - 1|
    reason: str                 # why the case is out of scope (out_of_scope only)
    why: str = ""               # why a band is wider than the default +-25%
    prefill: str = "batch"      # e2e: the batch's prompts prefilled in one pass (static batch) or per request


@dataclass(frozen=True)
class Row:
    case: Case
    model: float                # the calibrated figure
    bound: float                # the roofline figure (an upper bound on speed, a lower bound on time)

    @property
    def ratio(self) -> float:
        return self.model / self.case.measured

    @property
    def ok(self) -> bool:
        return abs(self.ratio - 1) <= self.case.band + 1e-12


def default_file() -> Path:
    return Path(str(resources.files("archsearch") / "catalogs" / "measurements.yaml"))


#: the fields of a measurements.yaml case (docs/validation.md)
CASE_FIELDS = ("name", "set", "source", "conditions", "design", "model", "workload", "metric", "measured", "band",
               "why", "reason", "prefill")


def _case(e: Entry, refs: dict[str, DesignSpec]) -> Case:
    e.allow(CASE_FIELDS)
    name = e.string("name")
    kind = e.string("set", choices=SETS)
    source, conditions = e.string("source"), e.string("conditions")
    raw = e.pop("design")
    if isinstance(raw, str):
        if raw not in refs:
            raise e.message("design", f"unknown reference design {shown(raw)} (known: {', '.join(sorted(refs)) or 'none'})")
        spec = refs[raw]
    else:  # read as a reference design's mapping is, with the case's name in messages
        spec = _spec(Entry({"design": raw}, e.file, e.entry, e.error))
    model = e.pop("model")
    if not isinstance(model, (str, dict)):
        raise e.fail("model", "a model name or a model mapping", model)
    workload = e.pop("workload")
    if not isinstance(workload, dict):
        raise e.fail("workload", "a mapping", workload)
    metric = e.string("metric", choices=tuple(METRICS))
    measured = e.number("measured", positive=True)
    band = e.number("band", positive=True, default=DEFAULT_BAND)
    if kind == "check" and band > MAX_BAND:
        raise e.fail("band", f"a band of at most {MAX_BAND:g} (+-{MAX_BAND:.0%}) for a check case", band)
    why = e.string("why", default="")
    if band > DEFAULT_BAND and not why:
        raise e.message("why", f"a band wider than +-{DEFAULT_BAND:.0%} must say why")
    reason = e.string("reason", default="")
    if kind == "out_of_scope" and not reason:
        raise e.message("reason", "an out_of_scope case must say why it is out of scope")
    prefill = e.string("prefill", choices=PREFILLS, default="batch")
    e.done()
    return Case(name, kind, source, conditions, spec, model, dict(workload), metric, measured, band, reason, why,
                prefill)


def load_measurements(path: Path | str | None = None, catalog_dir: Path | str | None = None) -> list[Case]:
    """The cases of a measurement file (default: the bundled one); reference designs from ``catalog_dir``."""
    path = Path(path) if path is not None else default_file()
    if not path.is_file():
        raise UsageError(f"{path}: measurement file not found")
    refs = {r.name: r.spec for r in load_references(catalog_dir)}
    out: list[Case] = []
    for e in entries(read_yaml(path, UsageError), str(path), "cases", UsageError):
        c = _case(e, refs)
        if any(c.name == o.name for o in out):
            raise UsageError(f"{path}: cases[{c.name}]: name: duplicate case name")
        out.append(c)
    return out


def _problem(case: Case, path: str, catalog_dir, speed_model: str, prompt: bool = True, overrides=None):
    w = dict(case.workload)
    if not prompt:
        w.pop("prompt_tokens", None)
    raw = {"name": "validate", "description": case.name, "model": case.model, "workload": w,
           "constraints": {"max_nodes": max(100000, case.design.nodes), "speed_model": speed_model},
           "cost": {"basis": "market"}, **({"overrides": overrides} if overrides else {})}
    return problem_from_dict(raw, f"{path}: cases[{case.name}]", catalog_dir)


def _metrics(case: Case, path: str, catalog_dir, speed_model: str, prompt: bool = True, overrides=None,
             batch_prefill: bool = False):
    """The problem, design and metrics of a case.  ``batch_prefill``: the TTFT is that of the whole batch's
    prompts in one pass (a static batch of c requests is prefilled together: c times one prompt's FLOPs,
    at the efficiency of c x prompt tokens per step, one weight read, c x prompt tokens of all-reduce)."""
    p = _problem(case, path, catalog_dir, speed_model, prompt, overrides)
    design = build_design(p, case.design)
    req = physics.requirements(p)
    c = req.concurrency
    if batch_prefill and c > 1 and req.prompt_tokens:
        req = replace(req, prefill_flops=c * req.prefill_flops, prompt_tokens=c * req.prompt_tokens)
    return p, design, physics.evaluate(design, req, p)


def case_value(case: Case, path: str = "measurements", catalog_dir=None, speed_model: str = "calibrated",
               overrides: Optional[dict] = None) -> float:
    """The model's figure for a case, in the metric's units (``overrides``: catalog fields, as in a problem)."""
    if speed_model not in SPEED_MODELS:
        raise UsageError(f"speed model: expected one of {', '.join(SPEED_MODELS)}, found {speed_model!r}")
    p, design, m = _metrics(case, path, catalog_dir, speed_model, overrides=overrides,
                            batch_prefill=case.metric == "e2e_latency_ms" and case.prefill == "batch")
    if case.metric in ("ttft_ms", "e2e_latency_ms") and m.ttft_s is None:
        raise UsageError(f"{path}: cases[{case.name}]: metric: {case.metric} needs workload.prompt_tokens")
    if case.metric == "tpot_ms":
        return float(1000 / m.decode_tokens_per_s_per_user)
    if case.metric == "tokens_per_s_per_user":
        return float(m.decode_tokens_per_s_per_user)
    if case.metric == "ttft_ms":
        return float(m.ttft_s * 1000)
    if case.metric == "system_tokens_per_s":
        return float(m.system_tokens_per_s)
    if case.metric == "tokens_per_s_per_node":
        return float(m.system_tokens_per_s / design.nodes)
    # e2e: the batch's prefill (all its prompts in one pass), then output - 1 decode steps of the batch
    _, _, dec = _metrics(case, path, catalog_dir, speed_model, prompt=False, overrides=overrides)
    out = p.workload.output_tokens_per_request
    return float(m.ttft_s * 1000 + Fraction(1000 * (out - 1)) / dec.decode_tokens_per_s_per_user)


def rows(cases: list[Case], path: str = "measurements", catalog_dir=None) -> list[Row]:
    return [Row(c, case_value(c, path, catalog_dir), case_value(c, path, catalog_dir, "roofline")) for c in cases]


def passed(table: list[Row]) -> bool:
    """Every check-set case within its band."""
    return all(r.ok for r in table if r.case.set == "check")


def records(table: list[Row]) -> list[dict]:
    """The table as JSON-ready records."""
    return [{"case": r.case.name, "set": r.case.set, "metric": r.case.metric, "model": r.model,
             "roofline_bound": r.bound, "measured": r.case.measured, "ratio": r.ratio, "band": r.case.band,
             "verdict": verdict(r), "source": r.case.source, "conditions": r.case.conditions,
             **({"reason": r.case.reason} if r.case.reason else {})} for r in table]


def verdict(r: Row) -> str:
    if r.case.set == "out_of_scope":
        return "out of scope"
    return "ok" if r.ok else ("outside band" if r.case.set == "fit" else "FAILS")


def ratio_spread(table: list[Row], names: tuple[str, str]) -> Optional[float]:
    """(model / measured of the second case) / (that of the first): how the error moves between two cases."""
    by = {r.case.name: r for r in table}
    if not all(n in by for n in names):
        return None
    return by[names[1]].ratio / by[names[0]].ratio
