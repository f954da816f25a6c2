"""Shared fixtures: a private copy of the catalogs, and small problem files written from dicts."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from archsearch.catalog import default_directory

# The structure of problems/llama-2-70b-chat.yaml, shrunk so that a solve takes a fraction of a second.
SMALL_PROBLEM: dict[str, Any] = {
    "name": "small-llama-2-70b",
    "description": "Llama-2-70B in bf16, 64 chats at 4k context, at most 16 nodes",
    "model": "llama-2-70b",
    "workload": {
        "context_length": 4096,
        "concurrency": 64,
        "output_tokens_per_request": 512,
        "min_decode_tokens_per_s_per_user": 20,
        "weight_dtype": "bf16",
        "kv_dtype": "bf16",
        "activation_dtype": "bf16",
    },
    "constraints": {
        "max_nodes": 16,
        "budget_usd": 20000000,
        "capacity_overhead_fraction": 0.1,
        "balance": {"rule": "ratio", "tensor_parallel_ratio": 1.0, "pipeline_parallel_ratio": 0.1},
    },
    "cost": {"basis": "build", "market_over_build": 3.0},
    "search": {"top_k": 3, "time_limit_s": 30, "seed": 0},
}


import archsearch.problem as _problem_module

#: the shipped defaults (calibrated speed model, comm_time balance rule), for tests marked ``calibrated``
SHIPPED = {"DEFAULT_SPEED_MODEL": _problem_module.DEFAULT_SPEED_MODEL,
           "DEFAULT_BALANCE_RULE": _problem_module.DEFAULT_BALANCE_RULE}


def pytest_configure(config):
    """Tests written before calibration keep their exact values: problems that name no speed model or balance
    rule get the roofline and the ratio rule (set here, before any module-scoped fixture loads a problem);
    tests marked ``calibrated`` see the shipped defaults."""
    config.addinivalue_line("markers", "calibrated: run with the shipped defaults (calibrated speed model, "
                            "comm_time balance rule) instead of the roofline and ratio rule the older tests pin")
    _problem_module.DEFAULT_SPEED_MODEL = "roofline"
    _problem_module.DEFAULT_BALANCE_RULE = "ratio"


@pytest.fixture(autouse=True)
def _shipped_defaults(request, monkeypatch):
    if request.node.get_closest_marker("calibrated") is not None:
        for name, value in SHIPPED.items():
            monkeypatch.setattr(_problem_module, name, value)


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    """A copy of the bundled catalog files in tmp_path, free to corrupt."""
    folder = tmp_path / "catalogs"
    folder.mkdir()
    for src in sorted(default_directory().glob("*.yaml")):
        shutil.copy(src, folder / src.name)
    return folder


@pytest.fixture
def small_problem_dict() -> dict[str, Any]:
    """A fresh, valid, small problem as a dict (each test may mutate its own copy)."""
    return copy.deepcopy(SMALL_PROBLEM)


@pytest.fixture
def write_problem(tmp_path: Path) -> Callable[..., Path]:
    """``write_problem(data, name="problem.yaml")`` writes ``data`` as YAML into tmp_path and returns the path."""

    def write(data: Any, name: str = "problem.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return write
