"""The one exception tree of archsearch.

    ArchsearchError            base: the CLI turns these into one line and a non-zero exit
    ├── InputError             bad input (exit code 2)
    │   ├── CatalogError       a catalog file or entry is malformed
    │   ├── ProblemError       a problem file is malformed or names something missing
    │   ├── UsageError         a command-line argument is malformed
    │   └── StudyError         a study file is malformed
    ├── InfeasibleError        no design meets the requirements (exit code 1)
    └── SolverError            CP-SAT failed, timed out without a design, or would overflow (exit code 3)

Anything else raised inside archsearch is a bug and keeps its traceback.
"""

from __future__ import annotations


class ArchsearchError(Exception):
    """Base of every error archsearch reports to a user.

    The message is one line whatever it echoes: control characters (a newline inside a YAML string, a tab
    on the command line) are written as escapes, here, so no raise site can break the one-line rule."""

    exit_code = 1

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(one_line(str(message)), *args)


def one_line(text: str) -> str:
    """``text`` with every non-printable character escaped (a newline becomes a backslash and an n)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class InputError(ArchsearchError):
    """Input that archsearch cannot use; the message names file, entry and field."""

    exit_code = 2


class CatalogError(InputError):
    """A catalog file or entry is malformed."""


class ProblemError(InputError):
    """A problem file is malformed or refers to something that does not exist."""


class UsageError(InputError):
    """A command-line argument is malformed."""


class StudyError(InputError):
    """A study file (``archsearch study``) is malformed."""


class InfeasibleError(ArchsearchError):
    """No design in the search space meets the requirements; the message says which and by how much."""

    exit_code = 1


class SolverError(ArchsearchError):
    """CP-SAT could not produce a trustworthy answer (invalid model, overflow, time limit without a design)."""

    exit_code = 3
