"""Tables that never break a number or a word: column widths chosen here, so rich only wraps at spaces.

Each column gets at least its longest word (numbers and names are single words), and more up to
its longest cell while the console width allows.  Columns that do not fit beside each other go to
a further table that repeats the key columns (the rank), so a narrow terminal gets more tables,
never split numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from rich.table import Table
from rich.text import Text

#: characters a column adds beyond its content: one space either side and one border
COLUMN_OVERHEAD = 3


@dataclass(frozen=True)
class Column:
    header: str
    justify: str = "left"
    key: bool = False     # repeated in every table when the columns are split (e.g. the rank)


def _plain(cell) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.split()), default=0)


def widths(columns: Sequence[Column], rows: Sequence[Sequence]) -> list[tuple[int, int]]:
    """(least, natural) content width of every column: its longest word, and its longest line."""
    out = []
    for i, c in enumerate(columns):
        cells = [_plain(r[i]) for r in rows]
        least = max([_longest_word(c.header)] + [_longest_word(x) for x in cells])
        natural = max([least, len(c.header)] + [len(line) for x in cells for line in x.splitlines() or [""]])
        out.append((max(1, least), max(1, natural)))
    return out


def fits(columns: Sequence[Column], rows: Sequence[Sequence], width: int) -> bool:
    """Whether every cell fits on one line in one table of ``width`` characters."""
    return 1 + sum(nat + COLUMN_OVERHEAD for _, nat in widths(columns, rows)) <= width


def _groups(columns: Sequence[Column], ws: list[tuple[int, int]], width: int) -> list[list[int]]:
    """Column indices per table: in order, as many as fit in ``width`` at their least widths."""
    keys = [i for i, c in enumerate(columns) if c.key]
    base = 1 + sum(ws[i][0] + COLUMN_OVERHEAD for i in keys)
    groups: list[list[int]] = []
    cur, used = list(keys), base
    for i, c in enumerate(columns):
        if c.key:
            continue
        need = ws[i][0] + COLUMN_OVERHEAD
        if len(cur) > len(keys) and used + need > width:
            groups.append(cur)
            cur, used = list(keys), base
        cur.append(i)
        used += need
    if len(cur) > len(keys) or not groups:
        groups.append(cur)
    return groups


def fit_tables(title: str, columns: Sequence[Column], rows: Sequence[Sequence], width: int,
               row_styles: Sequence[str] | None = None, more_title: str = "the same rows, continued") -> list[Table]:
    """One table if every column fits in ``width`` at its longest word, else several (keys repeated)."""
    ws = widths(columns, rows)
    out = []
    for n, group in enumerate(_groups(columns, ws, width)):
        got = {i: ws[i][0] for i in group}
        spare = width - 1 - sum(got[i] + COLUMN_OVERHEAD for i in group)
        # water-filling: the columns nearest their natural width first, each at most a fair share of what
        # is left, so that short cells keep to one line and long ones share the rest
        order = sorted(group, key=lambda j: (ws[j][1] - got[j], j))
        for n_left, i in zip(range(len(order), 0, -1), order):
            more = min(ws[i][1] - got[i], spare // n_left if n_left > 1 else spare)
            got[i] += more
            spare -= more
        t = Table(title=title if n == 0 else more_title, title_justify="left", header_style="bold")
        for i in group:
            t.add_column(columns[i].header, justify=columns[i].justify, width=got[i], overflow="fold")
        for k, r in enumerate(rows):
            t.add_row(*(r[i] for i in group), style=row_styles[k] if row_styles else None)
        out.append(t)
    return out
