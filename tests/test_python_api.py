"""The Python API page's examples run, in order, as one notebook would run them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import archsearch
from archsearch import Problem, UsageError

PAGE = Path(__file__).resolve().parent.parent / "docs" / "python-api.md"


def test_the_python_api_page_runs():
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
    assert len(blocks) >= 4
    scope: dict = {}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), scope)   # noqa: S102 - our own documentation
    assert scope["frame"].index.name == "rank"
    assert len(scope["small"].designs) == 3


def test_solve_takes_explicit_keywords_only():
    with pytest.raises(TypeError):
        archsearch.solve("llama-3-8b-edge", top=3)   # the misspelling is a plain TypeError now


@pytest.mark.parametrize("kw, message", [
    ({"top_k": 0}, "top_k: expected a whole number >= 1, found 0"),
    ({"workers": 1.5}, "workers: expected a whole number >= 1, found 1.5"),
    ({"distinct": "machine"}, "distinct: expected one of architecture, medium, design, found 'machine'"),
    ({"time_limit_s": 0}, "time_limit_s: expected a number of seconds > 0, found 0"),
])
def test_bad_keywords_are_one_line_errors(kw, message):
    with pytest.raises(UsageError) as exc:
        archsearch.solve("llama-3-8b-edge", **kw)
    assert str(exc.value) == message


def test_reprs_are_short():
    r = archsearch.solve("llama-3-8b-edge", top_k=10)
    assert len(repr(r)) < 300
    assert all(len(repr(d)) < 300 for d in r.designs)
    assert len(repr(r.designs[0].design)) < 300
    assert len(repr(r.problem)) < 300


def test_records_are_flat_and_carry_the_cost_basis():
    r = archsearch.solve("llama-3-8b-edge", top_k=2)
    rows = r.to_records()
    assert [row["rank"] for row in rows] == [1, 2]
    assert all(not isinstance(v, (dict, list)) for row in rows for v in row.values())
    assert rows[0]["cost_basis"] == r.problem.cost.basis


def test_to_dataframe_without_pandas_says_how_to_get_it(monkeypatch):
    import builtins
    real = builtins.__import__

    def no_pandas(name, *a, **k):
        if name == "pandas":
            raise ImportError(name)
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", no_pandas)
    r = archsearch.solve("llama-3-8b-edge", top_k=1)
    with pytest.raises(UsageError) as exc:
        r.to_dataframe()
    assert str(exc.value) == ("to_dataframe needs pandas, which is not installed: pip install 'archsearch[frames]' "
                              "(or use to_records(), a list of dicts)")


def test_problem_from_dict_equals_the_file():
    from archsearch.problem import read_problem_dict
    raw, _ = read_problem_dict("llama-3-8b-edge")
    assert Problem.from_dict(raw, name="x").workload == Problem.from_yaml("llama-3-8b-edge").workload
