"""archsearch.validate and ``archsearch validate``: measurement files, the table, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from archsearch.cli import main
from archsearch.errors import UsageError
from archsearch.validate import default_file, load_measurements, passed, rows

# one H100 at batch 1: a hand-checkable case (the bundled catalog's calibration terms)
CASE = {"name": "one-h100", "set": "check", "source": "test", "conditions": "test",
        "design": {"memory": "hbm3-h100", "units": 5, "node": "h100-sxm", "nodes": 1},
        "model": "llama-3-8b", "workload": {"context_length": 512, "concurrency": 1},
        "metric": "tpot_ms", "measured": 7.0}


def write(tmp_path: Path, cases) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump({"cases": cases}, sort_keys=False))
    return path


def test_one_h100_time_per_token_is_weights_over_streaming_bandwidth_plus_layer_time(tmp_path):
    """Llama-3-8B bf16 at batch 1 on one H100: no network, compute far below memory, so
    t = (weights + KV) / (0.87 x 3.35 TB/s) + 32 layers x the fitted per-layer time."""
    from archsearch.catalog import load_catalog
    cat = load_catalog()
    [row] = rows(load_measurements(write(tmp_path, [CASE])))
    weights = 2 * 8030000000
    kv = 32 * 2 * 8 * 128 * 2 * 512
    bw = 0.87 * 3350e9
    ms = ((weights + kv) / bw + 32 * cat.nodes["h100-sxm"].layer_overhead_ns * 1e-9) * 1e3
    assert row.model == pytest.approx(ms, rel=1e-6)
    assert row.bound == pytest.approx((weights + kv) / 3350e9 * 1e3, rel=1e-6)  # the roofline


def test_cli_prints_the_table_and_exits_0_on_the_bundled_data(capsys):
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert "calibrated model against published measurements" in out and "FAILS" not in out


def test_cli_json_carries_every_case(capsys):
    assert main(["validate", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["passed"] is True
    assert len(doc["cases"]) == len(load_measurements())
    assert {"case", "set", "model", "roofline_bound", "measured", "ratio", "band", "verdict"} <= set(doc["cases"][0])


def test_a_check_case_outside_its_band_exits_1(tmp_path, capsys):
    path = write(tmp_path, [dict(CASE, measured=70.0)])
    assert main(["validate", "--measurements", str(path)]) == 1
    assert "FAILS" in capsys.readouterr().out
    assert not passed(rows(load_measurements(path)))


def test_a_fit_case_outside_its_band_does_not_fail(tmp_path):
    path = write(tmp_path, [dict(CASE, set="fit", measured=70.0)])
    assert main(["validate", "--measurements", str(path)]) == 0


@pytest.mark.parametrize("change, message", [
    ({"set": "train"}, "cases[one-h100]: set: expected one of fit, check, out_of_scope, found 'train'"),
    ({"metric": "speed"}, "cases[one-h100]: metric: expected one of tpot_ms, tokens_per_s_per_user, ttft_ms, "
                          "e2e_latency_ms, system_tokens_per_s, tokens_per_s_per_node, found 'speed'"),
    ({"measured": -1}, "cases[one-h100]: measured: expected a positive number, found -1"),
    ({"band": 0.6, "why": "wide"}, "cases[one-h100]: band: expected a band of at most 0.5 (+-50%) for a check "
                                   "case, found 0.6"),
    ({"band": 0.4}, "cases[one-h100]: why: a band wider than +-25% must say why"),
    ({"set": "out_of_scope"}, "cases[one-h100]: reason: an out_of_scope case must say why it is out of scope"),
    ({"design": "dgx-h900"}, "cases[one-h100]: design: unknown reference design 'dgx-h900' (known: "),
    ({"colour": "red"}, "cases[one-h100]: colour: unknown field"),
    ({"design": {"memory": "hbm3-h100", "nodes": 1}}, "cases[one-h100].design: units: missing required field"),
    ({"workload": [1]}, "cases[one-h100]: workload: expected a mapping, found a list"),
    ({"prefill": "all"}, "cases[one-h100]: prefill: expected one of batch, request, found 'all'"),
])
def test_bad_measurement_files_get_one_line_and_exit_2(tmp_path, capsys, change, message):
    path = write(tmp_path, [dict(CASE, **change)])
    assert main(["validate", "--measurements", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and f"archsearch: error: {path}: {message}" in err


CASE_ALLOWED = "name, set, source, conditions, design, model, workload, metric, measured, band, why, reason, prefill"


@pytest.mark.parametrize("case, message", [
    ({k: v for k, v in CASE.items() if k != "measured"} | {"colour": "red"},
     "cases[one-h100]: colour: unknown field; allowed: " + CASE_ALLOWED),
    ({**CASE, "design": {"memory": "hbm3-h100", "nodes": 1, "gpus": 1}},
     "cases[one-h100].design: gpus: unknown field; allowed: memory, units, node, nodes, tp, interconnect, topology, "
     "domain, fabric, fabric_topology"),
], ids=["case", "case-design"])
def test_an_unknown_key_is_reported_before_a_missing_field(tmp_path, capsys, case, message):
    """issue 10: a case with an unrelated unknown key and a required field missing names the unknown key."""
    path = write(tmp_path, [case])
    assert main(["validate", "--measurements", str(path)]) == 2
    assert capsys.readouterr().err == f"archsearch: error: {path}: {message}\n"


def test_missing_file_and_duplicate_names(tmp_path, capsys):
    assert main(["validate", "--measurements", str(tmp_path / "none.yaml")]) == 2
    assert capsys.readouterr().err.strip() == f"archsearch: error: {tmp_path / 'none.yaml'}: measurement file not found"
    with pytest.raises(UsageError, match="duplicate case name"):
        load_measurements(write(tmp_path, [CASE, CASE]))


def test_a_workload_error_names_the_case(tmp_path, capsys):
    path = write(tmp_path, [dict(CASE, workload={"context_length": 0, "concurrency": 1})])
    assert main(["validate", "--measurements", str(path)]) == 2
    assert f"{path}: cases[one-h100]" in capsys.readouterr().err


def test_the_bundled_file_ships_in_the_package():
    assert default_file().is_file() and default_file().parent.name == "catalogs"
