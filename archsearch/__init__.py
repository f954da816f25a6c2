"""archsearch: which LLM-inference system gives the most memory bandwidth per dollar.

Load a problem, solve it exactly with CP-SAT, read ranked designs::

    from archsearch import load_problem, solve
    result = solve(load_problem("problems/llama-2-70b-chat.yaml"))
"""

from .catalog import Catalog, load_catalog
from .errors import (ArchsearchError, CatalogError, InfeasibleError, InputError, ProblemError, SolverError, StudyError,
                     UsageError)
from .problem import Problem, load_problem
from .solve import RankedDesign, SolveResult, solve

__all__ = [
    "ArchsearchError", "Catalog", "CatalogError", "InfeasibleError", "InputError", "Problem", "ProblemError",
    "RankedDesign", "SolveResult", "SolverError", "StudyError", "UsageError", "load_catalog", "load_problem", "solve",
]
__version__ = "0.1.0"
