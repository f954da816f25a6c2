"""A Hypothesis fuzzer over archsearch's inputs: problems, catalogs, YAML text and command lines.

Every input is one of the bundled problems or catalog files, mutated (a value swapped for a
hostile one, a key dropped, misspelt or added, a list or mapping put where a value was, the YAML
text nested deep, aliased, made non-UTF-8 ...), or a command line built from the real flags with
hostile values.  The property: archsearch either refuses the input with an ``ArchsearchError`` whose
message is one line and names the field (a key of the mutated path), or answers, and then every
design it answers with passes the physics re-check (``RankedDesign.checks``, ``physics.checks``);
a command exits 0-3 with at most one line on stderr, never 4 (an internal error).

Profiles: the default ``pytest`` run draws a bounded number of inputs (derandomised, so CI is
repeatable); ``python -m pytest -m fuzz`` (or ``benchmarks/fuzz.py``) runs the long profile,
``FUZZ_EXAMPLES`` inputs per target (default 5,000 per target, 20,000 in all).
"""

from __future__ import annotations

import collections
import contextlib
import copy
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsearch import physics
from archsearch.catalog import FILES, default_directory
from archsearch.cli import main
from archsearch.errors import ArchsearchError, InputError
from archsearch.problem import bundled_problems, problem_from_dict
from archsearch.solve import solve

LONG = int(os.environ.get("FUZZ_EXAMPLES", "5000"))
SHORT = int(os.environ.get("FUZZ_SHORT_EXAMPLES", "60"))
OUTCOMES: collections.Counter = collections.Counter()

PROBLEMS = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in bundled_problems()}
CHEAP = "llama-3-8b-edge"          # the bundled problem small enough to solve for every input that loads
CATALOG = {s: yaml.safe_load((default_directory() / f"{s}.yaml").read_text(encoding="utf-8")) for s in FILES}

HOSTILE = [None, True, False, 0, -1, 1, 2, 0.5, -0.0, 1e300, -1e300, 1e-300, 2**62, 2**63, 10**30, 10**39,
           float("nan"), float("inf"), float("-inf"), "", " ", "x", "32k", "2e6", "32_768", "1M", "4K", "1e-300",
           "a\nb", "ring2\n", "hbm3e-8hi", "x" * 200, "\x00", "\u00e9", [], [1], [[1, "x"], [2, 3]], [[1, 2], [0, 1]],
           {}, {"a": 1}, {"points": [[1, 1]]}, {"die_yield": {}}, [{"a": [{}]}]]

values = st.one_of(st.sampled_from(HOSTILE), st.integers(), st.floats(), st.text(max_size=8),
                   st.integers(min_value=-3, max_value=3))


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a parsed YAML document (mapping keys and list indices)."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, prefix + (i,))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for k in path:
        doc = doc[k]
    return doc


@st.composite
def mutated(draw: Any, doc: Any) -> tuple[Any, tuple, str]:
    """(a mutated copy of ``doc``, the path mutated, the kind of mutation)."""
    doc = copy.deepcopy(doc)
    path = draw(st.sampled_from(_paths(doc)[1:]))
    op = draw(st.sampled_from(["replace", "replace", "replace", "drop", "typo", "add", "wrap", "nest"]))
    parent, key = _get(doc, path[:-1]), path[-1]
    if op == "replace":
        parent[key] = draw(values)
    elif op == "drop":
        del parent[key]
    elif op == "typo" and isinstance(parent, dict) and isinstance(key, str) and len(key) > 2:
        i = draw(st.integers(min_value=0, max_value=len(key) - 1))
        typo = key[:i] + key[i + 1:]
        if typo not in parent:
            parent[typo] = parent.pop(key)
            path = path + (typo,)  # the message may name the typo or the field it misses
    elif op == "add" and isinstance(parent, dict):
        new = draw(st.sampled_from(["extra", "nam", "points", 3, "a\nb"]))
        parent[new] = draw(values)
        path = path[:-1] + (new,)
    elif op == "wrap":
        parent[key] = [parent[key]]
    else:
        v: Any = draw(values)
        for _ in range(draw(st.integers(min_value=1, max_value=40))):
            v = {"a": v} if draw(st.booleans()) else [v]
        parent[key] = v
    return doc, path, op


def _names_field(message: str, doc: Any, path: tuple, original: Any = None) -> bool:
    """The message names a key of the mutated path, or an entry name on it (before or after the mutation:
    a renamed or dropped catalog entry is reported where it is referred to, by its old name)."""
    words = [str(k) for k in path if isinstance(k, str)] + [str(k) for k in path[-1:] if not isinstance(k, str)]
    for root in (doc, original):
        node = root
        for k in path:
            try:
                node = node[k]
            except (KeyError, IndexError, TypeError):
                break
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                words.append(node["name"])
    if len(path) == 1 and isinstance(original, dict) and isinstance(original.get(path[0]), list):
        words += [e["name"] for e in original[path[0]] if isinstance(e, dict) and isinstance(e.get("name"), str)]
    words = [w for w in words if w]
    return not words or any(w in message or repr(w)[1:-1] in message for w in words)


def _check_error(exc: ArchsearchError, doc: Any, path: tuple, original: Any = None) -> None:
    msg = str(exc)
    assert "\n" not in msg and msg, msg
    if isinstance(exc, InputError):
        assert _names_field(msg, doc, path, original), (msg, path)


def _check_result(problem: Any) -> None:
    """Solve cheaply and re-check every design with the physics."""
    result = solve(problem, top_k=2, time_limit_s=10)
    for rd in result.designs:
        checks = physics.checks(rd.design, result.requirements, problem)
        assert all(c.ok for c in checks), [c for c in checks if not c.ok]
        assert all(c.ok for c in rd.checks)
    OUTCOMES["solved"] += 1


def _problem_property(doc: Any, path: tuple, cheap: bool, catalog_dir: str | None = None,
                      original: Any = None) -> None:
    OUTCOMES["inputs"] += 1
    try:
        problem = problem_from_dict(doc, "fuzz.yaml", catalog_dir)
    except ArchsearchError as exc:
        OUTCOMES[exc.__class__.__name__] += 1
        _check_error(exc, doc, path, original)
        return
    OUTCOMES["loaded"] += 1
    if not cheap or problem.constraints.max_nodes > 64 or problem.workload.concurrency > 4096:
        return
    try:
        _check_result(problem)
    except ArchsearchError as exc:  # infeasible, or the overflow guard: one line, never a crash
        OUTCOMES[exc.__class__.__name__] += 1
        assert "\n" not in str(exc)


# -- problems --------------------------------------------------------------------------------------
@st.composite
def problem_inputs(draw: Any) -> tuple[Any, tuple, bool]:
    name = draw(st.sampled_from(sorted(PROBLEMS)))
    doc, path, _ = draw(mutated(PROBLEMS[name]))
    return doc, path, name == CHEAP


def _problems(data: tuple) -> None:
    doc, path, cheap = data
    _problem_property(doc, path, cheap)


# -- catalogs: a mutated entry through a problem's overrides, and whole mutated files -------------
@st.composite
def override_inputs(draw: Any) -> tuple[Any, tuple]:
    section = draw(st.sampled_from(FILES))
    entry = draw(st.sampled_from(CATALOG[section][section]))
    mutated_entry, path, _ = draw(mutated(entry))
    over = {k: v for k, v in mutated_entry.items() if k != "name"} if isinstance(mutated_entry, dict) else {}
    doc = copy.deepcopy(PROBLEMS[CHEAP])
    doc["overrides"] = {section: {entry["name"]: over}}
    return doc, ("overrides", section, entry["name"]) + path


def _overrides(data: tuple) -> None:
    doc, path = data
    _problem_property(doc, path, cheap=True)


@st.composite
def catalog_file_inputs(draw: Any) -> tuple[str, str, tuple]:
    section = draw(st.sampled_from(FILES))
    doc, path, _ = draw(mutated(CATALOG[section]))
    dumped = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    text = dumped
    text = draw(st.sampled_from([text, text, text, "[" * 3000, "a: &x [1]\n" + "".join(f"b{i}: *x\n" for i in range(200)),
                                 text + "\nmemory: []\n", "!!python/object/apply:os.system ['true']\n", text[: len(text) // 2],
                                 "key: " + "9" * 5000 + "\n", "NON-UTF-8"]))
    if text != dumped:  # the whole file was replaced or cut: any entry of it may be what a message names
        path = (section,)
    return section, text, path


def _catalog_files(data: tuple) -> None:
    section, text, path = data
    with tempfile.TemporaryDirectory() as tmp:
        for s in FILES:
            target = Path(tmp) / f"{s}.yaml"
            if s == section:
                target.write_bytes(text.encode("utf-8") if text != "NON-UTF-8" else b"memory:\n- name: \xff\xfe\n")
            else:
                target.symlink_to(default_directory() / f"{s}.yaml")  # parsed once: the cache follows the link
        _problem_property(copy.deepcopy(PROBLEMS[CHEAP]), path, cheap=True, catalog_dir=tmp, original=CATALOG[section])


# -- command lines ---------------------------------------------------------------------------------
FLAG_VALUES = ["0", "1", "2", "-1", "2147483648", "10" * 10, "1e300", "1e-300", "nan", "inf", "", "x", "4K", "32k",
               "1:2:3", "1:2:99999999999999999999", "1k:4k:3:log", "0:0:1", "a\nb"]
SET_PATHS = ["workload.context_length", "workload.concurrency", "constraints.max_nodes", "constraints.budget_usd",
             "cost.market_over_build", "search.top_k", "catalog.memory.hbm3e-8hi.capacity_gb",
             "catalog.memory.hbm3e-8hi.cost_usd", "catalog.interconnects.nvlink4.reach_nodes", "model.layers",
             "workload.kv_dtype", "nothing.here", "catalog.memory.nope.capacity_gb", "workload"]


@st.composite
def command_lines(draw: Any) -> list[str]:
    command = draw(st.sampled_from(["solve", "solve", "evaluate", "sweep", "catalog", "compare", "pareto", "bogus"]))
    argv = [command]
    if draw(st.booleans()):
        argv.append(draw(st.sampled_from([CHEAP, CHEAP, "llama-3-8b-edg", "-", "/nonexistent.yaml", "", "/dev/null"])))
    else:
        argv.append(CHEAP)
    flags = {"solve": ["--top", "--seed", "--workers", "--time-limit", "--distinct", "--set", "--out", "--catalog"],
             "evaluate": ["--design", "--set", "--catalog"], "sweep": ["--param", "--values", "--range", "--top",
                                                                      "--workers", "--out", "--csv"],
             "catalog": ["--catalog"], "compare": ["--top", "--set"], "pareto": ["--max-points", "--set", "--plot"],
             "bogus": ["--top"]}[command]
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        flag = draw(st.sampled_from(flags))
        if flag in ("--set",):
            value = f"{draw(st.sampled_from(SET_PATHS))}={draw(st.sampled_from(FLAG_VALUES))}"
        elif flag == "--param":
            value = draw(st.sampled_from(SET_PATHS))
        elif flag in ("--out", "--csv", "--plot"):
            value = draw(st.sampled_from(["/dev/null", "/tmp", "/nonexistent/x.json", "OUT"]))
        elif flag == "--catalog":
            value = draw(st.sampled_from(["/tmp", "/nonexistent", str(default_directory())]))
        elif flag == "--design":
            value = draw(st.sampled_from(["memory=hbm4,units=6,nodes=1", "dgx-h100", "memory=hbm4,units=0,nodes=1",
                                          "memory=x", "units=1e300", "memory=hbm4,units=6,nodes=3,tp=2", "x"]))
        elif flag == "--distinct":
            value = draw(st.sampled_from(["medium", "design", "nope"]))
        else:
            value = draw(st.sampled_from(FLAG_VALUES))
        argv += [flag, value]
    if command == "sweep" and "--values" not in argv and "--range" not in argv:
        argv += ["--values", draw(st.sampled_from(["1,2", "", "1e300", "0", "4k"]))]
    if command == "pareto":
        argv += ["--max-points", "2"]
    if command in ("solve", "compare") and "--top" not in argv:
        argv += ["--top", "2"]
    return argv


def _expensive(argv: list[str]) -> bool:
    """Inputs that would solve something large: the fuzzer keeps solves cheap."""
    return "sweep" in argv[:1] and "--values" not in argv or any(
        v.startswith(("catalog.interconnects", "constraints.max_nodes", "workload.concurrency", "constraints.budget",
                      "cost.", "catalog.memory.hbm3e-8hi.cost"))
        for v in argv)


def _command(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        argv = [a.replace("OUT", str(Path(tmp) / "out.json")) for a in argv]
        if "-" in argv[1:2]:
            from archsearch import problem as problem_mod
            problem_mod._STDIN_TEXT[:] = [(default_directory().parent / "problems" / f"{CHEAP}.yaml").read_text()]
        if _expensive(argv) and "--time-limit" not in argv and argv[0] == "solve":
            argv += ["--time-limit", "5"]
        elif _expensive(argv):
            OUTCOMES["commands skipped (would solve large)"] += 1
            return
        OUTCOMES["inputs"] += 1
        OUTCOMES["commands"] += 1
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(argv)
            except SystemExit as exc:  # argparse: --help, bad flags
                rc = exc.code
    OUTCOMES[f"exit {rc}"] += 1
    lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
    assert rc in (0, 1, 2, 3), (argv, rc, err.getvalue())
    if rc != 0:
        assert len(lines) == 1, (argv, err.getvalue())
    assert "Traceback" not in err.getvalue()


# -- the profiles ----------------------------------------------------------------------------------
TARGETS = [(problem_inputs(), _problems), (override_inputs(), _overrides), (catalog_file_inputs(), _catalog_files),
           (command_lines(), _command)]
IDS = ["problems", "overrides", "catalog-files", "command-lines"]
HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


@pytest.mark.parametrize("strategy, check", TARGETS, ids=IDS)
def test_fuzz_bounded(strategy: Any, check: Any) -> None:
    run = settings(max_examples=SHORT, deadline=None, derandomize=True, database=None,
                   suppress_health_check=HEALTH)(given(strategy)(check))
    run()


@pytest.mark.fuzz
@pytest.mark.parametrize("strategy, check", TARGETS, ids=IDS)
def test_fuzz_long(strategy: Any, check: Any) -> None:
    run = settings(max_examples=LONG, deadline=None, database=None, suppress_health_check=HEALTH)(
        given(strategy)(check))
    run()


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Any:
    """With FUZZ_REPORT set, write the outcome counts there when the module is done (benchmarks/fuzz.py)."""
    yield
    target = os.environ.get("FUZZ_REPORT")
    if target:
        Path(target).write_text(json.dumps(dict(OUTCOMES), indent=2, sort_keys=True) + "\n", encoding="utf-8")
