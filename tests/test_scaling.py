from fractions import Fraction

import pytest

from archsearch.errors import SolverError
from archsearch.scaling import INT_LIMIT, check_bound, check_linear, floor_fraction, fraction_gcd, in_units, scale_column


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


def test_a_magnitude_beyond_float_range_is_still_one_line() -> None:
    # found by the long fuzz profile: min_decode_tokens_per_s_per_user 1e-300 made coefficients of 300+ digits
    with pytest.raises(SolverError) as exc:
        check_bound("oracle compute speed", 10**400 + 25696)
    assert str(exc.value).startswith("oracle compute speed reaches about 1e+400, beyond CP-SAT's integer range")


def test_a_tiny_speed_target_is_refused_in_one_line(small_problem_dict, write_problem) -> None:
    from archsearch import load_problem, solve
    small_problem_dict["workload"]["min_decode_tokens_per_s_per_user"] = 1e-300
    with pytest.raises(SolverError) as exc:
        solve(load_problem(write_problem(small_problem_dict)))
    assert "beyond CP-SAT's integer range" in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("x, max_den, below", [
    (Fraction(7, 3), 5, Fraction(7, 3)),         # fits already
    (Fraction(355, 113), 7, Fraction(3)),        # pi-ish: 22/7 is above it, 3/1 the best from below at den <= 7
    (Fraction(355, 113), 57, Fraction(179, 57)),
    (Fraction(1, 1000), 10, Fraction(0)),
    (Fraction(999, 1000), 10, Fraction(9, 10)),
])
def test_floor_fraction_is_the_best_approximation_from_below(x, max_den, below):
    assert floor_fraction(x, max_den) == below
    # no fraction with a denominator up to max_den lies in (below, x]
    assert all(Fraction(x.numerator * q // x.denominator, q) <= below for q in range(1, max_den + 1))


def test_in_units_is_exact():
    assert in_units(Fraction(222, 100), Fraction(1, 100)) == 222
    with pytest.raises(ValueError, match="1/3 is not a whole number of 1/100"):
        in_units(Fraction(1, 3), Fraction(1, 100))


def test_cost_hint_writes_a_huge_unit_in_short():
    from fractions import Fraction
    from archsearch.scaling import cost_hint
    assert cost_hint(Fraction(1, 375)).startswith("costs are counted exactly in units of $1/375 (the largest")
    huge = cost_hint(Fraction(1, 69 * 10**300))
    assert huge.startswith("costs are counted exactly in units of $1/6.900e+301 (about) (the largest") and len(huge) < 200
    assert "about $7.000e+00/6.900e+301" in cost_hint(Fraction(7, 69 * 10**300))
