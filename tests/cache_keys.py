"""A check for caches keyed on their inputs: every input the key holds must change the answer it gives."""

from __future__ import annotations

from typing import Any, Callable, Mapping


def assert_key_covers(cached: Any, call: Callable[[dict], Any], base: dict, variants: Mapping[str, dict]) -> None:
    """For each variant (``base`` with a few arguments changed): with only ``base`` remembered, ``call`` on the
    variant gives what it gives from an empty cache, and that differs from the answer at ``base``, so a key
    missing the changed input would have returned the answer at ``base``.  ``cached``: the ``lru_cache``d
    function, cleared between steps; ``call(arguments)`` reaches it the way callers do."""
    for field, change in variants.items():
        cached.cache_clear()
        first = call(base)
        remembered = call({**base, **change})
        cached.cache_clear()
        fresh = call({**base, **change})
        assert remembered == fresh, field
        assert fresh != first, f"{field}: the variant does not change the answer, so it tests nothing"
    cached.cache_clear()
