"""Reports are pure: rows, JSON and tables come from the same rows."""

import json

import pytest
from rich.console import Console

from archsearch import load_problem, solve
from archsearch.catalog_report import catalog_rows
from archsearch.report import WIDE, design_row, designs_tables, to_json


@pytest.fixture(scope="module")
def result():
    return solve(load_problem(), top_k=3)


def _render(renderable, width):
    con = Console(width=width, record=True)
    con.print(renderable)
    return con.export_text()


def test_json_is_serialisable_and_matches_the_rows(result):
    doc = json.loads(json.dumps(to_json(result)))
    assert doc["designs"] == [json.loads(json.dumps(design_row(d))) for d in result.designs]
    assert doc["requirements"]["kv_bytes_per_token"] == 327_680
    assert doc["status"] == "OPTIMAL" and doc["solver"]["iterations"] == result.iterations


def test_every_design_carries_its_sources_and_estimate_marks(result):
    for d in to_json(result)["designs"]:
        assert d["sources"]["memory"] and d["sources"]["node"]
        assert "memory" in d["estimates"]


def test_wide_terminals_get_one_table_narrow_ones_two(result):
    # one table once every cell fits on one line, else the design, then its figures
    assert len(designs_tables(result, WIDE)) == 2
    assert len(designs_tables(result, 400)) == 1
    narrow = designs_tables(result, 100)
    assert len(narrow) == 2
    text = _render(narrow[0], 100) + _render(narrow[1], 100)
    for word in ("TB/s per $M", "tok/s user", "link/mem", "comm/mem", "capacity", "binding"):
        assert word in text


def test_table_cells_show_the_row_values(result):
    text = _render(designs_tables(result, WIDE)[0], 250)
    row = design_row(result.designs[0])
    assert f"{row['bandwidth_per_dollar'] * 1e6 / 1e12:,.2f}" in text
    assert f"{row['tensor_parallel']}x{row['pipeline_parallel']}" in text


def test_catalog_rows_cover_every_section():
    from archsearch import load_catalog
    rows = catalog_rows(load_catalog())
    assert {r["section"] for r in rows} == {"memory", "nodes", "interconnects", "topologies", "models"}
    assert all(r["source"] for r in rows)


def test_two_level_rows_split_cost_and_communication_by_level():
    """A two-level design's row: per-level cost adds to the network cost, per-level t_comm to t_comm."""
    from archsearch.problem import problem_from_dict
    from archsearch.report import design_row, fabric_cell, network_cell
    p = problem_from_dict({
        "name": "dgx", "model": "llama-3.1-405b",
        "workload": {"context_length": 131072, "concurrency": 16, "weight_dtype": "fp8", "kv_dtype": "fp8"},
        "constraints": {"max_nodes": 64, "balance": {"rule": "comm_time"}},
        "search": {"top_k": 1, "two_level": True,
                   "include": {"interconnects": ["nvlink4", "infiniband-ndr"],
                               "topologies": ["single-switch", "fat-tree"], "nodes": ["h100-sxm"]}}},
        "test.yaml")
    r = design_row(solve(p).designs[0])
    lv = r["levels"]
    assert lv["domain"]["cost_usd"] + lv["fabric"]["cost_usd"] == r["network_cost_usd"]
    assert abs(lv["domain"]["time_per_token_comm_s"] + lv["fabric"]["time_per_token_comm_s"]
               - r["time_per_token_comm_s"]) <= 1e-12 * r["time_per_token_comm_s"]
    assert lv["fabric"]["pipeline_hops"] + lv["domain"]["pipeline_hops"] == r["pipeline_parallel"] - 1
    assert fabric_cell(r) == f"x8 ({lv['domain']['domains']} domains) + infiniband-ndr single-switch"
    assert network_cell(r).startswith("nvlink4 single-switch x8")
