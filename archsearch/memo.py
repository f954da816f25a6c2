"""Caches keyed on exactly what a function reads, shared by every problem, sweep point and study in a process.

A study's points differ in a swept value or two; most of what a solve works out (configurations, node
classes, communication coefficients, per-network tables) does not depend on it.  ``exact_cache`` remembers a
pure function of frozen, hashable arguments that are exactly its inputs (no key made of a summary that two
different inputs could share), so equal inputs give the very same answer and any difference gives a fresh one.
An argument that cannot be hashed (a list where a tuple is expected, from a caller building objects by hand)
is not an error: the function is then computed as if there were no cache.
"""

from __future__ import annotations

import functools
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)

#: every cache made by ``exact_cache``, for ``clear``
_CACHES: list = []


def clear() -> None:
    """Empty every ``exact_cache``: the next call of each function computes afresh, as in a new process (for
    benchmarks that time one cold solve; answers never depend on it)."""
    for cached in _CACHES:
        cached.cache_clear()


def exact_cache(maxsize: int) -> Callable[[F], F]:
    """``functools.lru_cache(maxsize)`` for positional arguments, computing afresh when one is unhashable.
    ``cache_clear``, ``cache_info`` and ``__wrapped__`` are those of the cache."""
    def wrap(fn: F) -> F:
        cached = functools.lru_cache(maxsize=maxsize)(fn)
        _CACHES.append(cached)

        @functools.wraps(fn)
        def call(*args):
            try:
                return cached(*args)
            except TypeError as exc:   # an unhashable argument: no key, so no cache (any other error re-raises)
                if "unhashable" not in str(exc):
                    raise
                return fn(*args)
        call.cache_clear = cached.cache_clear   # type: ignore[attr-defined]
        call.cache_info = cached.cache_info     # type: ignore[attr-defined]
        return call   # type: ignore[return-value]
    return wrap
