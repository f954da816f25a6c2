"""Fit the calibration terms of the bundled catalog to the fit set of archsearch/catalogs/measurements.yaml.

    python benchmarks/fit_calibration.py           print the fitted values and every case's model / measured
    python benchmarks/fit_calibration.py --check   exit 1 if the bundled catalog's fitted fields differ from a fresh fit

Each parameter below names catalog entries that share one value (an H200 is an H100 die: one per-layer
time), a field and a range.  The fit minimises the sum of squared log(model / measured) over the fit-set
cases whose design uses those entries, by coordinate-wise golden-section search over the parameters in
turn, from the middle of each range (deterministic, and independent of the values the catalog holds).  Streaming efficiencies are not fitted: they come from published
bandwidth measurements (catalog sources).  The check set is never read here.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archsearch.catalog import load_catalog  # noqa: E402
from archsearch.validate import case_value, load_measurements  # noqa: E402

#: (catalog section, entries sharing the value, field, low, high, rounding step, cases that identify it).
#: A per-layer time and a collective latency trade off along a ridge in multi-GPU cases (L + 2c per layer),
#: so the per-layer time is read from single-node cases and the collective latency from multi-node ones.
#: The decode half-efficiency tokens range up to 64 (a Hopper wgmma tile is 64 rows): the batch-aware
#: efficiency e x / (x + h) gives a batch-1 step h tokens' worth of compute, and h much above that would
#: let the fit explain batch-1 time, which is weight reads and per-layer time, as compute.
H100 = ("h100-sxm", "h200-sxm")
PARAMS = [
    ("nodes", H100, "layer_overhead_ns", 0, 200000, 100, "single"),
    ("nodes", H100, "fp8_layer_overhead_ns", 0, 100000, 100, "single"),
    ("nodes", H100, "decode_compute_efficiency", 0.02, 1.0, 0.01, "single"),
    ("nodes", H100, "decode_efficiency_half_tokens", 0, 64, 1, "single"),
    ("interconnects", ("nvlink4",), "collective_latency_ns", 0, 60000, 100, "multi"),
    ("nodes", H100, "prefill_compute_efficiency", 0.1, 1.0, 0.01, "ttft"),
    ("nodes", H100, "prefill_efficiency_half_tokens", 0, 2048, 1, "ttft"),
    ("nodes", ("mi300x",), "layer_overhead_ns", 0, 400000, 100, "any"),
    ("nodes", ("mi300x",), "decode_compute_efficiency", 0.02, 1.0, 0.01, "any"),
    ("nodes", ("mi300x",), "decode_efficiency_half_tokens", 0, 64, 1, "any"),
    ("interconnects", ("groq-c2c",), "collective_latency_ns", 0, 60000, 100, "any"),
]
SWEEPS = 8
STEPS = 18
GOLD = (math.sqrt(5) - 1) / 2


def _uses(case, section: str, names, which: str) -> bool:
    d = case.design
    if not ((d.node in names) if section == "nodes" else (d.interconnect in names)):
        return False
    ttft = case.metric == "ttft_ms"
    return {"single": d.nodes == 1 and not ttft, "multi": d.nodes > 1 and not ttft, "ttft": ttft, "any": True}[which]


def _overrides(values: dict) -> dict:
    out: dict = {}
    for (section, names, field, *_), v in values.items():
        for n in names:
            out.setdefault(section, {}).setdefault(n, {})[field] = v
    return out


def _loss(cases, values: dict) -> float:
    over = _overrides(values)
    return sum(math.log(case_value(c, overrides=over) / c.measured) ** 2 for c in cases)


def fit(cases=None) -> dict:
    """The fitted value of every parameter of PARAMS, rounded to its step."""
    cases = [c for c in (cases if cases is not None else load_measurements()) if c.set == "fit"]
    values = {p: (p[3] + p[4]) / 2 for p in PARAMS}   # start mid-range: the fit does not read the catalog's values
    for _ in range(SWEEPS):
        for p in PARAMS:
            section, names, _field, lo, hi, step, which = p
            mine = [c for c in cases if _uses(c, section, names, which)]
            if not mine:
                continue

            def f(x: float) -> float:
                return _loss(mine, {**values, p: x})

            a, b = lo, hi
            x1, x2 = b - GOLD * (b - a), a + GOLD * (b - a)
            f1, f2 = f(x1), f(x2)
            for _ in range(STEPS):
                if f1 <= f2:
                    b, x2, f2 = x2, x1, f1
                    x1 = b - GOLD * (b - a)
                    f1 = f(x1)
                else:
                    a, x1, f1 = x1, x2, f2
                    x2 = a + GOLD * (b - a)
                    f2 = f(x2)
            best = (a + b) / 2
            values[p] = round(round(best / step) * step, 6) if step < 1 else int(round(best / step) * step)
    return values


def main(argv: list[str]) -> int:
    cases = load_measurements()
    values = fit(cases)
    cat = load_catalog()
    stale = []
    for (section, names, field, *_), v in values.items():
        have = [getattr(cat.section(section)[n], field) for n in names]
        flag = "" if all(h == v for h in have) else f"   (catalog has {have})"
        if flag:
            stale.append(field)
        print(f"{section}.{'/'.join(names)}.{field}: {v}{flag}")
    if "--check" in argv:
        return 1 if stale else 0
    over = _overrides(values)
    fitted = [c.name for c in cases if c.set == "fit"]
    print(f"\nfitted to: {', '.join(fitted)}\n")
    for c in cases:
        v = case_value(c, overrides=over)
        print(f"{c.set:12} {c.name:50} model {v:10.2f}  measured {c.measured:10.2f}  ratio {v / c.measured:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
