"""The documentation: the site builds with --strict, every link resolves, every example is current.

The examples run once per test session (about a minute on 2 cores); any failure names the page,
line and command, and `python benchmarks/refresh_docs.py --write` refreshes them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import refresh_docs  # noqa: E402

PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"!?\[(?:[^\]]*)\]\((?P<target>[^)\s]+)\)")


@pytest.fixture(scope="session")
def refreshed(tmp_path_factory) -> refresh_docs.Report:
    return refresh_docs.check(image_dir=tmp_path_factory.mktemp("images"))


def test_the_site_builds_with_strict(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                          "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (tmp_path / "site" / "index.html").exists()


def _prose(text: str) -> str:
    """text without fenced blocks and inline code, where brackets are not links."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def _slug_site(heading: str) -> str:  # Python-Markdown's toc slugify, as MkDocs uses it
    value = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode()
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


def _slug_github(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> tuple[set[str], set[str]]:
    headings = [re.sub(r"`", "", m[1]).strip() for m in
                re.finditer(r"^#{1,6} (.*)$", re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"),
                                                     flags=re.S | re.M), re.M)]
    return {_slug_site(h) for h in headings}, {_slug_github(h) for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for m in LINK.finditer(_prose(page.read_text(encoding="utf-8"))):
        target = m["target"]
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if not dest.exists():
            broken.append(f"{target}: no file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")
        elif anchor and dest.suffix == ".md":
            site, github = _anchors(dest)
            if anchor not in site or anchor not in github:
                broken.append(f"{target}: no heading #{anchor} in {dest.relative_to(ROOT)} "
                              "(on the site and on GitHub)")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_readme_links_every_docs_page():
    """The front page leads to every page it owns (pages other helpers add are linked by the lead)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("using-it", "sweeps", "serving", "validation", "problem-file", "json-output", "equations",
                 "exact-search", "catalogs", "benchmarks", "errors", "not-modelled", "layout", "refreshing-docs"):
        assert f"(docs/{name}.md" in readme, name


def test_readme_stays_a_front_page():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 250


@pytest.mark.parametrize("page", [p for p in PAGES if p.name != "index.md"], ids=lambda p: str(p.relative_to(ROOT)))
def test_no_example_output_is_left_unmarked(page):
    assert refresh_docs.unmarked_outputs(page, page.read_text(encoding="utf-8")) == []


def test_every_example_and_image_is_current(refreshed):
    assert not refreshed.errors, "examples that fail:\n" + "\n".join(refreshed.errors)
    assert not refreshed.stale, ("stale (run python benchmarks/refresh_docs.py --write):\n"
                                 + "\n".join(refreshed.stale))


def test_every_image_in_the_docs_is_drawn_by_a_marked_command():
    drawn = {ex.image for p in PAGES if p.name != "index.md"
             for ex in refresh_docs.find_examples(p, p.read_text(encoding="utf-8")) if ex.image}
    for image in (ROOT / "docs").glob("*.png"):
        assert image in drawn, f"{image.relative_to(ROOT)} has no <!-- archsearch image: ... --> marker"
        assert image.with_name(image.name + ".json").exists(), f"{image.name}: the data behind it is missing"
