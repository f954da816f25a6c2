"""Strict reading of YAML input and atomic writing of output files.

``Entry`` wraps one mapping of a catalog or problem file; each typed getter
removes the field it reads, and ``done()`` rejects whatever is left, so a typo
is an error and never silently a default.  Every message names the file, the
entry and the field, says what was expected and what was found.
"""

from __future__ import annotations

import copy
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import yaml

from .errors import InputError

_MISSING = object()


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key written twice in one mapping (a typo must not pick a value)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, (str, int, float, bool)) and key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

if getattr(yaml, "__with_libyaml__", False):
    class _StrictCLoader(yaml.CSafeLoader):
        """The same strict loader on libyaml's C parser (about 10x faster on the catalogs)."""

    _StrictCLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
else:  # pragma: no cover - PyYAML built without libyaml
    _StrictCLoader = None


def load_strict(text: str) -> Any:
    """Parse YAML text with the C loader where PyYAML has one; on any error, parse again with the pure-Python
    loader and raise its error, so messages (line, column, problem) do not depend on which loader is installed."""
    if _StrictCLoader is not None:
        try:
            return yaml.load(text, Loader=_StrictCLoader)  # noqa: S506 - a CSafeLoader subclass
        except yaml.YAMLError:
            pass
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass


_CACHE: dict[tuple[str, int, int], Any] = {}


def read_yaml_cached(path: Path, error: type[InputError]) -> Any:
    """``read_yaml`` remembered per (path, modification time, size): catalogs parsed once per process.

    Returns a deep copy, so callers may change what they get.
    """
    try:
        st = Path(path).stat()
    except OSError:
        return read_yaml(path, error)
    key = (str(Path(path).resolve()), st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        _CACHE[key] = read_yaml(path, error)
    return copy.deepcopy(_CACHE[key])


def read_yaml(path: Path, error: type[InputError]) -> Any:
    """Parse a YAML file; a missing file or bad syntax becomes a one-line ``error``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc.__class__.__name__}") from None
    try:
        return load_strict(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{path}: malformed YAML: {where}{problem}") from None


def describe(value: Any) -> str:
    """How a found value is shown in an error message."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (dict, list)):
        return f"a {'mapping' if isinstance(value, dict) else 'list'}"
    return repr(value)


class Entry:
    """One mapping from an input file, read field by field."""

    def __init__(self, raw: Any, file: str, entry: str, error: type[InputError]) -> None:
        self.file = file
        self.entry = entry
        self.error = error
        if not isinstance(raw, dict):
            raise self.fail(None, "a mapping", raw)
        self._raw = dict(raw)

    # -- errors ---------------------------------------------------------------
    def fail(self, field: str | None, expected: str, found: Any) -> InputError:
        where = f"{self.file}: {self.entry}" + (f": {field}" if field else "")
        return self.error(f"{where}: expected {expected}, found {describe(found)}")

    def message(self, field: str | None, text: str) -> InputError:
        where = f"{self.file}: {self.entry}" + (f": {field}" if field else "")
        return self.error(f"{where}: {text}")

    # -- raw access -----------------------------------------------------------
    def has(self, field: str) -> bool:
        return field in self._raw

    def optional_child(self, field: str) -> "Entry | None":
        """A sub-mapping that may be left out or set to null (null turns an option off, e.g. in a sweep's base
        file, or a dense preset's ``moe`` copied into a problem): None then, else ``child``."""
        if self._raw.get(field) is None:
            self._raw.pop(field, None)
            return None
        return self.child(field)

    def pop(self, field: str, default: Any = _MISSING) -> Any:
        if field in self._raw:
            return self._raw.pop(field)
        if default is _MISSING:
            raise self.message(field, "missing required field")
        return default

    def done(self) -> None:
        if self._raw:
            unknown = sorted(str(k) for k in self._raw)
            raise self.message(unknown[0], "unknown field" + (f" (also unknown: {', '.join(unknown[1:])})" if len(unknown) > 1 else ""))

    def child(self, field: str, default: Any = _MISSING) -> "Entry":
        raw = self.pop(field, {} if default is not _MISSING else _MISSING)
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise self.fail(field, "a mapping", raw)
        return Entry(raw, self.file, f"{self.entry}.{field}" if self.entry else field, self.error)

    # -- typed getters ----------------------------------------------------------
    def number(self, field: str, *, default: Any = _MISSING, minimum: float | None = None,
               positive: bool = False, integer: bool = False, allow_none: bool = False) -> Any:
        value = self.pop(field, default)
        if value is None and allow_none:
            return None
        if value is default and default is not _MISSING:
            return value
        kind = "an integer" if integer else "a number"
        if positive:
            kind = "a positive integer" if integer else "a positive number"
        elif minimum is not None:
            kind = f"{kind} >= {minimum:g}"
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and integer and not (isinstance(value, int) or float(value).is_integer()):
            ok = False
        if ok and not math.isfinite(value):  # NaN and infinities
            ok = False
        if ok and positive and not value > 0:
            ok = False
        if ok and minimum is not None and value < minimum:
            ok = False
        if not ok:
            raise self.fail(field, kind, value)
        return int(value) if integer else value

    def string(self, field: str, *, default: Any = _MISSING, choices: Sequence[str] | None = None) -> Any:
        value = self.pop(field, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "a non-empty string", value)
        if choices is not None and value not in choices:
            raise self.fail(field, "one of " + ", ".join(choices), value)
        return value

    def boolean(self, field: str, *, default: Any = _MISSING) -> bool:
        value = self.pop(field, default)
        if not isinstance(value, bool):
            raise self.fail(field, "true or false", value)
        return value

    def string_list(self, field: str, *, default: Any = _MISSING) -> tuple[str, ...]:
        value = self.pop(field, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise self.fail(field, "a non-empty list of names", value)
        return tuple(value)


def entries(raw: Any, file: str, section: str, error: type[InputError],
            key: Callable[[dict], str] = lambda d: d.get("name")) -> list[Entry]:
    """The entries of a top-level ``section: [..]`` list, each named ``section[name]``."""
    if not isinstance(raw, dict) or section not in raw:
        raise error(f"{file}: expected a mapping with a '{section}' list at the top level, found {describe(raw)}")
    extra = sorted(set(raw) - {section})
    if extra:
        raise error(f"{file}: {extra[0]}: unknown top-level field (expected only '{section}')")
    items = raw[section]
    if not isinstance(items, list) or not items:
        raise error(f"{file}: {section}: expected a non-empty list, found {describe(items)}")
    out = []
    for i, item in enumerate(items):
        name = key(item) if isinstance(item, dict) else None
        label = f"{section}[{name}]" if isinstance(name, str) and name else f"{section}[{i}]"
        out.append(Entry(item, file, label, error))
    return out


def public_mode() -> int:
    """The mode a new file gets under the current umask (mkstemp's files are private, 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see either the old content or the whole new content."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, public_mode())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
