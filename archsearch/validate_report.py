"""The ``validate`` table: model against measured per case, a pure function returning a rich renderable."""

from __future__ import annotations

from rich.table import Table

from .validate import Row, verdict


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def validate_table(rows: list[Row]) -> Table:
    t = Table(title="calibrated model against published measurements (band: allowed |ratio - 1|; "
                    "ratio: model / measured; roofline: the model before calibration, a bound)", title_justify="left")
    for col, just in (("set", "left"), ("case", "left"), ("metric", "left"), ("model", "right"),
                      ("roofline", "right"), ("measured", "right"), ("ratio", "right"),
                      ("band", "right"), ("verdict", "left")):
        t.add_column(col, justify=just, overflow="fold", no_wrap=col != "case")
    for r in rows:
        band = "-" if r.case.set == "out_of_scope" else f"+-{r.case.band:.0%}"
        t.add_row(r.case.set.replace("out_of_scope", "outside"), r.case.name, r.case.metric, _num(r.model), _num(r.bound),
                  _num(r.case.measured), f"{r.ratio:.2f}", band, verdict(r))
    return t
