"""Tables never break a number or a word, at 80, 120 and 200 columns."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console
from rich.text import Text

from archsearch import load_problem, solve
from archsearch.catalog import load_catalog
from archsearch.evaluate import as_result, evaluate_design
from archsearch.reference import compare, design_spec
from archsearch.catalog_report import catalog_rows, catalog_table
from archsearch.report import compare_renderable, evaluation_renderable, solve_renderable
from archsearch.tables import Column, fit_tables

WIDTHS = (80, 120, 200)
BOX = re.compile(r"[│┃┏┓┗┛┡┩┢┪┣┫━─┳┻╇╈┼┬┴└┘┌┐╋]")


def render(renderable, width: int) -> str:
    con = Console(width=width, file=io.StringIO(), color_system=None, highlight=False)
    con.print(renderable)
    return con.file.getvalue()


def words_of(text: str) -> set[str]:
    return set(BOX.sub(" ", text).split())


def assert_intact(out: str, cells, width: int) -> None:
    assert max(len(line) for line in out.splitlines()) <= width
    seen = words_of(out)
    for cell in cells:
        for word in (cell.plain if isinstance(cell, Text) else str(cell)).split():
            assert word in seen, f"{word!r} broken at {width} columns"


@pytest.fixture(scope="module")
def default():
    return load_problem()


@pytest.fixture(scope="module")
def result(default):
    return solve(default)


def _design_cells(result):
    from archsearch.report import design_row, _COLUMNS
    return [cell(design_row(rd), rd) for rd in result.designs for head, _, cell in _COLUMNS
            if head not in ("TTFT ms", "KV backing", "fabric")]  # optional columns


@pytest.mark.parametrize("width", WIDTHS)
def test_solve_tables_keep_every_number_and_word_whole(result, width):
    assert_intact(render(solve_renderable(result, width), width), _design_cells(result), width)


@pytest.mark.parametrize("width", WIDTHS)
def test_evaluate_tables_keep_every_number_and_word_whole(default, width):
    ev = evaluate_design(default, design_spec("dgx-h100"))
    out = render(evaluation_renderable(ev, as_result(default, ev), width), width)
    cells = [c.name for c in ev.design.checks] + [c.detail for c in ev.design.checks]
    assert_intact(out, cells, width)
    assert "NO" in words_of(out)


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_tables_keep_every_number_and_word_whole(default, width):
    cmp = compare(default, top_k=3)
    out = render(compare_renderable(cmp, default, width), width)
    refs = [c.reference.name for c in cmp.references]
    ratios = [f"{float(c.evaluation.design.metrics.bandwidth_per_dollar) / 1e6:,.2f}"
              for c in cmp.references if c.evaluation]
    assert_intact(out, refs + ratios, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_catalog_table_keeps_every_word_whole(width):
    cat = load_catalog()
    rows = catalog_rows(cat, "interconnects")
    out = render(catalog_table(cat, "interconnects", width), width)
    assert_intact(out, [r["name"] for r in rows] + [r["price"] for r in rows], width)


def test_a_narrow_width_splits_into_more_tables_repeating_the_key():
    cols = [Column("#", key=True), Column("a"), Column("b")]
    rows = [["1", "x" * 30, "y" * 30]]
    tables = fit_tables("t", cols, rows, 50)
    assert [[c.header for c in t.columns] for t in tables] == [["#", "a"], ["#", "b"]]
    assert len(fit_tables("t", cols, rows, 80)) == 1


def test_binding_says_headroom(result):
    from archsearch.report import design_row, _binding_cell
    cells = [_binding_cell(design_row(rd)) for rd in result.designs]
    assert cells[0] == "none (tightest: balance (tensor parallel), 67% headroom)"
    assert all("headroom" in c for c in cells)


def test_titles_say_the_cost_basis_in_words(result):
    out = render(solve_renderable(result, 200), 200)
    assert "build cost: estimated manufacturing cost, market price / 3" in out
    assert "budget $20.00M, checked in build dollars" in out


@pytest.mark.parametrize("width", WIDTHS)
def test_sweep_tables_keep_every_number_and_word_whole(width):
    from archsearch import sweep as S
    from archsearch.sweep_report import sweep_renderable, grid_table
    points = S.sweep(None, "workload.concurrency", [1, 64])
    out = render(sweep_renderable(points, "workload.concurrency", False, width), width)
    ratios = [f"{float(p.result.designs[0].metrics.bandwidth_per_dollar) / 1e6:,.2f}" for p in points]
    assert_intact(out, ratios + ["concurrency", "hbm4"], width)
    specs = [("workload.context_length", [4096, 32768], False), ("workload.concurrency", [1, 16], False)]
    grid = S.sweep(None, [s[0] for s in specs], [(a, b) for a in specs[0][1] for b in specs[1][1]])
    assert_intact(render(grid_table(grid, specs, width), width), ["context_length", "hbm4"], width)


@pytest.fixture(scope="module")
def validation_rows():
    from archsearch import validate
    return validate.rows(validate.load_measurements())


@pytest.mark.calibrated
@pytest.mark.parametrize("width", WIDTHS)
def test_validate_table_keeps_every_number_and_name_whole(validation_rows, width):
    """``archsearch validate`` at 80 columns printed '4,36' for 4,365 and '1.' for 1.05 before it used fit_tables."""
    from archsearch.validate_report import validate_cells, validate_table
    out = render(validate_table(validation_rows, width), width)
    assert_intact(out, [c for r in validation_rows for c in validate_cells(r)], width)
