"""One number grammar for input files and the command line.

A number may be written as YAML writes it (``4096``, ``0.5``, ``1.0e+6``) or as text, in a file
(quoted, or a plain word YAML does not read as a number) or on the command line:

* ``2e6``, ``2.5E-3``: scientific notation, with or without a dot;
* ``32_768``: underscores between digits;
* ``32k``/``32K``, ``1M``, ``2G``: a multiple.  **The binary/decimal rule, stated once:** token
  counts (``TOKEN_FIELDS``: a context of ``32k`` is 32,768 tokens) take binary multiples
  (k = 2^10, M = 2^20, G = 2^30); every other field takes decimal ones (``budget_usd: 2M`` is
  2,000,000 dollars).

A number with more than ``ranges.MAX_DIGITS`` digits is refused before Python would parse it.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .ranges import MAX_DIGITS

DECIMAL = {"k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9}
BINARY = {"k": 2**10, "K": 2**10, "M": 2**20, "G": 2**30}
#: fields counted in tokens: their k/M/G suffixes are binary
TOKEN_FIELDS = ("context_length", "output_tokens_per_request", "prompt_tokens")

_NUMBER = re.compile(r"[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d+)?")


def is_token_field(path: str) -> bool:
    """Whether the field at a dotted path (or a bare field name) counts tokens."""
    return path.rsplit(".", 1)[-1] in TOKEN_FIELDS


class NotANumber(ValueError):
    """The text is not a number of the grammar; the message says why (for the caller's one-line error)."""


def parse(text: str, binary: bool = False) -> int | float:
    """A number from text: an ``int`` when it is whole and written without a dot or exponent, else a float.

    Raises ``NotANumber`` with the reason (callers add file, field and the text).
    """
    t = text.strip()
    mult = 1
    if t and t[-1] in DECIMAL:
        mult = (BINARY if binary else DECIMAL)[t[-1]]
        t = t[:-1]
    if sum(ch.isdigit() for ch in t) > MAX_DIGITS or len(t) > MAX_DIGITS + 10:
        raise NotANumber(f"more than {MAX_DIGITS} digits")
    if not _NUMBER.fullmatch(t):
        raise NotANumber("not a number")
    plain = t.replace("_", "")
    if re.fullmatch(r"[+-]?\d+", plain):
        return int(plain) * mult
    v = float(plain) * mult
    if not math.isfinite(v):
        raise NotANumber("beyond float range")
    return int(v) if mult != 1 and v.is_integer() else v


def coerce(value: Any, binary: bool = False) -> Any:
    """A value read from YAML with text numbers parsed; anything that is not text comes back unchanged.

    Text that is not a number of the grammar also comes back unchanged (the caller reports it as found).
    """
    if isinstance(value, str):
        try:
            return parse(value, binary)
        except NotANumber:
            return value
    return value
