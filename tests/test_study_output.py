"""archsearch.study_output: the CSV journal (append, cut-short lines, incomplete points), Parquet, plots."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsearch.errors import StudyError, UsageError
from archsearch.study import Parameter
from archsearch.study_output import Journal, check_outputs, study_plot, summary, write_parquet

COLUMNS = ["point", "x", "rank", "status", "engine", "memory", "bandwidth_per_dollar", "point_rows", "why"]


def _row(point: int, rank: int, rows: int = 2, **kw) -> dict:
    return {"point": point, "x": 10 * point, "rank": rank, "status": "OPTIMAL", "engine": "cp-sat", "memory": "hbm3e",
            "bandwidth_per_dollar": 1.5e9 / (point + rank), "point_rows": rows, "why": None, **kw}


def test_journal_keeps_complete_points_and_drops_a_cut_line(tmp_path: Path) -> None:
    path = tmp_path / "j.csv"
    j = Journal(path, COLUMNS, "abc")
    assert j.open(resume=False) == set()
    j.append([[_row(0, 1), _row(0, 2)], [_row(1, 1), _row(1, 2)]])
    j.append([[_row(2, 1)]])                      # point 2 has only one of its two rows
    j.close()
    with open(path, "a") as fh:
        fh.write("3,30,1,OPT")                    # a line cut short
    j = Journal(path, COLUMNS, "abc")
    assert j.open(resume=True) == {0, 1}
    j.append([[_row(2, 1), _row(2, 2)]])
    j.close()
    rows = j.read_rows()
    assert [(r["point"], r["rank"]) for r in rows] == [(0, 1), (0, 2), (1, 1), (1, 2), (2, 1), (2, 2)]
    assert rows[0] == _row(0, 1) and isinstance(rows[0]["bandwidth_per_dollar"], float)
    assert (tmp_path / "j.csv.study").read_text() == "abc\n"


def test_journal_refuses_a_different_fingerprint(tmp_path: Path) -> None:
    Journal(tmp_path / "j.csv", COLUMNS, "abc").open(resume=False)
    with pytest.raises(StudyError) as info:
        Journal(tmp_path / "j.csv", COLUMNS, "xyz").open(resume=True)
    assert str(info.value) == (f"{tmp_path / 'j.csv'}: written by a different study (problem, parameters, top_k or "
                               "distinct differ, or no .study file beside it); delete it or run without --resume")


def test_parquet_holds_the_rows(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [_row(0, 1), _row(0, 2), {**_row(1, 1, rows=1), "status": "INFEASIBLE", "rank": None, "memory": None, "why": "no"}]
    write_parquet(tmp_path / "r.parquet", rows, COLUMNS)
    assert pq.read_table(tmp_path / "r.parquet").to_pylist() == rows


def test_check_outputs_names_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        check_outputs({"csv": str(tmp_path / "no" / "r.csv")})
    assert str(info.value) == f"outputs.csv: cannot write {tmp_path / 'no' / 'r.csv'}: no such folder"


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_study_plot_for_one_two_and_three_parameters(tmp_path: Path, dims: int) -> None:
    pytest.importorskip("matplotlib")
    params = [Parameter("a", (1.0, 2.0), False), Parameter("b", (1.0, 10.0, 100.0), True),
              Parameter("c", (5.0, 6.0), False)][:dims]
    import itertools
    rows = [{"point": i, "rank": 1, **{p.path: v for p, v in zip(params, vals)}, "bandwidth_per_dollar": float(i)}
            for i, vals in enumerate(itertools.product(*(p.values for p in params)))]
    study_plot(rows, params, tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_summary_counts_points_infeasible_and_engines() -> None:
    rows = [_row(0, 1), _row(0, 2), {**_row(1, 1), "rank": None, "status": "INFEASIBLE"}]
    assert summary(rows) == {"points": 2, "infeasible": 1, "engines": {"cp-sat": 2}}
