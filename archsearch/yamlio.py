"""Strict reading of YAML input and atomic writing of output files.

``Entry`` wraps one mapping of a catalog or problem file; each typed getter
removes the field it reads, and ``done()`` rejects whatever is left, so a typo
is an error and never silently a default.  Every message names the file, the
entry and the field, says what was expected and what was found.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import errno
import math
import os
import re
import stat
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import yaml

from . import quantity
from .errors import InputError
from .ranges import MAX_DIGITS, Range, lookup

#: the largest input file read (catalogs and problems are a few kB)
MAX_BYTES = 4 * 2**20
#: the deepest nesting of mappings and lists an input file may have
MAX_DEPTH = 32
#: the most aliases (``*name``) an input file may use: repeated aliases blow a small file up into a huge tree
MAX_ALIASES = 100
#: what a name, a key or a value is cut to when echoed in a message
SHOWN_CHARS = 60

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


def shown(value: Any) -> str:
    """A value as a one-line message echoes it: ``repr`` (which escapes newlines), cut to ``SHOWN_CHARS``."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        return f"a {len(str(abs(value)))}-digit integer" if value.bit_length() < 14000 else "a huge integer"
    text = repr(value)
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 3] + "..."


def key_text(key: Any) -> str:
    """A mapping key as a message names it: plain when it is a simple word, else escaped and quoted."""
    if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_.\-]{1,60}", key):
        return key
    return shown(key if isinstance(key, str) else str(key))


def _check_events(text: str) -> None:
    """Bound nesting depth, aliases and number lengths from the event stream (which does not recurse); the C
    parser where there is one, and the pure-Python one for the message of a syntax error (as ``load_strict``)."""
    if _StrictCLoader is not None:
        try:
            return _walk_events(yaml.parse(text, Loader=_StrictCLoader))
        except yaml.YAMLError:
            pass
    return _walk_events(yaml.parse(text, Loader=_StrictLoader))


def _walk_events(events: Any) -> None:
    depth = aliases = 0
    for ev in events:
        if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Refused(ev.start_mark, f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(ev, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _Refused(ev.start_mark, f"more than {MAX_ALIASES} aliases")
        elif isinstance(ev, yaml.ScalarEvent) and not ev.style and sum(c.isdigit() for c in ev.value) > MAX_DIGITS \
                and re.fullmatch(r"[-+0-9_.eE:xobXOB]+|[-+]?\.?\d[\d_]*\.?[\d_]*([eE][-+]?\d+)?", ev.value):
            raise _Refused(ev.start_mark, f"a number with more than {MAX_DIGITS} digits")


class _Refused(Exception):
    def __init__(self, mark: Any, problem: str) -> None:
        super().__init__(problem)
        self.mark = mark
        self.problem = problem


def parse_yaml(text: str, label: str, error: type[InputError]) -> Any:
    """Parse YAML text (``label`` names it in messages), bounded in size, depth, aliases and digits."""
    if len(text) > MAX_BYTES:
        raise error(f"{label}: larger than {MAX_BYTES // 2**20} MiB ({len(text):,} characters); not an input file")
    try:
        _check_events(text)
        return load_strict(text)
    except _Refused as exc:
        raise error(f"{label}: refused: line {exc.mark.line + 1}, column {exc.mark.column + 1}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{label}: malformed YAML: {where}{_one(problem)}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # e.g. a number beyond Python's int-string limit
        raise error(f"{label}: malformed YAML: {_one(str(exc))}") from None


def _one(text: str) -> str:
    return " ".join(text.split())


def read_yaml_cached(path: Path, error: type[InputError]) -> Any:
    """``read_yaml`` remembered per (path, modification time, size): catalogs parsed once per process.

    Returns a deep copy, so callers may change what they get.
    """
    try:
        st = Path(path).stat()
    except OSError:
        return read_yaml(path, error)
    key = (os.path.realpath(path), st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        _CACHE[key] = read_yaml(path, error)
    return copy.deepcopy(_CACHE[key])


def read_yaml(path: Path, error: type[InputError]) -> Any:
    """Parse a YAML file; a missing file or bad syntax becomes a one-line ``error``."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc.__class__.__name__}") from None
    except OSError as exc:  # a symlink loop, a name too long, a device that fails
        raise error(f"{path}: cannot read: {exc.strerror or exc.__class__.__name__}") from None
    return parse_yaml(text, str(path), error)


def describe(value: Any) -> str:
    """How a found value is shown in an error message."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (dict, list)):
        return f"a {'mapping' if isinstance(value, dict) else 'list'}"
    return shown(value)


class Entry:
    """One mapping from an input file, read field by field.

    ``kind`` says which rows of ``ranges.RANGES`` apply (``memory``, ``workload``, ``cost_curve.die_yield``);
    a child's kind is its parent's kind and the child's field name.
    """

    def __init__(self, raw: Any, file: str, entry: str, error: type[InputError], kind: str | None = None) -> None:
        self.file = file
        self.entry = entry
        self.error = error
        self.kind = kind
        if not isinstance(raw, dict):
            raise self.fail(None, "a mapping", raw)
        self._raw = dict(raw)
        self._asked: list[str] = []
        self._allowed: tuple[str, ...] | None = None

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
            self._asked.append(field)
            self._raw.pop(field, None)
            return None
        return self.child(field)

    def allow(self, fields: Iterable[str]) -> "Entry":
        """Declare every field this mapping may have, and reject any other key now: before a missing required
        field is reported, so a typo (``concurency``) or a stray key is named as what it is.  The message
        names the file, the entry and the key, suggests the closest allowed field and lists them all."""
        self._allowed = tuple(fields)
        unknown = [k for k in self._raw if k not in self._allowed]
        if unknown:
            raise self._unknown(unknown, self._allowed)
        return self

    def _unknown(self, keys: list, candidates: Sequence[str]) -> InputError:
        """One line for unknown keys: the first (in sorted order) with its closest candidate, the others after it,
        then the allowed fields when the entry declared them."""
        unknown = sorted(key_text(k) for k in keys)
        first = next(k for k in sorted(keys, key=key_text) if key_text(k) == unknown[0])
        near = difflib.get_close_matches(first, list(candidates), n=1, cutoff=0.6) if isinstance(first, str) else []
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        also = f" (also unknown: {', '.join(unknown[1:])})" if len(unknown) > 1 else ""
        allowed = f"; allowed: {', '.join(self._allowed)}" if self._allowed is not None else ""
        return self.message(unknown[0], f"unknown field{hint}{also}{allowed}")

    def pop(self, field: str, default: Any = _MISSING) -> Any:
        if self._allowed is not None and field not in self._allowed:  # the reader and its allow() disagree
            raise RuntimeError(f"{self.entry}: reads field {field!r} that its allow() list does not name")
        self._asked.append(field)
        if field in self._raw:
            return self._raw.pop(field)
        if default is _MISSING:
            typo = difflib.get_close_matches(field, [k for k in self._raw if isinstance(k, str)], n=1, cutoff=0.75)
            if typo:  # an unknown key is reported before the missing field it was meant to be
                raise self.message(key_text(typo[0]), f"unknown field (did you mean '{field}'?)")
            raise self.message(field, "missing required field")
        return default

    def done(self) -> None:
        if self._raw:
            raise self._unknown(list(self._raw), self._allowed if self._allowed is not None else self._asked)

    def child(self, field: str, default: Any = _MISSING, kind: str | None = None) -> "Entry":
        raw = self.pop(field, {} if default is not _MISSING else _MISSING)
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise self.fail(field, "a mapping", raw)
        if kind is None and self.kind is not None:
            kind = f"{self.kind}.{field}" if self.kind else field
        return Entry(raw, self.file, f"{self.entry}.{field}" if self.entry else field, self.error, kind)

    # -- typed getters ----------------------------------------------------------
    def number(self, field: str, *, default: Any = _MISSING, minimum: float | None = None,
               positive: bool = False, integer: bool = False, allow_none: bool = False) -> Any:
        """A number in the field's range from ``ranges.RANGES`` (the keyword bounds serve only fields the
        table does not have); text is read by the number grammar (``quantity``: ``2e6``, ``32k``, ``32_768``)."""
        value = self.pop(field, default)
        if value is None and allow_none:
            return None
        if value is default and default is not _MISSING:
            return value
        rng = lookup(self.kind, field)
        expected = None
        if rng is None:  # a field the table does not have (yet): the keyword bounds, and finite
            lo = 0 if positive else (minimum if minimum is not None else -math.inf)
            rng = Range(lo, math.inf, integer, positive)
            expected = "an integer" if integer else "a number"
            if positive:
                expected = "a positive integer" if integer else "a positive number"
            elif minimum is not None:
                expected = f"{expected} >= {minimum:g}"
        return check_number(value, rng, lambda exp, found: self.fail(field, exp, found),
                            binary=quantity.is_token_field(field), expected=expected)

    def string(self, field: str, *, default: Any = _MISSING, choices: Sequence[str] | None = None) -> Any:
        value = self.pop(field, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "a non-empty string", value)
        if choices is not None and value not in choices:
            err = self.fail(field, "one of " + ", ".join(choices), value)
            near = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
            raise self.error(f"{err} (did you mean '{near[0]}'?)") if near else err
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


def field_names(cls: Any, drop: Sequence[str] = ()) -> tuple[str, ...]:
    """The fields of a dataclass an input mapping may have (``Entry.allow``): its field names, less ``drop``
    (fields set by the program, not read from a file)."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.name not in drop)


def check_number(value: Any, rng: Range, fail: Callable[[str, Any], Exception], binary: bool = False,
                 expected: str | None = None) -> int | float:
    """``value`` (a YAML number, or text in the number grammar) if it lies in ``rng``, else ``fail(expected, found)``
    is raised.  Whole values of integer fields come back as ``int``."""
    expected = expected or rng.text()
    x = value
    if isinstance(value, str):
        try:
            x = quantity.parse(value, binary)
        except quantity.NotANumber as exc:
            err = fail(expected, value)
            raise (type(err)(f"{err} ({exc})") if str(exc) != "not a number" else err) from None
    # a Fraction comes from the Python API (exact costs: a budget of what a design costs)
    if isinstance(x, bool) or not isinstance(x, (int, float, Fraction)) or not rng.contains(x):
        raise fail(expected, value)
    return int(x) if rng.integer else x


def entries(raw: Any, file: str, section: str, error: type[InputError],
            key: Callable[[dict], str] = lambda d: d.get("name")) -> list[Entry]:
    """The entries of a top-level ``section: [..]`` list, each named ``section[name]``."""
    if not isinstance(raw, dict) or section not in raw:
        raise error(f"{file}: expected a mapping with a '{section}' list at the top level, found {describe(raw)}")
    extra = sorted(key_text(k) for k in set(raw) - {section})
    if extra:
        raise error(f"{file}: {extra[0]}: unknown top-level field (expected only '{section}')")
    items = raw[section]
    if not isinstance(items, list) or not items:
        raise error(f"{file}: {section}: expected a non-empty list, found {describe(items)}")
    out = []
    for i, item in enumerate(items):
        name = key(item) if isinstance(item, dict) else None
        label = f"{section}[{name}]" if isinstance(name, str) and name and key_text(name) == name else f"{section}[{i}]"
        out.append(Entry(item, file, label, error, kind=section))
    return out


def public_mode() -> int:
    """The mode a new file gets under the current umask (mkstemp's files are private, 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


#: atomic writes go through ``.NAME.archsearch-PID-RANDOM.tmp`` beside the target; a run that is killed
#: mid-write leaves that file, and the next write to the same folder removes it once PID is gone
TEMP_TAG = ".archsearch-"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def check_target(path: Path) -> None:
    """Raise ``OSError`` unless ``path`` can be (re)placed by a regular file: its folder exists, and it is
    absent or a regular file (a device, folder, socket or pipe is never replaced)."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OSError(errno.ENOENT, "no such folder")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, f"not a regular file ({_kind(st.st_mode)})")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def clean_stale_temps(folder: Path, name: str) -> list[Path]:
    """Remove the temporary files of earlier atomic writes of ``name`` whose writer process has died."""
    removed = []
    prefix = f".{name}{TEMP_TAG}"
    try:
        candidates = [p for p in Path(folder).iterdir() if p.name.startswith(prefix) and p.name.endswith(".tmp")]
    except OSError:
        return removed
    for p in candidates:
        m = re.fullmatch(r"(\d+)-[^.]*\.tmp", p.name[len(prefix):])
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see either the old content or the whole new content.

    Only a regular file is ever replaced; the temporary file is ``.NAME.archsearch-PID-RANDOM.tmp`` in the
    same folder, and stale ones left by killed runs are removed first (``clean_stale_temps``).
    """
    path = Path(path)
    check_target(path)
    folder = path.parent if str(path.parent) else Path(".")
    clean_stale_temps(folder, path.name)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_TAG}{os.getpid()}-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, public_mode())
        check_target(path)  # not replaced by a device or folder meanwhile
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
