from fractions import Fraction

import pytest

from archsearch.errors import SolverError
from archsearch.scaling import INT_LIMIT, check_bound, check_linear, fraction_gcd, scale_column


def test_gcd_of_decimal_bandwidths():
    vals = [Fraction("25.6"), Fraction("51.2"), Fraction("819.2")]
    assert fraction_gcd(vals) == Fraction("25.6")
    assert fraction_gcd([Fraction(0)]) == 1


@pytest.mark.parametrize("values", [
    [Fraction(38_400_000_000), Fraction(1_200_000_000_000), Fraction(21 * 10**15)],
    [Fraction(1, 3), Fraction(1, 2), Fraction(5, 6)],
    [Fraction(7)],
])
def test_scale_column_round_trips_exactly(values):
    col = scale_column(values)
    assert all(isinstance(i, int) for i in col.ints)
    assert [col.to_exact(i) for i in col.ints] == values
    assert fraction_gcd([Fraction(i) for i in col.ints]) == 1


def test_overflow_fails_loudly():
    check_bound("fine", INT_LIMIT - 1)
    with pytest.raises(SolverError, match="beyond CP-SAT's integer range"):
        check_bound("total cost", INT_LIMIT)
    with pytest.raises(SolverError, match="total memory bandwidth reaches"):
        check_linear("total memory bandwidth", [(2**40, 2**21), (1, 1), (2**40, 2**21)])
