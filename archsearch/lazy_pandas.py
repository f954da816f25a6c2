"""Keep pandas out of every archsearch process: OR-Tools' ``cp_model`` imports it at module level.

``ortools.sat.python.cp_model`` runs ``import pandas as pd`` and reads ``pd.Index`` and ``pd.Series``
for type annotations while it is imported; only its ``*_series`` methods, which archsearch never
calls, use pandas at run time.  Importing pandas costs 0.2-0.3 s of the 1.3 s a solve takes as a
process (measured with ``python -X importtime -m archsearch solve``).

``import_cp_model`` imports ``cp_model`` with a stand-in module under the name ``pandas``: while
``cp_model`` is being imported, the stand-in answers attribute reads with placeholder classes (the
annotations need a type, nothing more); afterwards it is removed from ``sys.modules`` and any
attribute read on it (``cp_model.pd.Series`` in a ``*_series`` call) imports the real pandas and
forwards to it.  So ``import pandas`` elsewhere still gives the real package, and the ``*_series``
methods still work.  If pandas or ``cp_model`` is already imported, nothing is changed.
"""

from __future__ import annotations

import importlib
import sys
import types


class _DeferredPandas(types.ModuleType):
    """Stands for pandas inside ``cp_model``: placeholders during its import, the real pandas after."""

    def __init__(self) -> None:
        super().__init__("pandas")
        self._importing = True
        self._placeholders: dict[str, type] = {}

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if self.__dict__.get("_importing"):
            return self._placeholders.setdefault(name, type(name, (), {"__module__": "pandas (deferred)"}))
        return getattr(importlib.import_module("pandas"), name)


class _LazyCpModel:
    """``cp_model``, imported (by ``import_cp_model``) at the first attribute read: a process that never builds
    a CP-SAT model (the enumeration engine, ``search.engine``) never loads OR-Tools (0.1 s measured with
    ``python -X importtime``, docs/benchmarks.md)."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(import_cp_model(), name)


#: what archsearch modules import: ``from .lazy_pandas import cp_model``
cp_model = _LazyCpModel()


def import_cp_model():
    """``ortools.sat.python.cp_model``, imported without importing pandas."""
    if "ortools.sat.python.cp_model" in sys.modules or "pandas" in sys.modules:
        from ortools.sat.python import cp_model
        return cp_model
    stand_in = _DeferredPandas()
    sys.modules["pandas"] = stand_in
    try:
        from ortools.sat.python import cp_model
    finally:
        stand_in._importing = False
        if sys.modules.get("pandas") is stand_in:
            del sys.modules["pandas"]
    return cp_model
