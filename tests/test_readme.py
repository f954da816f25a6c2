"""The README's front door: its two commands come first, and CI runs exactly its test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _blocks():
    return re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def test_the_first_two_commands_install_and_run_the_job_then_the_tests():
    first, second = (b.strip() for b in _blocks()[:2])
    assert first == "pip install . && archsearch solve"
    assert second == "pip install '.[test]' && python -m pytest"


def test_ci_runs_the_readme_test_command():
    test_command = _blocks()[1].strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in [line.strip() for line in ci]
