"""archsearch.yamlio: strict YAML reading, typed field getters and atomic writes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from archsearch.errors import CatalogError, ProblemError
from archsearch.yamlio import Entry, entries, read_yaml, write_atomic


def entry(raw: Any) -> Entry:
    return Entry(raw, "f.yaml", "thing[a]", ProblemError)


# -- read_yaml ------------------------------------------------------------------------
def test_read_yaml_parses_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("a: 1\nb: [x, y]\n", encoding="utf-8")
    assert read_yaml(path, ProblemError) == {"a": 1, "b": ["x", "y"]}


def test_read_yaml_of_an_empty_file_is_none(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert read_yaml(path, ProblemError) is None


@pytest.mark.parametrize("error", [ProblemError, CatalogError])
def test_read_yaml_missing_file(tmp_path: Path, error: type) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(error) as exc:
        read_yaml(path, error)
    assert str(exc.value) == f"{path}: file not found"


def test_read_yaml_directory(tmp_path: Path) -> None:
    with pytest.raises(ProblemError) as exc:
        read_yaml(tmp_path, ProblemError)
    assert str(exc.value) == f"{tmp_path}: cannot read: IsADirectoryError"


def test_read_yaml_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\xff\xfe\x00a")
    with pytest.raises(ProblemError) as exc:
        read_yaml(path, ProblemError)
    assert str(exc.value) == f"{path}: cannot read: UnicodeDecodeError"


@pytest.mark.parametrize("text, message", [
    ("a: 1\nb: [1, 2\nc: 3\n", "line 3, column 2: expected ',' or ']', but got ':'"),
    ("a: 1\n  b: 2\n", "line 2, column 4: mapping values are not allowed here"),
    ("a: 1\n\tb: 2\n", "line 2, column 1: found character '\\t' that cannot start any token"),
    ("- a\nb: 1\n", "line 2, column 1: expected <block end>, but found '?'"),
], ids=["unclosed-list", "bad-indent", "tab", "list-then-mapping"])
def test_read_yaml_malformed_names_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as exc:
        read_yaml(path, CatalogError)
    assert str(exc.value) == f"{path}: malformed YAML: {message}"


def test_read_yaml_rejects_duplicate_keys(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("capacity_gb: 16\ncapacity_gb: 32\n", encoding="utf-8")
    with pytest.raises(ProblemError) as exc:
        read_yaml(path, ProblemError)
    assert str(exc.value) == f"{path}: malformed YAML: line 2, column 1: duplicate key 'capacity_gb'"


# -- Entry getters: good values -----------------------------------------------------------
@pytest.mark.parametrize("raw, read, expected", [
    ({"x": 3}, lambda e: e.number("x", positive=True), 3),
    ({"x": 0.5}, lambda e: e.number("x", positive=True), 0.5),
    ({"x": 2.0}, lambda e: e.number("x", positive=True, integer=True), 2),
    ({"x": 0}, lambda e: e.number("x", minimum=0), 0),
    ({}, lambda e: e.number("x", default=7), 7),
    ({"x": None}, lambda e: e.number("x", default=None, allow_none=True), None),
    ({"x": "b"}, lambda e: e.string("x", choices=("a", "b")), "b"),
    ({}, lambda e: e.string("x", default="d"), "d"),
    ({"x": False}, lambda e: e.boolean("x"), False),
    ({}, lambda e: e.boolean("x", default=True), True),
    ({"x": ["a", "b"]}, lambda e: e.string_list("x"), ("a", "b")),
    ({}, lambda e: e.string_list("x", default=None), None),
], ids=["int", "float", "whole-float-as-int", "minimum-inclusive", "number-default", "allow-none",
        "choice", "string-default", "boolean", "boolean-default", "string-list", "string-list-default"])
def test_entry_getter_accepts(raw: dict, read: Callable[[Entry], Any], expected: Any) -> None:
    e = entry(raw)
    value = read(e)
    assert value == expected and type(value) is type(expected)
    e.done()  # the getter consumed the field


# -- Entry getters: bad values, exact messages ------------------------------------------------
P = "f.yaml: thing[a]: x: "


@pytest.mark.parametrize("raw, read, message", [
    ({"x": 0}, lambda e: e.number("x", positive=True), P + "expected a positive number, found 0"),
    ({"x": -2.5}, lambda e: e.number("x", positive=True), P + "expected a positive number, found -2.5"),
    ({"x": 0.0}, lambda e: e.number("x", positive=True, integer=True), P + "expected a positive integer, found 0.0"),
    ({"x": 2.5}, lambda e: e.number("x", integer=True), P + "expected an integer, found 2.5"),
    ({"x": -1}, lambda e: e.number("x", minimum=0), P + "expected a number >= 0, found -1"),
    ({"x": 0}, lambda e: e.number("x", minimum=0.5, integer=True), P + "expected an integer >= 0.5, found 0"),
    ({"x": "4kB"}, lambda e: e.number("x", positive=True, integer=True),
     P + "expected a positive integer, found '4kB'"),
    ({"x": "16 GB"}, lambda e: e.number("x"), P + "expected a number, found '16 GB'"),
    ({"x": float("nan")}, lambda e: e.number("x"), P + "expected a number, found nan"),
    ({"x": True}, lambda e: e.number("x"), P + "expected a number, found true (a boolean)"),
    ({"x": None}, lambda e: e.number("x"), P + "expected a number, found nothing"),
    ({"x": [1]}, lambda e: e.number("x"), P + "expected a number, found a list"),
    ({"x": {"a": 1}}, lambda e: e.number("x"), P + "expected a number, found a mapping"),
    ({}, lambda e: e.number("x"), P + "missing required field"),
    ({"x": "c"}, lambda e: e.string("x", choices=("a", "b")), P + "expected one of a, b, found 'c'"),
    ({"x": ""}, lambda e: e.string("x"), P + "expected a non-empty string, found ''"),
    ({"x": "  "}, lambda e: e.string("x"), P + "expected a non-empty string, found '  '"),
    ({"x": 3}, lambda e: e.string("x"), P + "expected a non-empty string, found 3"),
    ({}, lambda e: e.string("x"), P + "missing required field"),
    ({"x": "yes"}, lambda e: e.boolean("x"), P + "expected true or false, found 'yes'"),
    ({"x": 1}, lambda e: e.boolean("x"), P + "expected true or false, found 1"),
    ({}, lambda e: e.boolean("x"), P + "missing required field"),
    ({"x": []}, lambda e: e.string_list("x"), P + "expected a non-empty list of names, found a list"),
    ({"x": "a"}, lambda e: e.string_list("x"), P + "expected a non-empty list of names, found 'a'"),
    ({"x": ["a", 3]}, lambda e: e.string_list("x"), P + "expected a non-empty list of names, found a list"),
    ({"x": ["a", ""]}, lambda e: e.string_list("x"), P + "expected a non-empty list of names, found a list"),
    ({}, lambda e: e.string_list("x"), P + "missing required field"),
    ({"x": 3}, lambda e: e.child("x"), P + "expected a mapping, found 3"),
    ({}, lambda e: e.child("x"), P + "missing required field"),
    ({"x": {"y": "z"}}, lambda e: e.child("x").number("y"), "f.yaml: thing[a].x: y: expected a number, found 'z'"),
], ids=["positive-zero", "positive-negative", "positive-integer-zero-float", "integer-fraction", "minimum",
        "integer-minimum", "integer-string", "number-quoted", "nan", "bool-as-number", "null-as-number",
        "list-as-number", "mapping-as-number", "number-missing", "choice", "empty-string", "blank-string",
        "number-as-string", "string-missing", "yes-as-bool", "one-as-bool", "bool-missing", "empty-list",
        "string-as-list", "list-with-number", "list-with-empty", "list-missing", "child-not-mapping",
        "child-missing", "child-field"])
def test_entry_getter_rejects(raw: dict, read: Callable[[Entry], Any], message: str) -> None:
    with pytest.raises(ProblemError) as exc:
        read(entry(raw))
    assert str(exc.value) == message


def test_entry_of_a_non_mapping() -> None:
    with pytest.raises(ProblemError) as exc:
        entry(5)
    assert str(exc.value) == "f.yaml: thing[a]: expected a mapping, found 5"


def test_entry_unknown_field() -> None:
    e = entry({"x": 1, "colour": "red"})
    e.number("x")
    with pytest.raises(ProblemError) as exc:
        e.done()
    assert str(exc.value) == "f.yaml: thing[a]: colour: unknown field"


def test_entry_several_unknown_fields_are_sorted_and_all_named() -> None:
    with pytest.raises(ProblemError) as exc:
        entry({"b": 1, "a": 2, "c": 3}).done()
    assert str(exc.value) == "f.yaml: thing[a]: a: unknown field (also unknown: b, c)"


def test_entry_errors_use_the_given_class() -> None:
    e = Entry({}, "m.yaml", "memory[hbm3]", CatalogError)
    with pytest.raises(CatalogError) as exc:
        e.number("capacity_gb")
    assert str(exc.value) == "m.yaml: memory[hbm3]: capacity_gb: missing required field"


# -- entries(): the top-level list of a catalog file ---------------------------------------------
def test_entries_are_labelled_by_name_or_index() -> None:
    es = entries({"memory": [{"name": "a"}, {"nme": "b"}]}, "m.yaml", "memory", ProblemError)
    assert [e.entry for e in es] == ["memory[a]", "memory[1]"]


@pytest.mark.parametrize("raw, message", [
    ([1], "m.yaml: expected a mapping with a 'memory' list at the top level, found a list"),
    (None, "m.yaml: expected a mapping with a 'memory' list at the top level, found nothing"),
    ({"memories": []}, "m.yaml: expected a mapping with a 'memory' list at the top level, found a mapping"),
    ({"memory": [{"name": "a"}], "x": 1}, "m.yaml: x: unknown top-level field (expected only 'memory')"),
    ({"memory": []}, "m.yaml: memory: expected a non-empty list, found a list"),
    ({"memory": "a"}, "m.yaml: memory: expected a non-empty list, found 'a'"),
    ({"memory": [{"name": "a"}, 3]}, "m.yaml: memory[1]: expected a mapping, found 3"),
], ids=["list", "empty-file", "misspelled-section", "extra-top-level", "empty-list", "string", "item-not-mapping"])
def test_entries_reject(raw: Any, message: str) -> None:
    with pytest.raises(ProblemError) as exc:
        entries(raw, "m.yaml", "memory", ProblemError)
    assert str(exc.value) == message


# -- write_atomic ----------------------------------------------------------------------------
def test_write_atomic_writes_a_new_file(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    write_atomic(path, '{"a": 1}\n')
    assert path.read_text(encoding="utf-8") == '{"a": 1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_write_atomic_replaces_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_text("old\n", encoding="utf-8")
    write_atomic(path, "new\n")
    assert path.read_text(encoding="utf-8") == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


@pytest.mark.parametrize("fails", ["replace", "fsync"])
def test_write_atomic_failure_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 fails: str) -> None:
    path = tmp_path / "out.json"
    path.write_text("old\n", encoding="utf-8")

    def boom(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, fails, boom)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, "new\n")
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_write_atomic_keyboard_interrupt_also_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out.json"
    path.write_text("old\n", encoding="utf-8")

    def interrupt(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, "new\n")
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


# -- bounds on what is read (issue 13) ------------------------------------------------------------
@pytest.mark.parametrize("text, message", [
    ("[" * 5000, "refused: line 1, column 33: nested deeper than 32 levels"),
    ("{a: " * 5000, "refused: line 1, column 129: nested deeper than 32 levels"),
    ("a: &x [1]\n" + "".join(f"b{i}: *x\n" for i in range(101)), "refused: line 102, column 7: more than 100 aliases"),
    ("a: " + "9" * 41 + "\n", "refused: line 1, column 4: a number with more than 40 digits"),
    ("a: " + "9" * 5000 + "\n", "refused: line 1, column 4: a number with more than 40 digits"),
    ("a: !!python/object/apply:os.system ['true']\n", "malformed YAML: line 1, column 4: could not determine a "
     "constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'"),
], ids=["deep-lists", "deep-mappings", "alias-bomb", "41-digits", "5000-digits", "unsafe-tag"])
def test_read_yaml_bounds(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProblemError) as exc:
        read_yaml(path, ProblemError)
    assert str(exc.value) == f"{path}: {message}"


def test_read_yaml_refuses_a_huge_document(tmp_path: Path) -> None:
    from archsearch.yamlio import MAX_BYTES
    path = tmp_path / "big.yaml"
    path.write_text("#" * (MAX_BYTES + 10), encoding="utf-8")
    with pytest.raises(ProblemError) as exc:
        read_yaml(path, ProblemError)
    assert str(exc.value) == f"{path}: larger than 4 MiB (4,194,305 characters); not an input file"


def test_read_yaml_symlink_loop(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.symlink_to(path)
    with pytest.raises(CatalogError) as exc:
        read_yaml(path, CatalogError)
    assert str(exc.value) == f"{path}: cannot read: Too many levels of symbolic links"


@pytest.mark.parametrize("value, text", [
    ("a\nb", "'a\\nb'"), ("ring2\n", "'ring2\\n'"), (10**30, "a 31-digit integer"), ("x" * 100, "'" + "x" * 56 + "..."),
    (1e300, "1e+300"), ("\x00", "'\\x00'"),
])
def test_shown_is_one_short_line(value: Any, text: str) -> None:
    from archsearch.yamlio import shown
    assert shown(value) == text


@pytest.mark.parametrize("raw, read, message", [
    ({"concurency": 4}, lambda e: e.number("concurrency"), "f.yaml: thing[a]: concurency: unknown field (did you mean "
                                                          "'concurrency'?)"),
    ({"context": 1, "contxt": 2}, lambda e: (e.number("context"), e.done()),
     "f.yaml: thing[a]: contxt: unknown field (did you mean 'context'?)"),
    ({"a\nb": 1}, lambda e: e.done(), "f.yaml: thing[a]: 'a\\nb': unknown field"),
    ({"x": "9" * 41}, lambda e: e.number("x"), "f.yaml: thing[a]: x: expected a number, found '" + "9" * 41 +
     "' (more than 40 digits)"),
], ids=["typo-before-missing", "unknown-did-you-mean", "escaped-key", "text-digits"])
def test_entry_messages(raw: dict, read: Callable[[Entry], Any], message: str) -> None:
    with pytest.raises(ProblemError) as exc:
        read(entry(raw))
    assert str(exc.value) == message


@pytest.mark.parametrize("kind, field, value, expected", [
    ("workload", "context_length", "32k", 32768), ("workload", "context_length", "32K", 32768),
    ("workload", "context_length", "32_768", 32768), ("workload", "context_length", "32768", 32768),
    ("workload", "context_length", 32768.0, 32768), ("constraints", "budget_usd", "2e6", 2000000.0),
    ("constraints", "budget_usd", "2M", 2000000), ("workload", "prompt_tokens", "1M", 2**20),
])
def test_entry_number_grammar(kind: str, field: str, value: Any, expected: Any) -> None:
    got = Entry({field: value}, "f.yaml", "problem." + kind, ProblemError, kind=kind).number(field)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("kind, field, value, message", [
    ("memory", "capacity_gb", 1e300, "capacity_gb: expected a number in [1e-6, 1,000,000], found 1e+300"),
    ("memory", "capacity_gb", 1e-300, "capacity_gb: expected a number in [1e-6, 1,000,000], found 1e-300"),
    ("workload", "concurrency", 10**30, "concurrency: expected an integer in [1, 100,000,000], found a 31-digit "
                                        "integer"),
    ("workload", "concurrency", "32kB", "concurrency: expected an integer in [1, 100,000,000], found '32kB'"),
    ("cost", "market_over_build", 1e-12, "market_over_build: expected a number in [0.01, 100], found 1e-12"),
    ("search", "seed", 2**31, "seed: expected an integer in [0, 2,147,483,647], found 2147483648"),
])
def test_entry_number_range(kind: str, field: str, value: Any, message: str) -> None:
    with pytest.raises(ProblemError) as exc:
        Entry({field: value}, "f.yaml", "e", ProblemError, kind=kind).number(field)
    assert str(exc.value) == "f.yaml: e: " + message


# -- output paths and temporary files -----------------------------------------------------------------
@pytest.mark.parametrize("target, message", [
    ("/dev/null", "not a regular file (a character device)"), ("FOLDER", "not a regular file (a folder)"),
    ("MISSING/x.json", "no such folder"),
])
def test_write_atomic_replaces_only_regular_files(tmp_path: Path, target: str, message: str) -> None:
    from archsearch.yamlio import check_target
    path = Path(target.replace("FOLDER", str(tmp_path)).replace("MISSING", str(tmp_path / "no")))
    for call in (lambda: check_target(path), lambda: write_atomic(path, "x")):
        with pytest.raises(OSError) as exc:
            call()
        assert exc.value.strerror == message
    assert Path("/dev/null").is_char_device()


def test_write_atomic_temp_name_is_recognisable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    real = os.replace

    def spy(src: str, dst: Any) -> None:
        seen.append(Path(src).name)
        real(src, dst)
    monkeypatch.setattr(os, "replace", spy)
    write_atomic(tmp_path / "r.json", "x")
    assert seen[0].startswith(f".r.json.archsearch-{os.getpid()}-") and seen[0].endswith(".tmp")


def test_stale_temp_files_of_dead_writers_are_removed(tmp_path: Path) -> None:
    import subprocess
    import sys
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    stale = tmp_path / f".r.json.archsearch-{dead}-abc123.tmp"
    live = tmp_path / f".r.json.archsearch-{os.getppid()}-def456.tmp"   # a writer still running: kept
    other = tmp_path / f".s.json.archsearch-{dead}-ghi789.tmp"           # another target's: not ours to judge now
    for p in (stale, live, other):
        p.write_text("partial", encoding="utf-8")
    write_atomic(tmp_path / "r.json", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["r.json", live.name, other.name])


def test_the_c_loader_reads_every_bundled_file_as_the_pure_loader_does() -> None:
    import archsearch
    from archsearch import yamlio
    root = Path(archsearch.__file__).parent
    files = sorted(root.glob("catalogs/*.yaml")) + sorted(root.glob("problems/*.yaml"))
    assert yamlio._StrictCLoader is not None and files
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert yamlio.load_strict(text) == yaml.load(text, Loader=yamlio._StrictLoader), f.name


def test_a_c_loader_error_is_reported_by_the_pure_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    from archsearch import yamlio
    calls = []
    real = yaml.load

    def spy(text, Loader):
        calls.append(Loader)
        return real(text, Loader=Loader)
    monkeypatch.setattr(yamlio.yaml, "load", spy)
    with pytest.raises(yaml.YAMLError):
        yamlio.load_strict("a: 1\na: 2\n")
    assert calls == [yamlio._StrictCLoader, yamlio._StrictLoader]


# -- allow: every field a mapping may have, checked before any is read (issue 10) ------------------------------
@pytest.mark.parametrize("raw, message", [
    ({"colour": "red"}, "f.yaml: thing[a]: colour: unknown field; allowed: context_length, concurrency"),
    ({"concurency": 4}, "f.yaml: thing[a]: concurency: unknown field (did you mean 'concurrency'?); allowed: "
                        "context_length, concurrency"),
    ({"context_length": 8, "b": 1, "a": 2}, "f.yaml: thing[a]: a: unknown field (also unknown: b); allowed: "
                                            "context_length, concurrency"),
], ids=["unrelated-key-before-missing", "typo-before-missing", "several"])
def test_allow_reports_unknown_keys_before_missing_fields(raw: dict, message: str) -> None:
    """Both fields are required and at least one is missing in each case: the unknown key is still what is named."""
    with pytest.raises(ProblemError) as exc:
        e = entry(raw).allow(("context_length", "concurrency"))
        e.number("context_length"), e.number("concurrency")
    assert str(exc.value) == message


def test_allow_then_missing_field_and_done() -> None:
    e = entry({"concurrency": 4}).allow(("context_length", "concurrency"))
    assert e.number("concurrency") == 4
    with pytest.raises(ProblemError) as exc:
        e.number("context_length")
    assert str(exc.value) == "f.yaml: thing[a]: context_length: missing required field"
    e.done()


def test_reading_a_field_allow_does_not_name_is_a_bug_not_an_input_error() -> None:
    e = entry({"x": 1}).allow(("x",))
    with pytest.raises(RuntimeError, match="reads field 'y' that its allow\\(\\) list does not name"):
        e.number("y", default=0)


def test_every_error_message_is_one_line_whatever_it_echoes():
    """The error tree escapes control characters itself, so a raise site that forgets ``shown`` still gives one
    line (the long fuzz profile found two such sites in the two-level catalog fields)."""
    from archsearch.errors import CatalogError, SolverError, UsageError
    for cls in (CatalogError, UsageError, SolverError):
        assert str(cls("f.yaml: x: 'a\nb\tc\r' is bad ± →")) == "f.yaml: x: 'a\\nb\\tc\\r' is bad ± →"
