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
    assert isinstance(doc["solver"]["iterations"], int) and doc["solver"]["iterations"] >= 1


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
    assert one_error_line(capsys.readouterr().err) == f"archsearch: error: {path}: problem: colour: unknown field"


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
        "dragonfly, switch, all_to_all, found 'rings'")


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
        f"archsearch: error: --out: cannot write {out}: No such file or directory")


# -- the real entry point ---------------------------------------------------------------------------
def test_python_m_archsearch_default_problem(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "archsearch", "solve", "--top", "1", "--json"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
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
