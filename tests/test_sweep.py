"""Sweeps: value parsing, parameter paths, crossovers, and agreement with independent solves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archsearch import load_problem, solve
from archsearch import sweep as S
from archsearch.cli import main
from archsearch.errors import UsageError
from archsearch.problem import problem_from_dict, read_problem_dict


@pytest.mark.parametrize("text, binary, value", [("4k", True, 4096), ("128k", True, 131072), ("1M", True, 2**20),
                                                 ("1k", False, 1000), ("2.5M", False, 2.5e6), ("300", False, 300)])
def test_suffixes(text, binary, value):
    assert S.parse_number(text, binary) == value


def test_log_range_hits_both_ends_and_doubles():
    vals, log = S.parse_range("1k:1M:11:log", binary=True)
    assert log and vals[0] == 1024 and vals[-1] == 2**20
    assert [round(v) for v in vals] == [2**i for i in range(10, 21)]


@pytest.mark.parametrize("spec, message", [
    ("1k:1M", "--range: expected LO:HI:N or LO:HI:N:log, found '1k:1M'"),
    ("1M:1k:5", "--range: HI (1k) is below LO (1M)"),
    ("1k:1M:0", "--range: expected at least 1 point, found 0"),
    ("1k:1M:x", "--range: expected a whole number of points, found 'x'"),
    ("0:10:3:log", "--range: a log range needs LO > 0, found 0"),
    ("5:5:3", "--range: LO and HI are equal (5) but 3 points were asked for"),
    ("a:5:3", "--range: expected a number (optionally with k, M or G), found 'a'"),
])
def test_bad_ranges(spec, message):
    with pytest.raises(UsageError) as exc:
        S.parse_range(spec)
    assert str(exc.value) == message


@pytest.mark.parametrize("text, message", [
    ("", "--values: expected numbers separated by commas, found ''"),
    ("4k,,8k", "--values: expected numbers separated by commas, found '4k,,8k'"),
    ("4k,lots", "--values: expected a number (optionally with k, M or G), found 'lots'"),
    ("inf", "--values: expected a number (optionally with k, M or G), found 'inf'"),
])
def test_bad_values(text, message):
    with pytest.raises(UsageError) as exc:
        S.parse_values(text)
    assert str(exc.value) == message


@pytest.mark.parametrize("param, message", [
    ("workload", "--param workload: expected a dotted path such as workload.context_length"),
    ("workload.kv_dtype", "--param workload.kv_dtype: not a numeric field (found 'bf16')"),
    ("catalog.memory.hbm9.capacity_gb", "--param catalog.memory.hbm9: no memory entry named 'hbm9'"),
    ("catalog.memory.hbm3.colour", "--param catalog.memory.hbm3.colour: memory entry 'hbm3' has no field 'colour'"),
    ("catalog.memory.hbm3.attach", "--param catalog.memory.hbm3.attach: not a numeric field (found 'package')"),
    ("catalog.gadgets.x.y", "--param catalog.gadgets.x.y: expected catalog.<section>.<entry>.<field> with a "
                            "section of memory, nodes, interconnects, topologies, models"),
])
def test_bad_parameter_paths(param, message):
    with pytest.raises(UsageError) as exc:
        S.sweep(None, param, [1.0])
    assert str(exc.value) == message


def test_a_value_the_problem_cannot_hold_is_refused_with_the_loaders_message():
    with pytest.raises(UsageError) as exc:
        S.sweep(None, "workload.concurrency", [0])
    assert str(exc.value).startswith("--param workload.concurrency = 0: ")
    assert str(exc.value).endswith("problem.workload: concurrency: expected an integer in [1, 100,000,000], found 0")


def test_unknown_field_in_a_section_is_refused():
    with pytest.raises(UsageError) as exc:
        S.sweep(None, "workload.contxt_length", [4096])
    assert "contxt_length: unknown field" in str(exc.value)


def test_every_point_equals_an_independent_solve():
    values = [2048, 65536, 262144]
    points = S.sweep(None, "workload.context_length", values, top_k=2)
    raw, file = read_problem_dict(None)
    for p, v in zip(points, values):
        raw["workload"]["context_length"] = v
        alone = solve(problem_from_dict(raw, file), top_k=2)
        assert [d.design.key() for d in p.result.designs] == [d.design.key() for d in alone.designs]
        assert [d.metrics.bandwidth_per_dollar for d in p.result.designs] == \
            [d.metrics.bandwidth_per_dollar for d in alone.designs]


@pytest.mark.parametrize("param, values", [("workload.context_length", [1024, 8192, 65536, 524288]),
                                           ("workload.concurrency", [1, 16, 128, 512])])
def test_more_to_hold_never_raises_the_best_ratio(param, values):
    best = [p.result.designs[0].metrics.bandwidth_per_dollar for p in S.sweep(None, param, values)]
    assert best == sorted(best, reverse=True)


def test_workers_and_warm_starts_do_not_change_the_answer():
    values = [1024, 16384, 131072, 524288]
    keys = []
    for workers, warm in ((1, True), (2, True), (1, False)):
        pts = S.sweep(None, "workload.context_length", values, workers=workers, warm=warm)
        keys.append([p.result.designs[0].design.key() for p in pts])
    assert keys[0] == keys[1] == keys[2]


def test_crossovers_mark_where_the_architecture_changes():
    pts = S.sweep(None, "workload.context_length", [2048, 4096, 262144, 524288])
    xs = S.crossovers(pts)
    assert xs and all(x["from"] != x["to"] for x in xs)
    assert xs[0]["from_value"] == 2048 and xs[0]["to_value"] == 4096


def test_a_cost_curve_is_swept_as_a_price_multiplier():
    raw, file = read_problem_dict(None)
    doubled = S.apply(raw, "catalog.memory.hbm4.cost_usd", 2.0, lambda s, e: {"cost_usd": {"points": [[1, 10],
                                                                                                     [8, 80]]}})
    assert doubled["overrides"]["memory"]["hbm4"]["cost_usd"] == {"points": [[1, 20.0], [8, 160.0]]}
    p = problem_from_dict(doubled, file)
    assert p.catalog.memory["hbm4"].cost_usd.points == ((1, 20.0), (8, 160.0))


def test_cli_sweep_json_and_csv_carry_the_same_rows(tmp_path: Path, capsys):
    out_json, out_csv = tmp_path / "s.json", tmp_path / "s.csv"
    assert main(["sweep", "--param", "workload.context_length", "--values", "4k,256k", "--out", str(out_json),
                 "--csv", str(out_csv)]) == 0
    doc = json.loads(out_json.read_text())
    assert [r["workload.context_length"] for r in doc["rows"]] == [4096, 262144]
    lines = out_csv.read_text().splitlines()
    assert lines[0].startswith("workload.context_length,rank,status,memory")
    assert len(lines) == 1 + len(doc["rows"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left behind
    text = capsys.readouterr().out
    assert "sweep of workload.context_length" in text


def test_cli_sweep_json_to_stdout(capsys):
    assert main(["sweep", "--param", "workload.concurrency", "--values", "8,64", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["params"] == ["workload.concurrency"] and len(doc["rows"]) == 2


@pytest.mark.parametrize("argv, message", [
    (["sweep", "--param", "workload.concurrency"],
     "archsearch: error: --param workload.concurrency: give --values or --range (only workload.context_length "
     "has a default range)"),
    (["sweep", "--param", "workload.context_length", "--range", "1M:1k:4"],
     "archsearch: error: --range: HI (1k) is below LO (1M)"),
])
def test_cli_bad_sweep_arguments_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip() == message


def test_a_grid_sweep_solves_every_pair_like_an_independent_solve():
    pts = S.grid(None, ["workload.context_length", "workload.concurrency"], [4096, 262144], [8, 128])
    assert [p.value for p in pts] == [(4096, 8), (4096, 128), (262144, 8), (262144, 128)]
    raw, file = read_problem_dict(None)
    raw["workload"]["context_length"], raw["workload"]["concurrency"] = 262144, 128
    alone = solve(problem_from_dict(raw, file), top_k=1)
    assert pts[-1].result.designs[0].design.key() == alone.designs[0].design.key()


def test_cli_grid_sweep_table_json_and_heatmap(tmp_path: Path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "grid.png"
    assert main(["sweep", "--param", "workload.context_length=4k,256k", "--param", "workload.concurrency=8,128",
                 "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "rows workload.context_length, columns" in text and "256k" in text
    assert png.read_bytes().startswith(b"\x89PNG")
    assert main(["sweep", "--param", "workload.context_length=4k,256k", "--param", "workload.concurrency=8:128:2",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["params"] == ["workload.context_length", "workload.concurrency"]
    assert [(r["workload.context_length"], r["workload.concurrency"]) for r in doc["rows"]] == \
        [(4096, 8), (4096, 128), (262144, 8), (262144, 128)]


@pytest.mark.parametrize("argv, message", [
    (["sweep", "--param", "workload.context_length=4k", "--param", "workload.concurrency=8", "--values", "1,2"],
     "archsearch: error: --values/--range: with two parameters give each its values as --param PATH=SPEC"),
    (["sweep", "--param", "a.b=1", "--param", "c.d=1", "--param", "e.f=1"],
     "archsearch: error: --param: at most two parameters (a grid)"),
])
def test_cli_bad_grid_arguments(argv, message, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == message


def test_fractional_values_are_solved_as_given():
    """Regression: a sweep once rounded 107.3 tokens/s to 107 while reporting 107.3."""
    points = S.sweep(None, "workload.min_decode_tokens_per_s_per_user", [107.3])
    raw, file = read_problem_dict(None)
    raw["workload"]["min_decode_tokens_per_s_per_user"] = 107.3
    alone = solve(problem_from_dict(raw, file), top_k=1)
    got = points[0].result.designs[0]
    assert got.design.key() == alone.designs[0].design.key()
    assert got.metrics.decode_tokens_per_s_per_user >= 107.3


def test_integer_fields_refuse_fractions_and_ranges_round():
    with pytest.raises(UsageError) as exc:
        S.settle("workload.concurrency", [2.5])
    assert str(exc.value) == "--param workload.concurrency: expected whole numbers, found 2.5"
    assert S.settle("workload.concurrency", [1, 1.5, 2], rounded=True) == [1, 2]
    assert S.settle("constraints.budget_usd", [2e6, 1e6]) == [1e6, 2e6]
    assert S.is_integer_field("catalog.memory.hbm4.max_units_per_node")
    assert not S.is_integer_field("catalog.memory.hbm4.capacity_gb")


def test_a_price_multiplier_starts_from_the_problems_own_override(tmp_path):
    import yaml
    raw, _ = read_problem_dict(None)
    raw["overrides"] = {"memory": {"hbm4": {"cost_usd": {"points": [[1, 1000], [8, 8000]]}}}}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(raw))
    pts = S.sweep(path, "catalog.memory.hbm4.cost_usd", [1.0])
    assert pts[0].result.designs[0].design.key() == solve(load_problem(path), top_k=1).designs[0].design.key()


def test_cli_sweep_refuses_a_missing_output_folder_before_solving(tmp_path, capsys):
    out = tmp_path / "no" / "x.csv"
    assert main(["sweep", "--param", "workload.concurrency", "--values", "8", "--csv", str(out)]) == 2
    assert capsys.readouterr().err.strip() == f"archsearch: error: --csv: cannot write {out}: no such folder"


def test_the_same_parameter_twice_is_refused():
    with pytest.raises(UsageError) as exc:
        S.sweep(None, ["workload.concurrency", "workload.concurrency"], [(1, 2)])
    assert str(exc.value) == "--param: the same parameter twice (workload.concurrency)"


def test_a_sweep_larger_than_max_points_is_refused_before_any_work() -> None:
    from archsearch.errors import UsageError
    from archsearch.sweep import MAX_POINTS, sweep
    with pytest.raises(UsageError) as exc:
        sweep("llama-3-8b-edge", "workload.concurrency", list(range(1, MAX_POINTS + 2)))
    assert str(exc.value) == "--param: 10,001 points, more than a sweep may solve (10,000)"


@pytest.mark.parametrize("text, message", [
    ("1:2:99999999999999999999", "--range: 99,999,999,999,999,999,999 points, more than a sweep may solve (10,000)"),
    ("1:2:" + "9" * 50, "--range: expected a whole number of points, found '" + "9" * 50 + "'"),
])
def test_range_size_is_bounded_before_any_list(text: str, message: str) -> None:
    from archsearch.errors import UsageError
    from archsearch.sweep import parse_range
    with pytest.raises(UsageError) as exc:
        parse_range(text)
    assert str(exc.value) == message


def test_a_price_multiplier_scales_prices_exactly():
    """Costs are exact: 272 x 1.1 is 299.2, not the float 299.20000000000005 (whose 1e-14 dollars would make every
    cost a multiple of a unit too fine for CP-SAT), and the solve at 1.1 succeeds."""
    from fractions import Fraction
    raw, file = read_problem_dict(None)
    out = S.apply(raw, "catalog.memory.hbm3e-8hi.cost_usd", 1.1, lambda s, e: {"cost_usd": {"points": [[1, 272],
                                                                                                        [8, 2176]]}})
    assert out["overrides"]["memory"]["hbm3e-8hi"]["cost_usd"] == {"points": [[1, Fraction("299.2")],
                                                                               [8, Fraction("2393.6")]]}
    assert S.sweep(None, "catalog.memory.hbm3e-8hi.cost_usd", [1.1])[0].result.status == "OPTIMAL"


def test_a_range_of_prices_is_kept_to_four_significant_digits():
    assert S.settle("catalog.memory.hbm4.cost_usd", S.parse_range("0.1:1:10")[0], rounded=True)[2] == 0.3
    assert S.settle("catalog.memory.hbm4.cost_usd", S.parse_range("0.1:10:5:log")[0], rounded=True) == \
        [0.1, 0.3162, 1.0, 3.162, 10.0]
    assert S.settle("constraints.budget_usd", [1234567.0], rounded=True) == [1235000.0]
    assert S.settle("constraints.budget_usd", [1234567.0]) == [1234567.0]     # typed values are kept as typed
