"""The long fuzz profile: tests/test_fuzz.py under ``-m fuzz``, with its counts and wall time.

    python benchmarks/fuzz.py [INPUTS_PER_TARGET]      (default 5,000 per target: 20,000 inputs)

Prints one JSON document: the outcome counts (inputs, how many were refused with which error,
loaded, solved and re-checked, command exit codes) and the wall time.  Exit code: pytest's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    per_target = int(argv[0]) if argv else 5000
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "counts.json"
        env = dict(os.environ, FUZZ_EXAMPLES=str(per_target), FUZZ_REPORT=str(report))
        t0 = time.monotonic()
        rc = subprocess.call([sys.executable, "-m", "pytest", "-q", "-m", "fuzz", "tests/test_fuzz.py"], cwd=ROOT,
                             env=env)
        wall = time.monotonic() - t0
        counts = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    print(json.dumps({"inputs_per_target": per_target, "wall_time_s": round(wall, 1), "pytest_exit": rc,
                      "counts": counts}, indent=2))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
