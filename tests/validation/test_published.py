"""The model against published machines: every band and its reason are in published.yaml."""

from __future__ import annotations

import pytest

from archsearch.reference import load_references

from .cases import FIGURES, data, total_rows

TOTALS = total_rows()


@pytest.mark.parametrize("row", TOTALS, ids=lambda r: f"{r.case}-{r.figure}")
def test_derived_totals_match_published(row):
    assert row.ok, (f"{row.case} {row.figure}: model {row.model:,.4g} vs published {row.published} "
                    f"(ratio {row.ratio:.3f}, allowed {row.low}..{row.high}: {row.why})")


def test_every_reference_design_is_validated_on_memory():
    names = {r.case for r in TOTALS if r.figure == "memory_capacity_gb"}
    assert names == {r.name for r in load_references()}


def test_bands_are_stated_with_reasons():
    d = data()
    assert set(d["totals"]) == set(FIGURES)
    for band in d["totals"].values():
        assert 0 < band["low"] <= 1 <= band["high"] and len(band["why"]) > 20


def test_bands_can_fail():
    """A band is a test only if a wrong model would leave it: the model's figure doubled or halved leaves
    every band in at least one of the two directions."""
    for row in TOTALS:
        assert not (row.holds(row.model * 2) and row.holds(row.model / 2)), row.case
