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
            y = float(rd.metrics.bandwidth_per_dollar) * 1e6 / 1e12  # TB/s per $M
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
    ys = [float(d.metrics.bandwidth_per_dollar) * 1e6 / 1e12 for d in designs]
    ax.plot(xs, ys, marker="o", drawstyle="steps-post", linewidth=1.2)
    for d, x, y in zip(designs, xs, ys):
        ax.annotate(f"{d.design.mem.memory.name} x{d.design.nodes}", (x, y), fontsize=7, xytext=(4, 4),
                    textcoords="offset points")
    if xs and max(xs) / max(min(xs), 1e-12) > 20:
        ax.set_xscale("log")
    ax.set_xlabel("decode speed per user (tokens/s)")
    ax.set_ylabel("memory bandwidth per dollar (TB/s per $M)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    _save(fig, path)
    plt.close(fig)
