"""The exhaustive engine: a small space's top K proved by evaluating every design, and the choice of engine.

``search.engine`` (problem file; ``--engine`` on the command line) says what proves the answer:

* ``cp-sat``: exact Dinkelbach on the CP-SAT model (``solve``), for any space;
* ``enumeration``: every cell of the space evaluated with numpy (``oracle.enumerate_ranked``), the top K
  sorted by the exact ranking key: proved by exhaustion;
* ``auto`` (default): enumeration when the space has at most ``AUTO_MAX_CELLS`` cells and its largest
  (network, TP) chunk at most ``AUTO_MAX_CHUNK_CELLS``, else CP-SAT.

A cell is one (memory configuration, network configuration, TP degree, PP, backing tier): what the
enumeration evaluates.  Measured (``benchmarks/bench.py``, ``benchmarks/bench_two_level.py``,
docs/benchmarks.md), enumeration answered faster than CP-SAT on every space up to the largest measured,
4.7e8 cells (a two-level space); its time grows with the cells and its memory with the largest chunk
(memory configurations x PP values: 2.4e6 cells took 171 MB, 9.6e6 cells 2.4 GB), so auto stops there.
Both engines give the same top K, design for design (tests/test_enumeration.py, and CP-SAT against
enumeration on random spaces in tests/test_oracle.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .problem import ENGINES

if TYPE_CHECKING:  # pragma: no cover
    from .space import Space

#: ``auto`` enumerates spaces of at most this many cells (about the largest measured: the two-level benchmark at
#: 65,536 nodes, 1.76 x 10^9 cells, proved in 7.0-7.9 s; CP-SAT now proves it in 5.5 s (docs/benchmarks.md, two-level
#: rows), so this threshold, set when CP-SAT was 10x slower there, lies above the measured crossover) ...
AUTO_MAX_CELLS = 2_000_000_000
#: ... whose largest chunk (memory configurations x PP values of one network and TP) has at most this many
#: (9.6 x 10^6 cells peaked at 860 MB with the floor of oracle.enumerate_ranked; 2.4 GB before it)
AUTO_MAX_CHUNK_CELLS = 10_000_000


def space_cells(space: "Space") -> int:
    """The cells the enumeration evaluates: memory configurations x backing tiers x (network, TP, PP)
    triples within each network's node range."""
    return sum(_pp_counts(space)) * len(space.mems) * max(1, len(space.backs))


def largest_chunk(space: "Space") -> int:
    """The cells of the largest array the enumeration builds: memory configurations x the longest PP range."""
    return max(_pp_counts(space), default=0) * len(space.mems)


def _pp_counts(space: "Space") -> list[int]:
    cache = space.physics_cache
    return [len(pp) for n in space.nets for t in space.tps if (pp := cache.pp_range(n, t)) is not None]


def choose_engine(space: "Space", engine: str) -> str:
    """The engine that solves ``space``: ``engine`` itself, or for ``auto`` enumeration on a small space."""
    if engine not in ENGINES:
        from .errors import UsageError
        raise UsageError(f"engine: expected one of {', '.join(ENGINES)}, found {engine!r}")
    if engine != "auto":
        return engine
    small = space_cells(space) <= AUTO_MAX_CELLS and largest_chunk(space) <= AUTO_MAX_CHUNK_CELLS
    return "enumeration" if small else "cp-sat"
