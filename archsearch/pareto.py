"""The frontier of decode speed per user against memory bandwidth per dollar.

Exact by the epsilon-constraint method: solve for the best bandwidth per dollar
with at least r tokens/s per user, record the design, raise r just above that
design's speed, and repeat until no design is fast enough.  Every frontier point
is a certified optimum of its own problem, so a design between two points cannot
beat both.  The next threshold is the last speed plus ``REL_STEP`` (relative), rounded up
to a tenth of a token per second, so CP-SAT's integers stay small: speeds
closer than that are one point.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Callable, Optional

from .errors import InfeasibleError, SolverError
from .solve import RankedDesign, solve

REL_STEP = Fraction(1, 10**6)
RESOLUTION = 10  # thresholds in tenths of a token per second (CP-SAT integers must stay small)


def frontier(problem, max_points: int = 30, progress: Optional[Callable[[int], None]] = None
             ) -> tuple[list[RankedDesign], bool, Optional[str]]:
    """Frontier designs from the best bandwidth per dollar (slowest) to the fastest per user, whether
    the frontier is complete, and why it stopped early (None; ``max_points`` reached; or a solver error
    at a later point, whose message is kept so the points already found are not lost).

    An infeasible problem raises InfeasibleError with its explanation, as ``solve`` does.
    """
    out: list[RankedDesign] = []
    complete = False
    stopped: Optional[str] = f"--max-points {max_points} reached"
    r = Fraction(problem.workload.min_decode_tokens_per_s_per_user)
    warm: tuple = ()
    for _ in range(max_points):
        p = dataclasses.replace(problem, workload=dataclasses.replace(
            problem.workload, min_decode_tokens_per_s_per_user=r))
        try:
            res = solve(p, top_k=1, warm=warm)
        except InfeasibleError:
            if not out:
                raise
            complete, stopped = True, None
            break
        except SolverError as exc:
            if not out:
                raise
            stopped = f"stopped at {float(r):g} tokens/s per user: {exc}"
            break
        best = res.designs[0]
        out.append(best)
        warm = (best.design,)
        if progress:
            progress(1)
        nxt = best.metrics.decode_tokens_per_s_per_user * (1 + REL_STEP)
        r = Fraction(-(-nxt.numerator * RESOLUTION // nxt.denominator), RESOLUTION)
    return non_dominated(out), complete, stopped


def non_dominated(designs: list[RankedDesign]) -> list[RankedDesign]:
    """Drop a design another one matches or beats on both speed per user and bandwidth per dollar.

    At one threshold the best ratio may be reached by several designs; the solver's tie-break picks
    the cheapest, which can be slower than a later point with the same ratio.
    """
    keep = []
    for d in designs:
        s, b = d.metrics.decode_tokens_per_s_per_user, d.metrics.bandwidth_per_dollar
        if not any(o is not d and o.metrics.decode_tokens_per_s_per_user >= s and o.metrics.bandwidth_per_dollar >= b
                   and (o.metrics.decode_tokens_per_s_per_user, o.metrics.bandwidth_per_dollar) != (s, b)
                   for o in designs):
            keep.append(d)
    return keep
