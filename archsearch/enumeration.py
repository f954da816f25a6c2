"""The exhaustive engine: a small space's top K proved by evaluating every design, and the choice of engine.

``search.engine`` (problem file; ``--engine`` on the command line) says what proves the answer:

* ``cp-sat``: exact Dinkelbach on the CP-SAT model (``solve``), for any space;
* ``enumeration``: every cell of the space evaluated with numpy (``oracle.enumerate_ranked``), the top K
  sorted by the exact ranking key: proved by exhaustion;
* ``auto`` (default): enumeration when the space has at most ``AUTO_MAX_CELLS`` cells, else CP-SAT.

A cell is one (memory configuration, network configuration, TP degree, PP, backing tier): what the
enumeration evaluates.  ``AUTO_MAX_CELLS`` is the measured crossover (``benchmarks/bench.py``,
docs/benchmarks.md): below it enumeration answered faster on every space measured.  Both engines give
the same top K, design for design (tests/test_enumeration.py, and CP-SAT against enumeration on random
spaces in tests/test_oracle.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .problem import ENGINES

if TYPE_CHECKING:  # pragma: no cover
    from .model import Space

#: ``auto`` enumerates spaces of at most this many cells (measured crossover, docs/benchmarks.md)
AUTO_MAX_CELLS = 30_000_000


def space_cells(space: "Space") -> int:
    """The cells the enumeration evaluates: memory configurations x backing tiers x (network, TP, PP)
    triples within each network's node range."""
    cache = space.physics_cache
    triples = 0
    for n in space.nets:
        for t in space.tps:
            pp = cache.pp_range(n, t)
            if pp is not None:
                triples += len(pp)
    return triples * len(space.mems) * max(1, len(space.backs))


def choose_engine(space: "Space", engine: str) -> str:
    """The engine that solves ``space``: ``engine`` itself, or for ``auto`` enumeration on a small space."""
    if engine not in ENGINES:
        from .errors import UsageError
        raise UsageError(f"engine: expected one of {', '.join(ENGINES)}, found {engine!r}")
    if engine != "auto":
        return engine
    return "enumeration" if space_cells(space) <= AUTO_MAX_CELLS else "cp-sat"
