"""Plots of sweeps (matplotlib, an optional extra: pip install 'archsearch[plot]').

Pure data in, one image file out (written atomically); nothing is shown on screen.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Sequence

from .errors import UsageError
from .sweep import Point, crossovers
from .units import tb_per_s_per_million_usd
from .yamlio import public_mode

FORMATS = (".png", ".svg")


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'archsearch[plot]'") from None
    return plt


def check_target(path: str) -> Path:
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise UsageError(f"--plot: expected a .png or .svg file name, found {path!r}")
    _pyplot()
    return p


def _save(fig, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent or ".")
    os.close(fd)
    try:
        fig.savefig(tmp, format=path.suffix[1:].lower(), dpi=130, bbox_inches="tight")
        os.chmod(tmp, public_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def sweep_plot(points: Sequence[Point], param: str, log_x: bool, path: Path, x_label: str) -> None:
    """Bandwidth per dollar against the swept value: one line per memory medium, the optimum highlighted."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    media: dict[str, list[tuple[float, float]]] = {}
    best_x, best_y = [], []
    for p in points:
        if p.result is None:
            continue
        for rd in p.result.designs:
            y = tb_per_s_per_million_usd(rd.metrics.bandwidth_per_dollar)
            media.setdefault(rd.design.mem.memory.name, []).append((p.value, y))
            if rd.rank == 1:
                best_x.append(p.value)
                best_y.append(y)
    for name in sorted(media):
        xs, ys = zip(*media[name])
        ax.plot(xs, ys, marker=".", linewidth=1.2, label=name)
    ax.plot(best_x, best_y, color="black", linewidth=3, alpha=0.35, label="best overall")
    for c in crossovers(points):
        ax.axvline((c["from_value"] * c["to_value"]) ** 0.5 if log_x else (c["from_value"] + c["to_value"]) / 2,
                   color="grey", linestyle="--", linewidth=0.8)
    if log_x:
        ax.set_xscale("log")
    every_y = [y for series in media.values() for _, y in series]
    if every_y and max(every_y) / max(min(every_y), 1e-12) > 50:  # media span orders of magnitude
        ax.set_yscale("log")
    ax.set_xlabel(x_label)
    ax.set_ylabel("memory bandwidth per dollar (TB/s per $M)")
    ax.set_title(f"best design per memory medium across {param} (dashed: crossovers)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    _save(fig, path)
    plt.close(fig)


def pareto_plot(designs: Sequence, path: Path, title: str) -> None:
    """The frontier: decode tokens/s per user against TB/s per $M, each point labelled with its design."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    xs = [float(d.metrics.decode_tokens_per_s_per_user) for d in designs]
    ys = [tb_per_s_per_million_usd(d.metrics.bandwidth_per_dollar) for d in designs]
    # a design at (x, y) offers every speed up to x at ratio y: the frontier steps down after each point
    ax.plot(xs, ys, marker="o", drawstyle="steps-pre", linewidth=1.2)
    for d, x, y in zip(designs, xs, ys):
        ax.annotate(f"{d.design.mem.memory.name}, {d.design.nodes} nodes", (x, y), fontsize=7, xytext=(4, 4),
                    textcoords="offset points")
    if xs and max(xs) / max(min(xs), 1e-12) > 20:
        ax.set_xscale("log")
    ax.set_xlabel("decode speed per user (tokens/s)")
    ax.set_ylabel("memory bandwidth per dollar (TB/s per $M)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    _save(fig, path)
    plt.close(fig)


def grid_heatmap(points: Sequence[Point], specs: Sequence[tuple[str, list[float], bool]], path: Path) -> None:
    """A heatmap of the winning memory medium over a two-parameter grid."""
    plt = _pyplot()
    from matplotlib.colors import ListedColormap
    (pa, va, _), (pb, vb, _) = specs
    by = {p.value: p for p in points}
    names = sorted({p.result.designs[0].design.mem.memory.name for p in points if p.result and p.result.designs})
    index = {n: i for i, n in enumerate(names)}
    cells = [[index[by[(a, b)].result.designs[0].design.mem.memory.name]
              if by[(a, b)].result and by[(a, b)].result.designs else -1 for b in vb] for a in va]
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(vb), 1.2 + 0.6 * len(va)))
    colours = plt.get_cmap("tab10").colors
    cmap = ListedColormap(["#dddddd"] + [colours[i % len(colours)] for i in range(len(names))])
    ax.imshow([[c + 1 for c in row] for row in cells], cmap=cmap, vmin=0, vmax=len(names), aspect="auto")
    for i, row in enumerate(cells):
        for j, c in enumerate(row):
            ax.text(j, i, names[c] if c >= 0 else "infeasible", ha="center", va="center", fontsize=7)
    from .sweep import is_token_field
    from .sweep_report import format_value
    ax.set_xticks(range(len(vb)), [format_value(v, is_token_field(pb)) for v in vb], rotation=45, fontsize=8)
    ax.set_yticks(range(len(va)), [format_value(v, is_token_field(pa)) for v in va], fontsize=8)
    ax.set_xlabel(pb)
    ax.set_ylabel(pa)
    ax.set_title("winning memory medium")
    _save(fig, path)
    plt.close(fig)
