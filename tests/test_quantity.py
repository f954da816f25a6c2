"""archsearch.quantity: one number grammar for files and the command line."""

from __future__ import annotations

import pytest

from archsearch.quantity import NotANumber, coerce, is_token_field, parse


@pytest.mark.parametrize("text, binary, value", [
    ("4096", False, 4096), ("32_768", False, 32768), ("2e6", False, 2000000.0), ("2E6", False, 2000000.0),
    ("2.5e-3", False, 0.0025), ("0.5", False, 0.5), (".5", False, 0.5), ("-3", False, -3), ("+3", False, 3),
    ("32k", True, 32768), ("32K", True, 32768), ("1M", True, 1048576), ("1G", True, 2**30),
    ("32k", False, 32000), ("2M", False, 2000000), ("1.5k", False, 1500), ("1.5k", True, 1536),
    (" 7 ", False, 7), ("1_000.5", False, 1000.5),
])
def test_parse(text: str, binary: bool, value: float) -> None:
    got = parse(text, binary)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("text, why", [
    ("", "not a number"), ("k", "not a number"), ("32kB", "not a number"), ("3 2", "not a number"),
    ("1m", "not a number"), ("_1", "not a number"), ("1__0", "not a number"), ("nan", "not a number"),
    ("inf", "not a number"), ("0x10", "not a number"), ("1e400", "beyond float range"),
    ("9" * 41, "more than 40 digits"), ("1" * 5000, "more than 40 digits"),
])
def test_parse_refuses(text: str, why: str) -> None:
    with pytest.raises(NotANumber) as exc:
        parse(text)
    assert str(exc.value) == why


def test_token_fields_are_binary() -> None:
    assert is_token_field("workload.context_length") and is_token_field("prompt_tokens")
    assert not is_token_field("constraints.budget_usd")


def test_coerce_leaves_what_is_not_text_or_not_a_number() -> None:
    assert coerce("32k", True) == 32768 and coerce(5) == 5 and coerce("fp8") == "fp8" and coerce(None) is None
