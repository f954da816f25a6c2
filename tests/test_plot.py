"""Sweep plots: files written atomically in the asked format, clear errors otherwise."""

from pathlib import Path

import pytest

from archsearch import sweep as S
from archsearch.cli import main
from archsearch.errors import UsageError

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def per_medium():
    return S.sweep(None, "workload.context_length", [2048, 131072, 524288], top_k=20, distinct="medium")


@pytest.mark.parametrize("name, magic", [("p.png", b"\x89PNG"), ("p.svg", b"<?xml")])
def test_plot_files(tmp_path: Path, per_medium, name, magic):
    from archsearch.plot import sweep_plot
    out = tmp_path / name
    sweep_plot(per_medium, "workload.context_length", True, out, "context length (tokens)")
    assert out.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left behind
    if name.endswith(".svg"):
        text = out.read_text()
        assert "TB/s per $M" in text and "best overall" in text and "hbm4" in text


def test_medium_mode_gives_one_design_per_medium(per_medium):
    for p in per_medium:
        media = [d.design.mem.memory.name for d in p.result.designs]
        assert len(media) == len(set(media)) >= 3


def test_plot_rejects_other_formats():
    from archsearch.plot import check_target
    with pytest.raises(UsageError) as exc:
        check_target("out.pdf")
    assert str(exc.value) == "--plot: expected a .png or .svg file name, found 'out.pdf'"


def test_cli_sweep_plot(tmp_path: Path, capsys):
    out = tmp_path / "ctx.png"
    assert main(["sweep", "--param", "workload.context_length", "--values", "2k,512k", "--plot", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
