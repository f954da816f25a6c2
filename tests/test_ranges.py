"""archsearch.ranges: one table of field ranges, its docs page, and the derivation it claims."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from archsearch import catalog, problem, reference
from archsearch.ranges import CPSAT_SEED_MAX, MAX_DIGITS, RANGES, Range, lookup, markdown
from archsearch.scaling import INT_LIMIT

ROOT = Path(__file__).resolve().parent.parent


def test_docs_page_is_fresh() -> None:
    page = ROOT / "docs" / "field-ranges.md"
    assert page.read_text(encoding="utf-8") == markdown(), "stale: run python benchmarks/field_ranges.py"


@pytest.mark.parametrize("module", [catalog, problem, reference], ids=lambda m: m.__name__)
def test_every_number_a_loader_reads_has_a_range(module) -> None:
    """A field read with ``Entry.number`` must have its row; adding a field is one line in RANGES."""
    source = Path(module.__file__).read_text(encoding="utf-8")
    fields = set(re.findall(r"\.number\(\"([a-z0-9_]+)\"", source))
    assert fields
    suffixes = {key.rsplit(".", 1)[1] for key in RANGES}
    assert sorted(fields - suffixes) == []


def test_every_bound_is_finite_and_ordered() -> None:
    for key, r in RANGES.items():
        assert r.lo < r.hi < 1e16, key
        assert r.lo >= 0, key


@pytest.mark.parametrize("r, text", [
    (Range(1, 10**4, integer=True), "an integer in [1, 10,000]"),
    (Range(1e-6, 1e9), "a number in [1e-6, 1,000,000,000]"),
    (Range(0, 1e15, lo_open=True), "a number in (0, 1e15]"),
])
def test_range_text(r: Range, text: str) -> None:
    assert r.text() == text


@pytest.mark.parametrize("r, x, ok", [
    (Range(1, 10, integer=True), 1, True), (Range(1, 10, integer=True), 10.0, True),
    (Range(1, 10, integer=True), 2.5, False), (Range(1, 10, integer=True), 0, False),
    (Range(0, 1, lo_open=True), 0, False), (Range(0, 1), float("nan"), False), (Range(0, 1), float("inf"), False),
    (Range(0, 1e9), 10**30, False),
])
def test_range_contains(r: Range, x: float, ok: bool) -> None:
    assert r.contains(x) is ok


def test_lookup_by_kind() -> None:
    assert lookup("memory", "capacity_gb") is RANGES["memory.capacity_gb"]
    assert lookup("workload", "no_such_field") is None and lookup(None, "capacity_gb") is None


def test_the_derivation_in_the_docstring_holds() -> None:
    """Whole-dollar costs of the largest design stay below 2^62 with room for the extra terms (docstring)."""
    nodes = RANGES["interconnects.reach_nodes"].hi
    units = RANGES["nodes.max_units"].hi
    usd = RANGES["cost_curve.points.usd"].hi
    per_node = units * usd + usd + RANGES["interconnects.switch.cost_usd"].hi
    assert nodes * per_node * 46 < INT_LIMIT
    assert CPSAT_SEED_MAX == 2**31 - 1 and MAX_DIGITS < 4300


def test_main_writes_the_page(tmp_path: Path) -> None:
    from archsearch.ranges import main
    assert main([str(tmp_path / "f.md")]) == 0
    assert (tmp_path / "f.md").read_text(encoding="utf-8") == markdown()
