"""The command line: parse arguments, call one library function, print.  Nothing else lives here."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from rich.console import Console

from . import __version__
from .catalog import FILES, load_catalog
from .errors import ArchsearchError, UsageError
from .problem import load_problem
from .report import catalog_rows, catalog_table, solve_renderable, to_json
from .solve import solve
from .yamlio import write_atomic


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text!r}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, found {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, found {text!r}")
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
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("solve", help="rank the best designs for a problem", description="Rank the top K designs of "
                       "a problem by memory bandwidth per dollar (default problem: the bundled Llama-2-70B chat).")
    s.add_argument("problem", nargs="?", help="problem YAML (default: the bundled default problem)")
    s.add_argument("--top", type=_positive_int, metavar="K", help="number of designs (default: search.top_k)")
    s.add_argument("--distinct", choices=("architecture", "design"),
                   help="architecture: distinct memory + interconnect + topology (default); design: any difference")
    s.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    s.add_argument("--out", metavar="FILE", help="also write the JSON document to FILE (atomically)")
    s.add_argument("--catalog", metavar="DIR", help="catalog directory (default: the bundled catalogs)")
    s.add_argument("--time-limit", type=_positive_float, metavar="S", help="seconds for the whole search")
    s.add_argument("--workers", type=_positive_int, metavar="N", help="CP-SAT workers (default 1: deterministic)")
    s.add_argument("--seed", type=int, metavar="N", help="CP-SAT random seed")

    c = sub.add_parser("catalog", help="list what the catalogs hold, with sources",
                       description="List catalog entries with their key figures, estimate marks and sources.")
    c.add_argument("section", nargs="?", choices=FILES, help="only this section")
    c.add_argument("--catalog", metavar="DIR", help="catalog directory (default: the bundled catalogs)")
    c.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    return ap


def _print_json(doc: object) -> None:
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    err = Console(stderr=True, highlight=False)
    try:
        if args.command == "solve":
            problem = load_problem(args.problem, args.catalog)
            result = solve(problem, top_k=args.top, distinct=args.distinct, time_limit_s=args.time_limit,
                           workers=args.workers, seed=args.seed)
            doc = to_json(result)
            if args.out:
                try:
                    write_atomic(Path(args.out), json.dumps(doc, indent=2) + "\n")
                except OSError as exc:
                    raise UsageError(f"--out: cannot write {args.out}: {exc.strerror or exc}") from None
            if args.json:
                _print_json(doc)
            else:
                out = Console(highlight=False)
                out.print(solve_renderable(result, out.width))
            return 0  # a time-limited result says FEASIBLE (not proven) in its status, table and JSON
        if args.command == "catalog":
            cat = load_catalog(args.catalog)
            if args.json:
                _print_json(catalog_rows(cat, args.section))
            else:
                Console(highlight=False).print(catalog_table(cat, args.section))
            return 0
    except ArchsearchError as exc:
        err.print(f"archsearch: error: {exc}", markup=False, soft_wrap=True)
        return exc.exit_code
    return 2  # pragma: no cover - argparse requires a command


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
