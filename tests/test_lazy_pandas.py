"""archsearch.lazy_pandas: no archsearch path imports pandas; cp_model's pandas methods still work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_a_solve_through_the_cli_never_imports_pandas() -> None:
    code = ("import sys\nfrom archsearch.cli import main\n"
            "main(['solve', '--top', '1', '--json'])\nprint('pandas' in sys.modules, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stderr.strip().splitlines()[-1] == "False"
    assert '"status": "OPTIMAL"' in out.stdout


def test_every_archsearch_module_imports_without_pandas() -> None:
    code = ("import sys, pkgutil, importlib, archsearch\n"
            "for m in pkgutil.walk_packages(archsearch.__path__, 'archsearch.'):\n"
            "    if m.name != 'archsearch.__main__': importlib.import_module(m.name)\n"
            "print('pandas' in sys.modules)")
    assert _run(code) == "False"


def test_cp_model_pandas_api_imports_the_real_pandas_on_use() -> None:
    code = ("import sys, archsearch\ncp_model = archsearch.lazy_pandas.import_cp_model()\n"
            "before = 'pandas' in sys.modules\n"
            "import pandas as pd\nm = cp_model.CpModel()\n"
            "xs = m.new_int_var_series('x', pd.Index(range(3)), 0, 5)\n"
            "print(before, type(xs).__name__, len(xs))")
    assert _run(code) == "False Series 3"


def test_pandas_imported_first_is_left_alone() -> None:
    code = ("import pandas, sys\nimport archsearch\nfrom ortools.sat.python import cp_model\n"
            "print(cp_model.pd is pandas)")
    assert _run(code) == "True"
