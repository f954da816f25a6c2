from fractions import Fraction

import pytest

from archsearch import units


@pytest.mark.parametrize("x, exact", [(38.4, Fraction(192, 5)), (0.032, Fraction(4, 125)), (3, Fraction(3)),
                                      (1e-3, Fraction(1, 1000))])
def test_exact_takes_the_decimal_as_written(x, exact):
    assert units.exact(x) == exact


def test_decimal_prefixes():
    assert units.gb_to_bytes(0.032) == 32_000_000
    assert units.gb_per_s_to_bytes_per_s(51.2) == 51_200_000_000
    assert units.ns_to_s(1500) == Fraction(3, 2_000_000)


def test_times_round_up_to_picoseconds():
    assert units.s_to_ps_ceil(Fraction(1, 3 * 10**12)) == 1
    assert units.s_to_ps_ceil(Fraction(2, 10**12)) == 2


def test_port_power():
    # 5 pJ/bit at 100 GB/s each way: 5e-12 J/bit x 2 x 8e11 bit/s = 8 W
    assert units.port_power_w(5, Fraction(100 * 10**9)) == 8


def test_cents_round_half_up_for_display():
    assert [units.cents(x) for x in (Fraction(1, 200), Fraction(3, 200), 2.494, 7, Fraction(7286, 3))] == \
        [1, 2, 249, 700, 242867]


@pytest.mark.parametrize("x, text", [(Fraction(242915, 100), "2429.15"), (Fraction(7286, 3), "7286/3"), (5, "5"),
                                     (Fraction(-1, 8), "-0.125"), (Fraction(3, 40), "0.075"), (0.37, "0.37"),
                                     (Fraction(6, 7), "6/7"), (0, "0")])
def test_exact_cost_strings(x, text):
    assert units.usd_exact_str(x) == text
    assert Fraction(text) == units.exact(x)   # the string is the cost itself, not a rounding


def test_dtype_bytes():
    assert units.dtype_bytes("bf16") == 2 and units.dtype_bytes("fp4") == Fraction(1, 2)


@pytest.mark.parametrize("n, text", [(327_680, "328 kB"), (246_245_280_512, "246 GB"), (12, "12 B"),
                                     (1.2e15, "1.2 PB")])
def test_format_bytes(n, text):
    assert units.format_bytes(n) == text


@pytest.mark.parametrize("x, text", [(868_523, "$868.5k"), (2_290_000, "$2.29M"), (950, "$950"),
                                     (Fraction(222, 100), "$2.22"), (Fraction(6, 7), "$0.86"), (Fraction(1999, 2), "$999.50")])
def test_format_usd(x, text):
    assert units.format_usd(x) == text


@pytest.mark.parametrize("x, text", [(868_523, "$868,523"), (Fraction(7286, 3), "$2,428.67"), (0, "$0"),
                                     (Fraction(2_290_000_05, 100), "$2,290,000.05")])
def test_format_usd_full(x, text):
    assert units.format_usd_full(x) == text
