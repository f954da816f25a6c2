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
        assert "TB/s per $M" in text and "best design overall" in text and "hbm4" in text
        assert "llama-2-70b-chat" in text            # titled with the problem
        assert "other media" in text                 # beyond the coloured few, grey under one entry


def test_sweep_plot_colours_are_distinct_and_winners_coloured(tmp_path: Path, per_medium, monkeypatch):
    import matplotlib.axes
    from archsearch import plot
    drawn = []
    real = matplotlib.axes.Axes.plot

    def spy(self, *args, **kw):
        drawn.append((kw.get("label"), kw.get("color"), kw.get("linestyle")))
        return real(self, *args, **kw)
    monkeypatch.setattr(matplotlib.axes.Axes, "plot", spy)
    plot.sweep_plot(per_medium, "workload.context_length", True, tmp_path / "p.png", "workload.context_length")
    coloured = [(lab, col) for lab, col, _ in drawn if col not in ("#b0b0b0", "black")]
    assert len({col for _, col in coloured}) == len(coloured) <= plot.COLOURED
    winners = {p.result.designs[0].design.mem.memory.name for p in per_medium}
    assert winners <= {lab for lab, _ in coloured}


def test_grid_heatmap_names_problem_units_and_values(tmp_path: Path):
    from archsearch.plot import grid_heatmap
    specs = [("workload.context_length", [4096, 32768], False), ("workload.concurrency", [1, 16], False)]
    points = S.sweep(None, [s[0] for s in specs], [(a, b) for a in specs[0][1] for b in specs[1][1]])
    out = tmp_path / "g.svg"
    grid_heatmap(points, specs, out)
    text = out.read_text()
    best = points[0].result.designs[0]
    ratio = f"{float(best.metrics.bandwidth_per_dollar) / 1e6:,.0f}"
    for words in ("llama-2-70b-chat", "(tokens)", "(requests)", "TB/s per $M", ratio):
        assert words in text


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
