"""Units: every conversion between catalog/problem units and SI happens here.

Catalog and problem fields carry their unit in the name (``capacity_gb``,
``bandwidth_gb_per_s``, ``latency_ns``, ``cost_usd``); decimal prefixes only
(1 GB = 1e9 bytes).  Internally archsearch keeps SI quantities (bytes, bytes/s,
seconds, USD, W) as exact ``Fraction``s or ``int``s, so no figure is rounded
before it has to be.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Union

Number = Union[int, float, Fraction]

BYTES_PER_GB = 10**9
PS_PER_S = 10**12
NS_PER_S = 10**9
BITS_PER_BYTE = 8
PJ_PER_J = 10**12

#: bytes per element of each data type a problem may name
DTYPE_BYTES: dict[str, Fraction] = {
    "fp32": Fraction(4),
    "bf16": Fraction(2),
    "fp16": Fraction(2),
    "fp8": Fraction(1),
    "int8": Fraction(1),
    "fp4": Fraction(1, 2),
    "int4": Fraction(1, 2),
}


def exact(x: Number) -> Fraction:
    """The exact decimal a YAML number was written as (``38.4`` -> 192/5, not the binary float)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, int):
        return Fraction(x)
    return Fraction(repr(float(x)))


def gb_to_bytes(gb: Number) -> Fraction:
    return exact(gb) * BYTES_PER_GB


def gb_per_s_to_bytes_per_s(gb_per_s: Number) -> Fraction:
    return exact(gb_per_s) * BYTES_PER_GB


def ns_to_s(ns: Number) -> Fraction:
    return exact(ns) / NS_PER_S


def s_to_ps_ceil(seconds: Fraction) -> int:
    """Seconds to whole picoseconds, rounded up (times only ever round toward slower)."""
    return math.ceil(seconds * PS_PER_S)


def port_power_w(energy_pj_per_bit: Number, bytes_per_s: Fraction) -> Fraction:
    """Power of one port at line rate: ``bytes_per_s`` in each direction, both directions through it."""
    return exact(energy_pj_per_bit) * bytes_per_s * 2 * BITS_PER_BYTE / PJ_PER_J


def cents(x: Number) -> int:
    """A cost in whole US cents, rounded half up (for display only: costs themselves stay exact)."""
    return math.floor(exact(x) * 100 + Fraction(1, 2))


def usd_exact_str(x: Number) -> str:
    """An exact cost as JSON carries it beside its float: a decimal when it has one (``2429.15``), else the
    fraction (``7286/3``: a market price of $7,286 on the build basis)."""
    x = exact(x)
    d, k = x.denominator, 0
    while d % 10 == 0:
        d, k = d // 10, k + 1
    while d % 2 == 0 or d % 5 == 0:
        d, k = d // (2 if d % 2 == 0 else 5), k + 1
    if d != 1:
        return f"{x.numerator}/{x.denominator}"
    n = abs(int(x * 10**k))  # a whole number: 10^k is a multiple of the denominator
    whole, frac = divmod(n, 10**k)
    text = f"{whole}.{frac:0{k}d}".rstrip("0").rstrip(".") if k else str(whole)
    return ("-" if x < 0 else "") + text


def ceil_div(a: int, b: int) -> int:
    """Integer ceiling of a / b for b > 0 (works on numpy integer arrays too)."""
    return -((-a) // b)


def tb_per_s_per_million_usd(bytes_per_s_per_usd: Number) -> float:
    """Bandwidth per dollar as reports show it: TB/s per $1M (bytes/s per USD x 1e6 / 1e12)."""
    return float(bytes_per_s_per_usd) * 1e6 / 1e12


SECONDS_PER_YEAR = Fraction(36525 * 864)  # 365.25 days


def usd_per_million_tokens(cost_usd: Number, tokens_per_s: Number, years: Number) -> Fraction:
    """Capital cost spread over ``years`` of serving at ``tokens_per_s``, per million tokens."""
    return exact(cost_usd) * 10**6 / (exact(tokens_per_s) * exact(years) * SECONDS_PER_YEAR)


def dtype_bytes(name: str) -> Fraction:
    return DTYPE_BYTES[name]


def format_bytes(n: Number) -> str:
    """Human-readable decimal bytes: 1.2 TB, 327.7 kB."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB", "EB"):
        if abs(value) < 1000 or unit == "EB":
            return f"{value:.3g} {unit}" if unit != "B" else f"{value:.0f} B"
        value /= 1000
    raise AssertionError("unreachable")


def format_usd(x: Number) -> str:
    """Short: $2.29M, $868.5k, $950, and cents below $1,000 when a cost has them ($2.22)."""
    value = float(x)
    if abs(value) >= 1e6:
        return f"${value / 1e6:,.2f}M"
    if abs(value) >= 1e3:
        return f"${value / 1e3:,.1f}k"
    c = cents(x)
    return f"${c // 100:,}" if c % 100 == 0 else f"${c / 100:,.2f}"


def format_usd_full(x: Number) -> str:
    """Every dollar, and the cents when a cost has them: $1,234,567 or $1,234,567.89 (half up to the cent)."""
    c = cents(x)
    sign, c = ("-", -c) if c < 0 else ("", c)
    return f"{sign}${c // 100:,}" + (f".{c % 100:02d}" if c % 100 else "")
