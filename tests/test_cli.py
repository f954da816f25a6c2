"""archsearch.cli: in-process runs of main() and one real ``python -m archsearch`` run."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from archsearch.cli import build_parser, main

DESIGN_KEYS = {"rank", "memory", "units_per_node", "nodes", "tensor_parallel", "pipeline_parallel", "topology",
               "interconnect", "capacity_bytes", "memory_bandwidth_bytes_per_s", "cost_usd", "bandwidth_per_dollar",
               "decode_tokens_per_s_per_user", "system_tokens_per_s", "balance_ratio", "binding"}
REQUIREMENT_KEYS = {"weights_bytes", "kv_bytes_per_token", "kv_bytes_total", "capacity_required_bytes"}


def subcommands() -> list[str]:
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return sorted(action.choices)
    raise AssertionError("no subcommands")


def one_error_line(err: str) -> str:
    """The single line a user sees on stderr for a reported error (and no traceback)."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("archsearch: error: "), err
    assert "Traceback" not in err
    return lines[0]


def check_document(doc: dict[str, Any], top: int) -> None:
    assert doc["status"] == "OPTIMAL"
    assert isinstance(doc["problem"], dict) and doc["problem"]["name"]
    assert REQUIREMENT_KEYS <= set(doc["requirements"])
    assert 1 <= len(doc["designs"]) <= top
    for i, d in enumerate(doc["designs"], start=1):
        assert DESIGN_KEYS <= set(d), DESIGN_KEYS - set(d)
        assert d["rank"] == i
        assert d["capacity_bytes"] >= doc["requirements"]["capacity_required_bytes"]
        assert d["bandwidth_per_dollar"] == pytest.approx(d["memory_bandwidth_bytes_per_s"] / d["cost_usd"])
        assert d["tensor_parallel"] * d["pipeline_parallel"] <= d["nodes"]
    ratios = [d["bandwidth_per_dollar"] for d in doc["designs"]]
    assert ratios == sorted(ratios, reverse=True)
    assert isinstance(doc["solver"]["wall_time_s"], float) and doc["solver"]["wall_time_s"] >= 0
    # the small problem's space is small: auto enumerates it (no CP-SAT solve) and the JSON says so
    assert doc["solver"]["engine"] == "enumeration" and doc["solver"]["iterations"] == 0


@pytest.fixture
def small_problem(write_problem: Callable[..., Path], small_problem_dict: dict) -> Path:
    return write_problem(small_problem_dict)


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide terminal, so rich tables do not fold names."""
    monkeypatch.setenv("COLUMNS", "300")


# -- solve -------------------------------------------------------------------------------------
def test_solve_prints_a_table(small_problem: Path, small_problem_dict: dict, wide: None,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", str(small_problem)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert (f"{small_problem_dict['name']}: top 3 designs by memory bandwidth per dollar (OPTIMAL; build cost: "
            "estimated manufacturing cost, market price / 3)") in out
    assert "capacity required" in out and "solver: OPTIMAL" in out
    for col in ("memory", "nodes", "TPxPP", "interconnect", "topology", "binding"):
        assert col in out


def test_solve_engine_flag_chooses_what_proves_the_answer(small_problem: Path, capsys) -> None:
    docs = {}
    for engine in ("cp-sat", "enumeration", "auto"):
        assert main(["solve", str(small_problem), "--json", "--engine", engine]) == 0
        docs[engine] = json.loads(capsys.readouterr().out)
    assert {e: (d["solver"]["engine"], d["solver"]["engine_setting"]) for e, d in docs.items()} == {
        "cp-sat": ("cp-sat", "cp-sat"), "enumeration": ("enumeration", "enumeration"), "auto": ("enumeration", "auto")}
    assert docs["cp-sat"]["solver"]["iterations"] >= 1 and docs["enumeration"]["solver"]["iterations"] == 0
    assert docs["cp-sat"]["designs"] == docs["enumeration"]["designs"] == docs["auto"]["designs"]


def test_solve_json(small_problem: Path, small_problem_dict: dict, tmp_path: Path,
                    capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "result.json"
    assert main(["solve", str(small_problem), "--json", "--out", str(out_file)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    doc = json.loads(out)
    check_document(doc, top=3)
    assert doc["problem"]["name"] == small_problem_dict["name"]
    assert doc["problem"]["path"] == str(small_problem)
    assert json.loads(out_file.read_text(encoding="utf-8")) == doc
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([small_problem.name, out_file.name])


def test_solve_top_and_out_with_table(small_problem: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "one.json"
    assert main(["solve", str(small_problem), "--top", "1", "--out", str(out_file)]) == 0
    out, _ = capsys.readouterr()
    assert "top 1 designs" in out
    doc = json.loads(out_file.read_text(encoding="utf-8"))
    check_document(doc, top=1)
    assert len(doc["designs"]) == 1


def test_solve_with_another_catalog(small_problem: Path, catalog_dir: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", str(small_problem), "--catalog", str(catalog_dir), "--top", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["problem"]["catalog"] == str(catalog_dir)


def test_infeasible_problem_exits_1(write_problem: Callable[..., Path], small_problem_dict: dict,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    small_problem_dict["model"] = "llama-3.1-405b"
    small_problem_dict["constraints"]["max_nodes"] = 1
    small_problem_dict["search"]["include"] = {"memory": ["gddr6"]}
    assert main(["solve", str(write_problem(small_problem_dict))]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    line = one_error_line(err)
    assert line.startswith("archsearch: error: infeasible:")
    assert "capacity" in line and "max_nodes 1" in line


# -- catalog -------------------------------------------------------------------------------------
def test_catalog_table(wide: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    for name in ("hbm3e-8hi", "nvlink5", "fat-tree", "gpu-hbm", "llama-2-70b"):
        assert name in out


def test_catalog_memory_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "memory", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["section"] for r in rows} == {"memory"}
    assert {"hbm3", "gddr6", "sram-n5"} <= {r["name"] for r in rows}
    for r in rows:
        assert set(r) == {"section", "name", "summary", "price", "price_basis", "price_factor", "figures", "estimate",
                          "source"}
        assert r["source"]
    hbm3 = next(r for r in rows if r["name"] == "hbm3")
    # the numeric fields, as the YAML states them, and the price in words with its basis
    assert hbm3["figures"]["capacity_gb"] > 0 and hbm3["figures"]["cost_usd"]["points"]
    assert hbm3["price"].endswith(f"({hbm3['figures']['cost_basis']})")


def test_catalog_prices_in_another_basis(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "interconnects", "--json", "--basis", "market"]) == 0
    rows = json.loads(capsys.readouterr().out)
    for r in rows:
        own = r["figures"]["cost_basis"]
        assert r["price_basis"] == "market" and r["price_factor"] == (1.0 if own == "market" else 3.0)


def test_catalog_from_a_directory(catalog_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "topologies", "--catalog", str(catalog_dir), "--json"]) == 0
    assert "ring" in {r["name"] for r in json.loads(capsys.readouterr().out)}


# -- help ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["--help"]] + [[c, "--help"] for c in subcommands()],
                         ids=lambda a: " ".join(a))
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.strip() and "usage: archsearch" in out


def test_subcommands() -> None:
    assert subcommands() == ["catalog", "compare", "evaluate", "pareto", "solve", "study", "sweep", "validate"]


# -- bad input: exit 2 and one line --------------------------------------------------------------
def test_missing_problem_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nope.yaml"
    assert main(["solve", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert one_error_line(err) == f"archsearch: error: {path}: file not found"


def test_malformed_problem_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nmodel: [\n", encoding="utf-8")
    assert main(["solve", str(path)]) == 2
    assert one_error_line(capsys.readouterr().err) == (
        f"archsearch: error: {path}: malformed YAML: line 3, column 1: expected the node content, "
        "but found '<stream end>'")


def test_unknown_problem_key(write_problem: Callable[..., Path], small_problem_dict: dict,
                             capsys: pytest.CaptureFixture[str]) -> None:
    small_problem_dict["colour"] = "red"
    path = write_problem(small_problem_dict)
    assert main(["solve", str(path)]) == 2
    assert one_error_line(capsys.readouterr().err) == (
        f"archsearch: error: {path}: problem: colour: unknown field; allowed: name, description, overrides, model, "
        "workload, constraints, cost, search")


def test_missing_catalog_directory(small_problem: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--catalog", str(tmp_path / "none")]) == 2
    assert one_error_line(capsys.readouterr().err) == (
        f"archsearch: error: {tmp_path / 'none'}: catalog directory not found")


def test_corrupted_catalog(catalog_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = catalog_dir / "topologies.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("kind: ring", "kind: rings", 1), encoding="utf-8")
    assert main(["catalog", "--catalog", str(catalog_dir)]) == 2
    assert one_error_line(capsys.readouterr().err) == (
        f"archsearch: error: {path}: topologies[ring]: kind: expected one of ring, torus, mesh, fat_tree, "
        "dragonfly, switch, all_to_all, found 'rings' (did you mean 'ring'?)")


def test_long_error_is_not_wrapped(write_problem: Callable[..., Path], small_problem_dict: dict,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    small_problem_dict["search"]["include"] = {"memory": ["hbm9"]}
    assert main(["solve", str(write_problem(small_problem_dict))]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert len(line) > 120 and line.endswith("sram-wafer)")


@pytest.mark.parametrize("argv, message", [
    (["solve", "--top", "0"], "argument --top: expected a positive integer, found '0'"),
    (["solve", "--time-limit", "-1"], "argument --time-limit: expected a positive number, found '-1'"),
    (["catalog", "bogus"], "argument section: invalid choice: 'bogus'"),
], ids=["top-zero", "negative-time-limit", "bad-section"])
def test_bad_arguments_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    # one line, like every other input error, ending with where to look for help
    assert one_error_line(err).startswith(f"archsearch: error: {argv[0]}: {message}")
    assert err.rstrip().endswith(f"(see 'archsearch {argv[0]} --help')")


def test_out_into_a_missing_directory(small_problem: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "no" / "r.json"
    assert main(["solve", str(small_problem), "--top", "1", "--out", str(out)]) == 2
    assert one_error_line(capsys.readouterr().err) == (
        f"archsearch: error: --out: cannot write {out}: no such folder")


# -- the real entry point ---------------------------------------------------------------------------
def test_python_m_archsearch_default_problem(tmp_path: Path) -> None:
    import os
    env = {**os.environ, "PYTHONPATH": str(ROOT)}   # this tree's archsearch, wherever the tests run from
    run = subprocess.run([sys.executable, "-m", "archsearch", "solve", "--top", "1", "--json"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    doc = json.loads(run.stdout)
    check_document(doc, top=1)
    assert doc["problem"]["name"] == "llama-2-70b-chat"
    assert len(doc["designs"]) == 1


@pytest.mark.calibrated
def test_json_carries_calibrated_figures_and_the_roofline_bound(small_problem_dict, write_problem, capsys):
    small_problem_dict["constraints"].pop("balance")   # the shipped defaults: calibrated, comm_time
    small_problem_dict["workload"]["prompt_tokens"] = 1024
    assert main(["solve", str(write_problem(small_problem_dict)), "--json", "--top", "2"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["problem"]["speed_model"], doc["problem"]["balance_rule"]) == ("calibrated", "comm_time")
    for d in doc["designs"]:
        assert d["speed_model"] == "calibrated"
        assert d["decode_tokens_per_s_per_user"] < d["decode_tokens_per_s_per_user_bound"]
        assert d["time_to_first_token_s"] > d["time_to_first_token_bound_s"]
        assert d["time_per_token_fixed_s"] > 0


# -- issue 13 and issue 10: values checked, outputs checked first, one line always, exit 4 for bugs --------
ROOT = Path(__file__).resolve().parent.parent
EDGE = "llama-3-8b-edge"


@pytest.mark.parametrize("argv, message", [
    (["solve", "--seed", "2147483648"], "argument --seed: expected an integer in [0, 2,147,483,647], found "
                                        "'2147483648'"),
    (["solve", "--seed", "-1"], "argument --seed: expected an integer in [0, 2,147,483,647], found '-1'"),
    (["solve", "--workers", "0"], "argument --workers: expected an integer in [1, {cores}] (this machine's cores "
                                  "x 4), found '0'"),
    (["solve", "--workers", "1000000000000"], "argument --workers: expected an integer in [1, {cores}] (this "
                                              "machine's cores x 4), found '1000000000000'"),
    (["sweep", "--param", "workload.concurrency", "--workers", "1000000000000"],
     "argument --workers: expected an integer in [1, {cores}] (this machine's cores x 4), found '1000000000000'"),
    (["solve", "--top", "9" * 50], "argument --top: expected a positive integer, found '" + "9" * 50 + "'"),
    (["solve", "--time-limit", "inf"], "argument --time-limit: expected a positive number, found 'inf'"),
], ids=["seed-int32", "seed-negative", "workers-zero", "workers-huge", "sweep-workers-huge", "top-50-digits",
        "time-limit-inf"])
def test_values_out_of_range_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    from archsearch.cli import max_workers
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert one_error_line(capsys.readouterr().err).startswith(
        f"archsearch: error: {argv[0]}: {message.format(cores=max_workers())}")


@pytest.mark.parametrize("argv, message", [
    (["sweep", EDGE, "--param", "workload.concurrency", "--values", ""],
     "--values: expected numbers separated by commas, found ''"),
    (["sweep", EDGE, "--param", "workload.concurrency", "--range", "1:2:99999999999999999999"],
     "--range: 99,999,999,999,999,999,999 points, more than a sweep may solve (10,000)"),
    (["sweep", EDGE, "--param", "workload.concurrency=1:200:200", "--param", "workload.context_length=1k:4k:100"],
     "--param: a grid of 200 x 100 points, more than a sweep may solve (10,000)"),
    (["sweep", EDGE, "--param", "workload.concurrency", "--values", "1e-300"],
     "--param workload.concurrency: expected whole numbers, found 1e-300"),
    (["sweep", EDGE, "--param", "workload.concurrency", "--values", "1e300"],
     "--param workload.concurrency = 1e+300: {edge}: problem.workload: concurrency: expected an integer in "
     "[1, 100,000,000], found a 301-digit integer"),
    (["sweep", EDGE, "--param", "workload.concurrency", "--values", "9" * 31],
     "--param workload.concurrency = 1e+31: {edge}: problem.workload: concurrency: expected an integer in "
     "[1, 100,000,000], found a 31-digit integer"),
    (["sweep", EDGE, "--param", "constraints.budget_usd", "--values", "9" * 41],
     "--values: expected a number (optionally with k, M or G), found '" + "9" * 41 + "' (more than 40 digits)"),
    (["solve", EDGE, "--set", "workload.context_length=0"],
     "--set workload.context_length=0: {edge}: problem.workload: context_length: expected an integer in "
     "[1, 1,073,741,824], found 0"),
    (["solve", EDGE, "--set", "workload.context_length"],
     "--set: expected PATH=VALUE, e.g. workload.context_length=32k, found 'workload.context_length'"),
    (["evaluate", EDGE, "--design", "memory=hbm4,units=1,nodes=1", "--set", "catalog.memory.hbm9.capacity_gb=1"],
     "--set catalog.memory.hbm9: no memory entry named 'hbm9'"),
    (["compare", EDGE, "--set", "workload.kv_dtype=fp9"],
     "--set workload.kv_dtype=fp9: {edge}: problem.workload: kv_dtype: expected one of fp32, bf16, fp16, fp8, int8, "
     "fp4, int4, found 'fp9' (did you mean 'fp8'?)"),
    (["pareto", EDGE, "--set", "search.top_k=1e300"],
     "--set search.top_k=1e300: {edge}: problem.search: top_k: expected an integer in [1, 1,000], found a "
     "301-digit integer"),
    (["solve", EDGE, "--out", "/dev/null"], "--out: cannot write /dev/null: not a regular file (a character device)"),
    (["solve", EDGE, "--out", "/tmp"], "--out: cannot write /tmp: not a regular file (a folder)"),
    (["sweep", EDGE, "--param", "workload.concurrency", "--values", "1", "--csv", "/tmp"],
     "--csv: cannot write /tmp: not a regular file (a folder)"),
    (["pareto", EDGE, "--plot", "/nonexistent/f.png"], "--plot: cannot write /nonexistent/f.png: no such folder"),
    (["solve", "llama-3-8b-edg"], "llama-3-8b-edg: file not found (did you mean 'llama-3-8b-edge'? bundled problems: "
                                  "{bundled})"),
], ids=["values-empty", "range-huge", "grid-too-big", "values-tiny", "values-huge", "values-31-digits",
        "values-41-digits", "set-out-of-range", "set-no-value", "set-unknown-entry", "set-choice", "set-huge",
        "out-device", "out-folder", "csv-folder", "plot-missing-folder", "bundled-typo"])
def test_bad_values_are_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    from archsearch.problem import bundled_problems, resolve_problem_path
    assert main(argv) == 2
    expected = message.format(edge=resolve_problem_path(EDGE), bundled=", ".join(p.stem for p in bundled_problems()))
    assert one_error_line(capsys.readouterr().err) == f"archsearch: error: {expected}"


def test_set_changes_the_problem(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", EDGE, "--top", "1", "--json", "--set", "workload.context_length=2k",
                 "--set", "workload.kv_dtype=fp8", "--set", "constraints.budget_usd=2e6"]) == 0
    doc = json.loads(capsys.readouterr().out)
    from archsearch.problem import load_problem
    p = load_problem(EDGE)
    per_token = doc["requirements"]["kv_bytes_per_token"]
    assert per_token * 2 == 2 * p.model.layers * p.model.kv_elements_per_layer  # fp8: one byte per element
    assert doc["requirements"]["kv_bytes_per_request"] == per_token * 2048


def test_problem_from_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io
    from archsearch import problem as problem_mod
    from archsearch.problem import resolve_problem_path
    monkeypatch.setattr(problem_mod, "_STDIN_TEXT", [])
    monkeypatch.setattr("sys.stdin", io.StringIO(resolve_problem_path(EDGE).read_text(encoding="utf-8")))
    assert main(["solve", "-", "--top", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["problem"]["path"] == "<stdin>"


def test_an_internal_error_is_one_line_and_exit_4(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import archsearch.cli as cli
    from archsearch.cli import ISSUES_URL

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ZeroDivisionError("boom\nsecond line")
    monkeypatch.setattr(cli, "solve", broken)
    assert main(["solve", EDGE]) == 4
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"archsearch: internal error: ZeroDivisionError: boom\\nsecond line (a bug: please report it at {ISSUES_URL} "
        "with the command and its input files; --debug shows the traceback)"]
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "solve", EDGE])
    with pytest.raises(ZeroDivisionError):
        main(["solve", EDGE, "--debug"])


def test_an_error_message_with_a_newline_stays_one_line(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import archsearch.cli as cli
    from archsearch.errors import SolverError

    def failing(*args: Any, **kwargs: Any) -> None:
        raise SolverError("model invalid:\nvariables: ...")
    monkeypatch.setattr(cli, "solve", failing)
    assert main(["solve", EDGE]) == 3
    assert one_error_line(capsys.readouterr().err) == "archsearch: error: model invalid:\\nvariables: ..."


def test_outputs_are_checked_before_solving(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    import archsearch.cli as cli
    monkeypatch.setattr(cli, "solve", lambda *a, **k: pytest.fail("solved before checking --out"))
    assert main(["solve", EDGE, "--out", str(tmp_path / "missing" / "r.json")]) == 2


def test_a_killed_solve_out_leaves_no_stray_file_after_the_next_run(tmp_path: Path) -> None:
    """A writer killed (SIGKILL) between creating its temporary file and renaming it leaves
    ``.r.json.archsearch-PID-*.tmp``; the next ``solve --out`` to the same file removes it."""
    out = tmp_path / "r.json"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    killed = subprocess.run([sys.executable, "-c", (
        "import os, signal, tempfile\n"
        "from archsearch.yamlio import TEMP_TAG\n"
        f"fd, tmp = tempfile.mkstemp(prefix='.r.json' + TEMP_TAG + str(os.getpid()) + '-', suffix='.tmp', "
        f"dir={str(tmp_path)!r})\n"
        "os.write(fd, b'{\"partial')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")], env=env, capture_output=True, timeout=60)
    assert killed.returncode == -9
    assert len(list(tmp_path.glob(".r.json.archsearch-*.tmp"))) == 1
    run = subprocess.run([sys.executable, "-m", "archsearch", "solve", EDGE, "--top", "1", "--out", str(out)],
                         env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
    assert json.loads(out.read_text(encoding="utf-8"))["status"] == "OPTIMAL"


def test_clamped_max_nodes_is_said_under_the_table_and_in_json(catalog_dir: Path, write_problem: Callable[..., Path],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import yaml
    path = catalog_dir / "interconnects.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for ic in doc["interconnects"]:
        ic["reach_nodes"] = min(ic["reach_nodes"], 16)
        ic["rack_nodes"] = min(ic["rack_nodes"], 16)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    problem = {"name": "clamp", "model": "llama-3-8b", "workload": {"context_length": "1k", "concurrency": 4},
               "constraints": {"max_nodes": "1G"}, "search": {"top_k": 1}}
    p = str(write_problem(problem))
    assert main(["solve", p, "--catalog", str(catalog_dir)]) == 0
    out = capsys.readouterr().out
    assert ("max_nodes 1,000,000,000 is above every interconnect's reach; searched up to 16 nodes (the largest "
            "reach_nodes in the catalog)") in " ".join(out.split())
    assert main(["solve", p, "--catalog", str(catalog_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["problem"]["max_nodes_clamped"] == {"requested": 10**9, "used": 16}


def test_basis_and_width_on_solve(small_problem: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", str(small_problem), "--basis", "market", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["problem"]["cost_basis"] == "market"
    assert doc["problem"]["cost_basis_words"] == "market cost: street price, build cost x 3"
    assert main(["solve", str(small_problem), "--width", "80"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "checked in build dollars" in out.replace("\n", " ")


@pytest.mark.parametrize("command", ["solve", "sweep", "evaluate", "compare", "pareto", "catalog"])
def test_every_command_takes_basis_width_and_quiet(command: str) -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    flags = {o for a in sub._actions for o in a.option_strings}
    assert {"--basis", "--width", "--quiet"} <= flags
