"""The command line: parse arguments, call one library function, print.  Nothing else lives here."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Sequence

from rich.console import Console

from . import __version__
from .catalog import FILES, load_catalog
from .errors import ArchsearchError, UsageError
from .problem import ENGINES
from .evaluate import as_result, evaluate_design
from .disaggregate import disaggregate
from .reference import compare, design_spec
from .catalog_report import catalog_rows, catalog_table
from .report import (compare_json, compare_renderable, design_row, disaggregate_json, disaggregate_renderable,
                     evaluation_json, evaluation_renderable, pareto_table, solve_renderable, to_json)
from .solve import solve
from . import sweep as sweep_mod
from . import sweep_report as sweep_table
from .pareto import frontier
from . import validate as validation
from .validate_report import validate_table
from .plot import check_target as check_plot_target, grid_heatmap, pareto_plot, sweep_plot
from .ranges import CPSAT_SEED_MAX, MAX_DIGITS
from .yamlio import check_target, shown, write_atomic


def _positive_int(text: str) -> int:
    try:
        v = int(text) if len(text.strip()) <= MAX_DIGITS else None
    except ValueError:
        v = None
    if v is None or v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {shown(text)}")
    return v


def _seed(text: str) -> int:
    """``--seed``: CP-SAT's random seed is an int32, so 0 .. 2^31 - 1."""
    try:
        v = int(text) if len(text.strip()) <= 20 else None
    except ValueError:
        v = None
    if v is None or not 0 <= v <= CPSAT_SEED_MAX:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, {CPSAT_SEED_MAX:,}], found {shown(text)}")
    return v


def max_workers() -> int:
    """The most CP-SAT workers or processes a command may ask for: this machine's cores x 4."""
    return 4 * (os.cpu_count() or 1)


def _workers(text: str) -> int:
    try:
        v = int(text) if len(text.strip()) <= 20 else None
    except ValueError:
        v = None
    if v is None or not 1 <= v <= max_workers():
        raise argparse.ArgumentTypeError(f"expected an integer in [1, {max_workers()}] (this machine's cores x 4), "
                                         f"found {shown(text)}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text) if len(text.strip()) <= MAX_DIGITS + 10 else None
    except ValueError:
        v = None
    if v is None or not 0 < v < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, found {shown(text)}")
    return v


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line and exit code 2, like every other input error."""

    def error(self, message: str):  # type: ignore[override]
        where = self.prog.replace("archsearch", "").strip()
        self.exit(2, f"archsearch: error: {where + ': ' if where else ''}{message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="archsearch", description="Find the LLM-inference system with the most "
                                 "memory bandwidth per dollar, exactly (OR-Tools CP-SAT).")
    ap.add_argument("--version", action="version", version=f"archsearch {__version__}")
    ap.add_argument("--debug", action="store_true", help="show the traceback of an internal error (exit code 4)")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("solve", help="rank the best designs for a problem", description="Rank the top K designs of "
                       "a problem by memory bandwidth per dollar (default problem: the bundled Llama-2-70B chat).")
    s.add_argument("problem", nargs="?", help="problem YAML (default: the bundled default problem)")
    s.add_argument("--top", type=_positive_int, metavar="K", help="number of designs (default: search.top_k)")
    s.add_argument("--distinct", choices=("architecture", "medium", "design"),
                   help="architecture: distinct memory + interconnect + topology (default); medium: the best "
                        "design of each memory medium; design: any difference")
    s.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    s.add_argument("--out", metavar="FILE", help="also write the JSON document to FILE (atomically)")
    s.add_argument("--catalog", metavar="DIR", help="catalog directory (default: the bundled catalogs)")
    s.add_argument("--time-limit", type=_positive_float, metavar="S", help="seconds for the whole search")
    s.add_argument("--workers", type=_workers, metavar="N", help="CP-SAT workers, 1 .. cores x 4 (default 1: "
                   "deterministic)")
    s.add_argument("--seed", type=_seed, metavar="N", help=f"CP-SAT random seed, 0 .. {CPSAT_SEED_MAX}")
    s.add_argument("--engine", choices=ENGINES, help="what proves the answer: cp-sat, enumeration (every design "
                   "evaluated), or auto: enumeration on a small space (default: search.engine, auto)")
    s.add_argument("--disaggregate", action="store_true", help="size split prefill and decode pools for the same "
                   "request rate (the decode pool one of the top K decode designs, --top, default 5) and compare "
                   "them with the best single design on cost per million tokens (needs workload.prompt_tokens)")

    w = sub.add_parser("sweep", help="solve at many values of one field; mark where the best design changes",
                       description="Solve a problem at many values of one numeric field of the problem or of a "
                       "catalog entry, and list where the best design changes (crossovers).")
    w.add_argument("problem", nargs="?", help="problem YAML (default: the bundled default problem)")
    w.add_argument("--param", required=True, action="append", metavar="PATH[=SPEC]",
                   help="dotted path, e.g. workload.context_length, constraints.budget_usd, "
                        "catalog.memory.hbm3e-8hi.capacity_gb; a catalog cost_usd curve is swept as a price "
                        "multiplier. Give it twice for a grid, each with its values: PATH=V1,V2,... or PATH=LO:HI:N[:log]")
    vals = w.add_mutually_exclusive_group()  # for one parameter; a grid gives values as PATH=SPEC
    vals.add_argument("--values", metavar="V1,V2,...", help="values, with k/M/G suffixes (binary for token counts: "
                      "4k = 4,096 tokens)")
    vals.add_argument("--range", metavar="LO:HI:N[:log]", help="N values from LO to HI, evenly or log-spaced "
                      f"(default for workload.context_length: {sweep_mod.DEFAULT_RANGES['workload.context_length']})")
    w.add_argument("--top", type=_positive_int, metavar="K", default=1, help="designs per point (default 1)")
    w.add_argument("--distinct", choices=("architecture", "medium", "design"), help="as for solve")
    w.add_argument("--json", action="store_true", help="print the rows as one JSON document instead of tables")
    w.add_argument("--out", metavar="FILE", help="also write the JSON document to FILE (atomically)")
    w.add_argument("--csv", metavar="FILE", help="write the same rows as CSV to FILE (atomically)")
    w.add_argument("--plot", metavar="FILE.png|.svg", help="plot bandwidth per dollar per memory medium "
                   "(needs the plot extra: pip install 'archsearch[plot]')")
    w.add_argument("--workers", type=_workers, default=1, metavar="N", help="worker processes, 1 .. cores x 4 "
                   "(default 1)")
    w.add_argument("--cold", action="store_true", help="start every point's search from 0: no lower bounds from the "
                   "oracle or from the previous point (slower, same answer; for benchmarks)")
    w.add_argument("--catalog", metavar="DIR", help="catalog directory (default: the bundled catalogs)")

    y = sub.add_parser("study", help="solve a grid of any number of swept parameters from a study file",
                       description="Solve a problem at every point of a grid of swept parameters given in a study "
                       "file (format: docs/studies.md), streaming rows to CSV as points finish.")
    y.add_argument("study", help="study YAML (e.g. archsearch/problems/studies/context-concurrency.yaml)")
    y.add_argument("--workers", type=_positive_int, metavar="N", help="worker processes (default 1; with "
                   "--cluster auto, every CPU)")
    y.add_argument("--cluster", metavar="ADDRESS", help="solve on a Dask cluster: a scheduler address "
                   "(tcp://host:8786) or 'auto' for a local one (needs pip install 'archsearch[cluster]')")
    y.add_argument("--resume", action="store_true", help="keep the points already in the study's CSV and solve "
                   "only the rest")
    y.add_argument("--out-dir", metavar="DIR", help="folder for the study's outputs (default: the current folder)")
    y.add_argument("--quiet", action="store_true", help="no progress bar")

    e = sub.add_parser("evaluate", help="evaluate one fixed design and rank it against the optimum",
                       description="Evaluate one design with the search's own equations: its figures, every "
                       "constraint (held or broken, and by how much) and how it compares with the best design.")
    e.add_argument("problem", nargs="?", help="problem YAML (default: the bundled default problem)")
    e.add_argument("--design", required=True, metavar="SPEC",
                   help="memory=NAME,units=U,nodes=N[,tp=T][,node=NAME][,interconnect=NAME,topology=NAME], "
                        "or the name of a reference design (archsearch compare lists them), e.g. dgx-h100")
    e.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    e.add_argument("--catalog", metavar="DIR", help="catalog directory (default: the bundled catalogs)")

    m = sub.add_parser("compare", help="evaluate the bundled reference machines beside the search's best designs",
                       description="Evaluate every reference design (DGX H100/H200/B200, GB200 NVL72, Groq, Cerebras, "
                       "TPU v5e, MI300X, Gaudi 3: designs.yaml in the catalog folder) on a problem, and print them "
                       "beside the top designs the search finds.")
    m.add_argument("problem", nargs="?", help="problem YAML (default: the bundled default problem)")
    m.add_argument("--top", type=_positive_int, default=5, metavar="K", help="search designs shown (default 5)")
    m.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    m.add_argument("--catalog", metavar="DIR", help="catalog directory (default: the bundled catalogs)")

    f = sub.add_parser("pareto", help="the frontier of speed per user against bandwidth per dollar",
                       description="The designs no other design beats on both decode tokens/s per user and memory "
                       "bandwidth per dollar, found exactly by raising the speed target step by step.")
    f.add_argument("problem", nargs="?", help="problem YAML (default: the bundled default problem)")
    f.add_argument("--max-points", type=_positive_int, default=30, metavar="N", help="at most N steps (default 30)")
    f.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    f.add_argument("--plot", metavar="FILE.png|.svg", help="plot the frontier (needs the plot extra)")
    f.add_argument("--catalog", metavar="DIR", help="catalog directory (default: the bundled catalogs)")

    v = sub.add_parser("validate", help="the calibrated model against published measurements",
                       description="Evaluate every case of a measurement file (default: the bundled "
                       "catalogs/measurements.yaml) with the calibrated speed model and print model against "
                       "measured, with the roofline beside it. Exit 0 when every check-set case is within its "
                       "band, 1 when one is not (docs/calibration.md).")
    v.add_argument("--catalog", metavar="DIR", help="catalog directory (default: the bundled catalogs)")
    v.add_argument("--measurements", metavar="FILE", help="measurement file (default: the bundled one)")
    v.add_argument("--json", action="store_true", help="print one JSON document instead of a table")

    c = sub.add_parser("catalog", help="list what the catalogs hold, with sources",
                       description="List catalog entries with their key figures, estimate marks and sources.")
    c.add_argument("section", nargs="?", choices=FILES, help="only this section")
    c.add_argument("--catalog", metavar="DIR", help="catalog directory (default: the bundled catalogs)")
    c.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    for sp in (s, w, e, m, f, c, v):
        _add_output_options(sp)
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an internal error (exit code 4)")
    for sp in (s, e, m, f):
        sp.add_argument("--set", action="append", metavar="PATH=VALUE", default=[],
                        help="set one field before solving, e.g. workload.context_length=32k or "
                             "catalog.memory.hbm3e-8hi.capacity_gb=48 (the sweep's paths; repeatable)")
    return ap


def _add_output_options(sp: argparse.ArgumentParser) -> None:
    """--basis, --width and --quiet: the same on every command."""
    sp.add_argument("--basis", choices=("build", "market"),
                    help="cost basis of every price and budget: build (estimated manufacturing cost, market price / "
                         "cost.market_over_build) or market (street price); default: the problem's cost.basis "
                         "(catalog: each entry's own)")
    sp.add_argument("--width", type=_positive_int, metavar="COLUMNS",
                    help="table width in characters (default: the terminal's width, or $COLUMNS, else 80)")
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress bars or notes on stderr")


@contextlib.contextmanager
def _writing(flag: str, path: str):
    """Turn a failure to write an output file into the one-line error every input problem gets."""
    try:
        yield
    except OSError as exc:
        raise UsageError(f"{flag}: cannot write {path}: {exc.strerror or exc}") from None


def _check_outputs(*targets: tuple[str, str | None]) -> None:
    """Every (flag, path) output must be writable as a regular file: checked before any solving starts."""
    for flag, path in targets:
        if path:
            with _writing(flag, path):
                check_target(Path(path))


def one_line(text: str) -> str:
    """A message as one line: control characters (a newline in an echoed value) escaped."""
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: repr(m.group())[1:-1], text)


ISSUES_URL = "https://github.com/archsearch/archsearch/issues"


def _emit(args: argparse.Namespace, doc: dict, renderable) -> None:
    """Write the JSON document to --out (atomically), then print it (--json) or the tables."""
    if args.out:
        with _writing("--out", args.out):
            write_atomic(Path(args.out), json.dumps(doc, indent=2) + "\n")
    if args.json:
        _print_json(doc)
    else:
        out = _console(args)
        out.print(renderable(out.width))


def _with_search(problem, args):
    """The problem with solve's --time-limit, --workers, --seed and --engine applied to its search settings."""
    import dataclasses
    changes = {k: v for k, v in (("time_limit_s", args.time_limit), ("workers", args.workers), ("seed", args.seed),
                                 ("engine", getattr(args, "engine", None)))
               if v is not None}
    return dataclasses.replace(problem, search=dataclasses.replace(problem.search, **changes)) if changes else problem


def _console(args: argparse.Namespace) -> Console:
    """The stdout console: --width if given, else rich's detection (terminal size, then $COLUMNS, else 80)."""
    return Console(highlight=False, width=getattr(args, "width", None))


def _with_basis(problem, args):
    """The problem with --basis applied: prices and the budget are read in that basis."""
    import dataclasses
    if getattr(args, "basis", None) in (None, problem.cost.basis):
        return problem
    return dataclasses.replace(problem, cost=dataclasses.replace(problem.cost, basis=args.basis))


def _load(args: argparse.Namespace):
    """The problem of a command, with its --set PATH=VALUE changes applied and checked, in the --basis asked for."""
    return _with_basis(sweep_mod.load_with_sets(args.problem, getattr(args, "set", []), args.catalog), args)


def _print_json(doc: object) -> None:
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; exit codes: 0 done, 1 infeasible, 2 bad input, 3 solver, 4 internal error (a bug)."""
    started = time.monotonic()   # --time-limit bounds the command from here (after Python's start-up and imports)
    args = build_parser().parse_args(argv)
    err = Console(stderr=True, highlight=False)                     # errors: always
    note = Console(stderr=True, highlight=False, quiet=args.quiet)  # progress and notes: not with --quiet
    try:
        return _run(args, note, started)
    except ArchsearchError as exc:
        err.print(f"archsearch: error: {one_line(str(exc))}", markup=False, soft_wrap=True)
        return exc.exit_code
    except Exception as exc:  # anything else is a bug: one line, and the traceback only with --debug
        if getattr(args, "debug", False):
            raise
        what = one_line(f"{exc.__class__.__name__}: {exc}")
        if len(what) > 300:
            what = what[:297] + "..."
        err.print(f"archsearch: internal error: {what} (a bug: please report it at {ISSUES_URL} with the command "
                  "and its input files; --debug shows the traceback)", markup=False, soft_wrap=True)
        return 4


def _run(args: argparse.Namespace, note: Console, started: float) -> int:
    if args.command == "solve":
        _check_outputs(("--out", args.out))  # before any solving
    if args.command == "solve" and args.disaggregate:
        problem = _with_search(_load(args), args)
        with _progress(note, "--disaggregate") as step:
            sp = disaggregate(problem, top_k=args.top or 5, distinct=args.distinct, progress=step)
        _emit(args, disaggregate_json(sp), lambda width: disaggregate_renderable(sp, problem, width))
        return 0
    if args.command == "solve":
        problem = _load(args)
        limit = args.time_limit or problem.search.time_limit_s
        result = solve(problem, top_k=args.top, distinct=args.distinct,
                       time_limit_s=max(0.001, limit - (time.monotonic() - started)),
                       workers=args.workers, seed=args.seed, engine=args.engine)
        _emit(args, to_json(result), lambda width: solve_renderable(result, width))
        return 0  # a time-limited result says FEASIBLE (not proven) in its status, table and JSON
    if args.command == "sweep":
        return _sweep(args, note)
    if args.command == "study":
        return _study(args, note)
    if args.command == "evaluate":
        problem = _load(args)
        ev = evaluate_design(problem, design_spec(args.design, problem.catalog.directory))
        if args.json:
            _print_json(evaluation_json(ev, problem))
        else:
            out = _console(args)
            out.print(evaluation_renderable(ev, as_result(problem, ev), out.width))
        return 0
    if args.command == "compare":
        problem = _load(args)
        cmp = compare(problem, top_k=args.top)
        if args.json:
            _print_json(compare_json(cmp, problem))
        else:
            out = _console(args)
            out.print(compare_renderable(cmp, problem, out.width))
        return 0
    if args.command == "pareto":
        plot_path = check_plot_target(args.plot) if args.plot else None
        _check_outputs(("--plot", args.plot))
        problem = _load(args)
        designs, complete, stopped = frontier(problem, args.max_points)
        if plot_path is not None:
            with _writing("--plot", args.plot):
                pareto_plot(designs, plot_path, f"{problem.name}: speed per user against bandwidth per dollar")
        rows = [design_row(d) for d in designs]
        if args.json:
            _print_json({"problem": problem.name, "complete": complete, "stopped": stopped, "frontier": rows})
        else:
            out = _console(args)
            out.print(pareto_table(problem.name, rows, out.width, problem.cost))
            if not complete:
                note.print(f"archsearch: the frontier is incomplete ({stopped}): faster designs may exist, and "
                          "a listed design may be beaten by one of them", markup=False, soft_wrap=True)
        return 0
    if args.command == "validate":
        table = validation.rows(validation.load_measurements(args.measurements, args.catalog),
                                args.measurements or "measurements.yaml", args.catalog)
        if args.json:
            _print_json({"passed": validation.passed(table), "cases": validation.records(table)})
        else:
            out = _console(args)
            out.print(validate_table(table, out.width))
        return 0 if validation.passed(table) else 1
    if args.command == "catalog":
        cat = load_catalog(args.catalog)
        if args.json:
            _print_json(catalog_rows(cat, args.section, args.basis))
        else:
            out = _console(args)
            out.print(catalog_table(cat, args.section, out.width, args.basis))
        return 0
    return 2  # pragma: no cover - argparse requires a command


@contextlib.contextmanager
def _progress(console: Console, what: str):
    """A ``step(message)`` callback: a spinner with the stage on a terminal, one line per stage otherwise."""
    if console.quiet:
        yield lambda message: None
        return
    if not console.is_terminal:
        yield lambda message: console.print(f"archsearch: {what}: solving {message}", markup=False, soft_wrap=True)
        return
    with console.status(f"{what}: starting") as status:
        yield lambda message: status.update(f"{what}: solving {message}")


class _LateProgress:
    """A rich progress bar on stderr that appears only once the work has taken more than a second."""

    def __init__(self, console: Console, label: str, total: int) -> None:
        from rich.progress import Progress
        self.bar = Progress(console=console, transient=True)
        self.task = self.bar.add_task(label, total=total)
        self.started = False

    def __enter__(self):
        import time
        t0 = time.monotonic()

        def advance(n: int) -> None:
            if not self.started and time.monotonic() - t0 > 1.0:
                self.bar.start()
                self.started = True
            self.bar.advance(self.task, n)
        return advance

    def __exit__(self, *exc) -> None:
        if self.started:
            self.bar.stop()


def _param_specs(args: argparse.Namespace) -> list[tuple[str, list[float], bool]]:
    """(path, values, log-spaced) for each --param, from PATH=SPEC, --values/--range, or a default range."""
    if len(args.param) > 2:
        raise UsageError("--param: at most two parameters (a grid)")
    out = []
    for item in args.param:
        path, _, spec = item.partition("=")
        binary = sweep_mod.is_token_field(path)
        if len(args.param) == 2 and (args.values or args.range):
            raise UsageError("--values/--range: with two parameters give each its values as --param PATH=SPEC")
        if spec:
            is_range = ":" in spec
            vals, log = (sweep_mod.parse_range(spec, binary) if is_range
                         else (sweep_mod.parse_values(spec, binary), False))
        elif args.values is not None:
            is_range = False
            vals, log = sweep_mod.parse_values(args.values, binary), False
        else:
            is_range = True
            spec = args.range or sweep_mod.DEFAULT_RANGES.get(path)
            if spec is None:
                raise UsageError(f"--param {path}: give --values or --range (only "
                                 f"{', '.join(sweep_mod.DEFAULT_RANGES)} has a default range)")
            vals, log = sweep_mod.parse_range(spec, binary)
        vals = sweep_mod.settle(path, vals, rounded=is_range)
        if len(vals) > 1 and not log and vals[0] > 0 and vals[-1] / vals[0] >= 100:
            log = True  # values spanning orders of magnitude are shown on log axes
        out.append((path, vals, log))
    if math.prod(len(v) for _, v, _ in out) > sweep_mod.MAX_POINTS:
        raise UsageError(f"--param: a grid of {' x '.join(str(len(v)) for _, v, _ in out)} points, more than a "
                         f"sweep may solve ({sweep_mod.MAX_POINTS:,})")
    return out


def _sweep(args: argparse.Namespace, err: Console) -> int:
    specs = _param_specs(args)
    params = [p for p, _, _ in specs]
    if len(specs) == 1:
        values: list = specs[0][1]
    else:
        values = [(a, b) for a in specs[0][1] for b in specs[1][1]]
    plot_path = check_plot_target(args.plot) if args.plot else None
    _check_outputs(("--out", args.out), ("--csv", args.csv), ("--plot", args.plot))  # before minutes of solving
    to_stdout = args.json
    target = params[0] if len(params) == 1 else params
    medium_plot = plot_path is not None and len(specs) == 1

    def progress(label: str):
        if to_stdout or err.quiet or not err.is_terminal or len(values) < 2:
            return contextlib.nullcontext(None)
        return _LateProgress(err, label, len(values))

    points, per_medium = sweep_mod.sweep_for_report(
        args.problem, target, values, top_k=args.top, distinct=args.distinct, per_medium=medium_plot,
        progress=progress, catalog_dir=args.catalog, workers=args.workers, warm=not args.cold, basis=args.basis)
    if plot_path is not None:
        with _writing("--plot", args.plot):
            if medium_plot:
                label = params[0]   # the plot adds the unit
                sweep_plot(per_medium, params[0], specs[0][2], plot_path, label)
            else:
                grid_heatmap(points, specs, plot_path)
    doc = sweep_table.sweep_document(points, specs)
    rows = doc["rows"]
    for flag, target_file, text in (("--out", args.out, lambda: json.dumps(doc, indent=2) + "\n"),
                                    ("--csv", args.csv, lambda: sweep_table.rows_to_csv(rows))):
        if target_file:
            with _writing(flag, target_file):
                write_atomic(Path(target_file), text())
    if to_stdout:
        _print_json(doc)
    else:
        out = _console(args)
        if len(specs) == 1:
            out.print(sweep_table.sweep_renderable(points, params[0], sweep_mod.is_token_field(params[0]), out.width))
        else:
            out.print(sweep_table.grid_table(points, specs, out.width))
    return 0


def _study(args: argparse.Namespace, err: Console) -> int:
    from .study import load_study, run_study
    from .study_engines import default_workers
    from .study_output import check_outputs, summary
    if args.out_dir and not Path(args.out_dir).is_dir():
        raise UsageError(f"--out-dir: {args.out_dir}: no such folder")
    spec = load_study(args.study, args.out_dir)
    check_outputs(spec.outputs)
    workers = args.workers or default_workers(args.cluster)
    with _study_progress(err, spec.name, quiet=args.quiet) as progress:
        run = run_study(spec, workers=workers, cluster=args.cluster, resume=args.resume, progress=progress)
    s = summary(run.rows)
    out = Console(highlight=False)
    engines = ", ".join(f"{n:,} by {e}" for e, n in sorted(s["engines"].items()))
    out.print(f"{spec.name}: {s['points']:,} points ({s['infeasible']:,} infeasible; {engines}); solved "
              f"{run.solved:,} now{f', {run.resumed:,} resumed' if run.resumed else ''} in {run.seconds:,.1f} s "
              f"({run.engine}, {workers} worker{'s' if workers != 1 else ''})", markup=False, soft_wrap=True)
    for kind, target in run.written.items():
        out.print(f"  {kind}: {target}", markup=False, soft_wrap=True)
    return 0


@contextlib.contextmanager
def _study_progress(console: Console, label: str, quiet: bool):
    """A progress bar on stderr with points done, rate and time left (none when quiet or not a terminal)."""
    if quiet or not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("points"),
                   TextColumn("{task.fields[rate]}"), TextColumn("ETA"), TimeRemainingColumn(),
                   console=console, transient=True)
    task = bar.add_task(label, total=None, rate="")
    import time
    first: list = []

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if not first:
            first.append((now, done))
        t0, d0 = first[0]
        rate = (done - d0) / (now - t0) if now > t0 and done > d0 else 0.0
        bar.update(task, completed=done, total=total, rate=f"{rate:,.1f}/s" if rate else "")
    with bar:
        yield progress


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
