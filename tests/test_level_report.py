"""archsearch.level_report: the per-level table of two-level designs."""

from __future__ import annotations

from archsearch import load_problem, solve
from archsearch.level_report import TITLE, level_rows, levels_tables
from archsearch.report import designs_tables


def _row(tp=8):
    level = {"fat_tree_levels": None, "link_bandwidth_bytes_per_s_per_node": 450e9}
    return {"nodes": 64, "levels": {
        "domain": {**level, "interconnect": "nvlink4", "topology": "all-to-all", "cost_usd": 5760.0,
                   "items": {"ports": 1152, "links": 576, "switches": 0}, "time_per_token_comm_s": 0.00185,
                   "pipeline_hops": 0, "domains": 8, "nodes_per_domain": 8, "domains_per_tp_group": max(1, tp // 8)},
        "fabric": {**level, "interconnect": "infiniband-ndr", "topology": "fat-tree", "fat_tree_levels": 2,
                   "link_bandwidth_bytes_per_s_per_node": 50e9, "cost_usd": 73800.0,
                   "items": {"ports": 64, "links": 64, "optical links": 48, "switches": 1, "top switches": 1},
                   "time_per_token_comm_s": 0.000258, "pipeline_hops": 7}}}


def test_level_rows_by_hand():
    assert level_rows("1", _row()) == [
        ["1", "domain", "nvlink4 all-to-all", "8x8", "$5.8k", "1,152 ports, 576 links", "450", "1.85", "0"],
        ["1", "fabric", "infiniband-ndr fat-tree L2", "64", "$73.8k",
         "64 ports, 64 links, 48 optical links, 1 switch, 1 top switch", "50", "0.258", "7"]]


def test_a_tp_group_over_whole_domains_is_named():
    assert level_rows("2*", _row(tp=16))[0][:4] == ["2*", "domain", "nvlink4 all-to-all", "8x8, TP over 2"]


def test_no_table_without_two_level_designs():
    assert levels_tables([("1", {"levels": None})], 120) == []
    titles = [t.title for t in designs_tables(solve(load_problem("llama-2-70b-chat"), top_k=2), 200)]
    assert TITLE not in titles


def test_solve_shows_each_two_level_designs_levels():
    from test_levels import _problem   # Llama-3.1-405B on H100s, NVLink 4 domains and InfiniBand
    p = _problem(top_k=2)
    result = solve(p)
    tables = designs_tables(result, 200)
    assert tables[-1].title == TITLE
    two = [rd for rd in result.designs if rd.design.net.domain_nodes]
    assert two and tables[-1].row_count == 2 * len(two)
