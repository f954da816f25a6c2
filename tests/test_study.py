"""archsearch.study: study files, the grid and its bound, rows equal to solving each point, resuming."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from archsearch import InfeasibleError, StudyError, load_problem, solve
from archsearch.cli import main
from archsearch.study import load_study, run_study

STUDY_ALLOWED = "name, problem, catalog, top_k, distinct, max_points, parameters, outputs"
PARAMS = [{"path": "workload.context_length", "values": ["2k", "4k", "8k"]},
          {"path": "workload.concurrency", "values": [16, 64]}]


@pytest.fixture
def study_file(tmp_path: Path, small_problem_dict, write_problem) -> Callable[..., Path]:
    """``study_file(**fields)``: a study of the small problem (3 x 2 points, top 2) written into tmp_path."""
    problem = write_problem(small_problem_dict)

    def write(**fields: Any) -> Path:
        doc = {"name": "s", "problem": str(problem), "top_k": 2, "parameters": PARAMS,
               "outputs": {"csv": "s.csv", "json": "s.json"}}
        doc.update(fields)
        path = tmp_path / "study.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path
    return write


def test_load_study_reads_values_ranges_and_outputs(study_file, tmp_path: Path) -> None:
    spec = load_study(study_file(parameters=PARAMS + [{"path": "constraints.max_nodes", "range": "4:16:3"}]),
                      out_dir=tmp_path)
    assert [p.values for p in spec.parameters] == [(2048, 4096, 8192), (16, 64), (4, 10, 16)]
    assert spec.size == 18 and spec.points()[:2] == [(2048, 16, 4), (2048, 16, 10)]
    assert spec.outputs == {"csv": str(tmp_path / "s.csv"), "json": str(tmp_path / "s.json")}


def test_a_log_range_is_log_spaced_and_rounded(study_file) -> None:
    spec = load_study(study_file(parameters=[{"path": "workload.context_length", "range": "1k:1M:4:log"}]))
    assert spec.parameters[0].values == (1024, 10321, 104032, 1048576) and spec.parameters[0].log


@pytest.mark.parametrize("fields, message", [
    ({"parameters": []}, "study: parameters: expected a non-empty list of {path, values or range}, found a list"),
    ({"parameters": [{"path": "workload.concurrency"}]},
     "study.parameters[workload.concurrency]: expected exactly one of 'values' (a list) and 'range' "
     "(LO:HI:N or LO:HI:N:log)"),
    ({"parameters": [{"path": "workload.concurrency", "range": "1:8"}]},
     "study.parameters[workload.concurrency]: range: expected LO:HI:N or LO:HI:N:log, found '1:8'"),
    ({"parameters": [{"path": "workload.concurrency", "values": [1.5]}]},
     "study.parameters[workload.concurrency]: values: expected whole numbers, found 1.5"),
    ({"parameters": [PARAMS[0], PARAMS[0]]}, "study.parameters[workload.context_length]: path: the same parameter twice"),
    ({"top_k": 0}, "study: top_k: expected a positive integer, found 0"),
    ({"colour": "red"}, "study: colour: unknown field; allowed: " + STUDY_ALLOWED),
    # issue 10: an unknown key before a missing required field, in each section of a study file
    ({"colour": "red", "parameters": None}, "study: colour: unknown field; allowed: " + STUDY_ALLOWED),
    ({"parameters": [{"values": [1, 2], "steps": 3}]},
     "study.parameters[0]: steps: unknown field; allowed: path, values, range"),
    ({"parameters": [{"path": "workload.concurrency", "value": [1, 2]}]},
     "study.parameters[workload.concurrency]: value: unknown field (did you mean 'values'?); allowed: path, values, "
     "range"),
    ({"outputs": {"csv": "s.csv", "pdf": "s.pdf"}},
     "study.outputs: pdf: unknown field; allowed: csv, parquet, json, plot"),
    ({"max_points": 5}, "study: 3 x 2 = 6 points exceeds max_points 5 (raise max_points in the study file if you "
                        "mean it)"),
])
def test_load_study_rejects(study_file, fields: dict, message: str) -> None:
    path = study_file(**fields)
    with pytest.raises(StudyError) as info:
        load_study(path)
    assert str(info.value) == f"{path}: {message}"


def test_a_bad_value_is_refused_before_any_solve(study_file, tmp_path: Path) -> None:
    spec = load_study(study_file(parameters=[{"path": "workload.concurrency", "values": [16, -1]}]), tmp_path)
    with pytest.raises(StudyError) as info:
        run_study(spec)
    assert str(info.value).startswith(f"{spec.file}: study.parameters[workload.concurrency]: at -1: ")
    assert not (tmp_path / "s.csv").exists()


def test_rows_equal_solving_each_point(study_file, tmp_path: Path, small_problem_dict, write_problem) -> None:
    spec = load_study(study_file(), tmp_path)
    run = run_study(spec)
    assert run.solved == 6 and run.resumed == 0
    base = load_problem(spec.problem)
    for i, (ctx, conc) in enumerate(spec.points()):
        p = dataclasses.replace(base, workload=dataclasses.replace(base.workload, context_length=ctx,
                                                                   concurrency=conc))
        rows = [r for r in run.rows if r["point"] == i]
        try:
            result = solve(p, top_k=2)
            designs = result.designs
        except InfeasibleError as exc:
            assert [(r["status"], r["engine"]) for r in rows] == [("INFEASIBLE", exc.engine)]
            continue
        assert [(r["memory"], r["nodes"], r["tensor_parallel"], r["cost_usd"]) for r in rows] == \
               [(d.design.mem.memory.name, d.design.nodes, d.design.tensor_parallel, d.metrics.cost_usd)
                for d in designs]
        assert all(r["engine"] == result.engine == "enumeration" and r["point_rows"] == len(designs) for r in rows)
    assert (tmp_path / "s.json").exists()


def test_an_interrupted_study_resumes_to_the_same_rows(study_file, tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    whole.mkdir()
    spec = load_study(study_file(), whole)
    run_study(spec, chunk_points=2)
    expected = (whole / "s.csv").read_text()

    spec = load_study(study_file(), tmp_path)
    first = run_study(spec, chunk_points=2, stop_after=1)   # interrupted after one chunk of two points
    assert first.solved == 2 and not (tmp_path / "s.json").exists()
    with open(tmp_path / "s.csv", "a") as fh:             # and killed while writing a third
        fh.write("4,8192,16,1,OPTIMAL,cp-sat,hbm3e-12hi")
    again = run_study(spec, chunk_points=2, resume=True)
    assert (again.resumed, again.solved) == (2, 4)
    assert (tmp_path / "s.csv").read_text() == expected
    assert (tmp_path / "s.json").exists()


def test_resume_refuses_another_studys_journal(study_file, tmp_path: Path) -> None:
    run_study(load_study(study_file(), tmp_path), stop_after=0)
    other = load_study(study_file(top_k=1), tmp_path)
    with pytest.raises(StudyError) as info:
        run_study(other, resume=True)
    assert "written by a different study" in str(info.value)


def test_worker_processes_give_the_same_rows(study_file, tmp_path: Path) -> None:
    spec = load_study(study_file(), tmp_path)
    one = run_study(spec).rows
    assert run_study(spec, workers=2, chunk_points=1).rows == one


def test_cli_study_writes_outputs_and_a_summary(study_file, tmp_path: Path, capsys) -> None:
    assert main(["study", str(study_file()), "--out-dir", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("s: 6 points (") and f"csv: {tmp_path / 's.csv'}" in out
    assert main(["study", str(study_file()), "--out-dir", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == f"archsearch: error: --out-dir: {tmp_path / 'nope'}: no such folder\n"


def test_the_bundled_example_study_loads() -> None:
    from archsearch.problem import bundled_problems
    folder = bundled_problems()[0].parent / "studies"
    for f in sorted(folder.glob("*.yaml")):
        spec = load_study(f)
        assert 2 <= len(spec.parameters) and spec.size <= spec.max_points
