"""The model against published machines: every band and its reason are in published.yaml."""

from __future__ import annotations

import pytest

from archsearch.reference import load_references

from .cases import FIGURES, data, speed_rows, total_rows
from . import table

TOTALS = total_rows()
SPEEDS = speed_rows()


@pytest.mark.parametrize("row", TOTALS, ids=lambda r: f"{r.case}-{r.figure}")
def test_derived_totals_match_published(row):
    assert row.ok, (f"{row.case} {row.figure}: model {row.model:,.4g} vs published {row.published} "
                    f"(ratio {row.ratio:.3f}, allowed {row.low}..{row.high}: {row.why})")


@pytest.mark.parametrize("row", SPEEDS, ids=lambda r: r.case)
def test_decode_speed_is_a_bound_within_its_band(row):
    assert row.ok, (f"{row.case}: model {row.model:,.1f} vs published {row.published} "
                    f"(ratio {row.ratio:.2f}, allowed {row.low}..{row.high}: {row.why})")


def test_every_reference_design_is_validated_on_memory():
    names = {r.case for r in TOTALS if r.figure == "memory_capacity_gb"}
    assert names == {r.name for r in load_references()}


def test_bands_are_stated_with_reasons():
    d = data()
    assert set(d["totals"]) == set(FIGURES)
    for band in list(d["totals"].values()) + d["speed"]:
        assert 0 < band["low"] <= 1 <= band["high"] and len(band["why"]) > 20
    for case in d["speed"]:
        assert case["source"] and case["kind"] in ("measured", "vendor claim", "derived roofline")


def test_bands_can_fail():
    """A band is a test only if a wrong model would leave it: the model's figure doubled or halved
    leaves every band in at least one of the two directions (an upper-bound band, in the direction
    that makes the bound looser still)."""
    for row in TOTALS + SPEEDS:
        assert not (row.holds(row.model * 2) and row.holds(row.model / 2)), row.case
    for row in SPEEDS:
        assert not row.holds(row.model * 2), row.case


def test_docs_table_is_generated_from_this_data():
    assert table.page_block() == table.render(TOTALS, SPEEDS), \
        "docs/validation.md's model-vs-published table is stale: run python tests/validation/table.py --write"
