"""Scaling exact quantities to CP-SAT integers: the one place where that happens.

CP-SAT takes int64 coefficients and variable bounds within +-2**62.  Every
column of exact ``Fraction``s is divided by its greatest common divisor (so
25.6 ... 819.2 GB/s become small integers in a common unit and nothing is
rounded), and every linear expression is checked against the limit before a
model is solved: an overflow fails loudly with ``SolverError`` instead of
giving CP-SAT's MODEL_INVALID or, worse, a wrong answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Sequence

from .errors import SolverError

#: the largest magnitude a coefficient times a variable bound may reach
INT_LIMIT = 2**62
#: objective values below this are exact as doubles: CP-SAT 9.15 decides OPTIMAL by a gap between its best value
#: and its bound computed as doubles, so above 2^53 it may stop on a value that is not the minimum (two
#: integers 4 apart near 5 x 10^16 are one double); the tie-break's folded key must stay below it
EXACT_OBJECTIVE = 2**53


def fraction_gcd(values: Iterable[Fraction]) -> Fraction:
    """Greatest common divisor of non-negative rationals; 1 when all are zero."""
    num = 0
    den = 1
    for v in values:
        v = Fraction(v)
        if v < 0:
            raise ValueError(f"fraction_gcd takes non-negative values, got {v}")
        num = math.gcd(num, v.numerator)
        den = den * v.denominator // math.gcd(den, v.denominator)
    if num == 0:
        return Fraction(1)
    return Fraction(num, den)


@dataclass(frozen=True)
class Column:
    """A column of exact values as integers: ``values[i] == ints[i] * unit`` exactly."""

    ints: tuple[int, ...]
    unit: Fraction

    def to_exact(self, scaled: int) -> Fraction:
        return scaled * self.unit


def in_units(value: Fraction, unit: Fraction) -> int:
    """``value`` as a whole number of ``unit`` (exact); ValueError when it is not one."""
    q = Fraction(value) / unit
    if q.denominator != 1:
        raise ValueError(f"{value} is not a whole number of {unit}")
    return q.numerator


def scale_column(values: Sequence[Fraction]) -> Column:
    unit = fraction_gcd(values)
    ints = []
    for v in values:
        q = Fraction(v) / unit
        if q.denominator != 1:  # pragma: no cover - gcd guarantees integrality
            raise AssertionError(f"{v} is not a multiple of {unit}")
        ints.append(int(q))
    return Column(tuple(ints), unit)


def floor_fraction(x: Fraction, max_den: int) -> Fraction:
    """The largest fraction <= x (x >= 0) whose denominator is at most max_den (>= 1).

    The two candidates of the continued-fraction expansion (``Fraction.limit_denominator``'s) are Farey
    neighbours on either side of x, so the one not above x is the best approximation from below.
    """
    x = Fraction(x)
    if x.denominator <= max_den:
        return x
    p0, q0, p1, q1 = 0, 1, 1, 0
    n, d = x.numerator, x.denominator
    while True:
        a = n // d
        q2 = q0 + a * q1
        if q2 > max_den:
            break
        p0, q0, p1, q1 = p1, q1, p0 + a * p1, q2
        n, d = d, n - a * d
    k = (max_den - q0) // q1
    return max(b for b in (Fraction(p0 + k * p1, q0 + k * q1), Fraction(p1, q1)) if b <= x)


def _scientific(n: int) -> str:
    """``n`` as ``1.234e+21``; beyond float range (a tiny speed target such as 1e-300 makes integers of
    300 digits) as ``about 1e+301``, since formatting such an int as a float raises OverflowError."""
    try:
        return f"{n:.3e}"
    except OverflowError:
        return f"about 1e+{len(str(abs(n))) - 1}"


def check_bound(what: str, magnitude: int, hint: str | None = None) -> None:
    """Fail loudly when a coefficient-times-bound magnitude would overflow CP-SAT (``hint``: how to fix it)."""
    if abs(magnitude) >= INT_LIMIT:
        raise SolverError(
            f"{what} reaches {_scientific(magnitude)}, beyond CP-SAT's integer range (2^62 = {INT_LIMIT:.3e}); "
            + (hint or "lower constraints.max_nodes, set constraints.budget_usd or use rounder figures (e.g. a "
                       "whole min_decode_tokens_per_s_per_user)")
        )


def cost_hint(unit: Fraction) -> str:
    """The fix for a cost that overflows: costs are exact, counted in the largest unit dividing every price
    (written in full up to 40 characters, else to 4 significant digits: a fuzzed price can make it 300 digits)."""
    shown = f"${unit}"
    if len(shown) > 40:
        n, d = unit.numerator, unit.denominator
        shown = f"about ${n:.3e}/{d:.3e}" if n != 1 else f"$1/{d:.3e} (about)"
    return (f"costs are counted exactly in units of {shown} (the largest amount dividing every price): give the "
            "prices rounder figures (whole cents), or lower constraints.max_nodes")


def check_linear(what: str, terms: Iterable[tuple[int, int]], hint: str | None = None) -> None:
    """Check sum(|coef| * bound) for the (coef, variable bound) pairs of one linear expression."""
    check_bound(what, sum(abs(c) * abs(b) for c, b in terms), hint)


def exact_arrays(magnitude: int, *arrays):
    """The numpy integer arrays as they are when ``magnitude`` fits int64 arithmetic, else as Python-int arrays.

    numpy wraps around silently on int64 overflow; callers pass a bound on every
    intermediate value they will compute.
    """
    if magnitude < INT_LIMIT:
        return arrays
    return tuple(a.astype(object) for a in arrays)
