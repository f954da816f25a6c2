"""The ``validate`` table: model against measured per case, a pure function returning a rich renderable.

Rendered with ``tables.fit_tables``, so no number or case name is ever broken: at a narrow width the
columns that do not fit go to a second table that repeats the case name.
"""

from __future__ import annotations

from rich.console import Group

from .report import WIDE
from .tables import Column, fit_tables
from .validate import Row, verdict

TITLE = ("calibrated model against published measurements (band: allowed |ratio - 1|; ratio: model / measured; "
         "roofline: the model before calibration, a bound)")
#: the verdict first after the name, so a narrow terminal's first table answers "is it in its band?"
COLUMNS = (Column("case", key=True), Column("set"), Column("ratio", "right"), Column("band", "right"),
           Column("verdict"), Column("model", "right"), Column("measured", "right"), Column("roofline", "right"),
           Column("metric"))


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def validate_cells(r: Row) -> list[str]:
    """One case's cells, in the order of ``COLUMNS``."""
    band = "-" if r.case.set == "out_of_scope" else f"+-{r.case.band:.0%}"
    return [r.case.name, r.case.set.replace("out_of_scope", "outside"), f"{r.ratio:.2f}", band, verdict(r),
            _num(r.model), _num(r.case.measured), _num(r.bound), r.case.metric]


def validate_table(rows: list[Row], width: int = WIDE) -> Group:
    """Every case, fitted to ``width`` columns without breaking a number or a name."""
    return Group(*fit_tables(TITLE, COLUMNS, [validate_cells(r) for r in rows], width,
                             more_title="the same cases, continued"))
