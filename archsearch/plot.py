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


#: media drawn in colour (the best ones at any swept value); the rest are grey and labelled "other media"
COLOURED = 6
_STYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)))


def _axis_label(param: str) -> str:
    """The swept field with its unit: tokens for token counts, requests for concurrency, USD for budgets."""
    from .sweep import is_token_field
    leaf = param.rsplit(".", 1)[-1]
    if is_token_field(param):
        return f"{param} (tokens)"
    if leaf == "concurrency":
        return f"{param} (requests)"
    if leaf.endswith("_usd"):
        return f"{param} (USD)"
    if param.startswith("catalog.") and leaf == "cost_usd":
        return f"{param} (price multiplier)"
    return param


def _problem_name(points: Sequence[Point]) -> str:
    return next((p.result.problem.name for p in points if p.result is not None), "")


def sweep_plot(points: Sequence[Point], param: str, log_x: bool, path: Path, x_label: str) -> None:
    """Bandwidth per dollar against the swept value: one line per memory medium, the optimum highlighted.

    The media that win at some value, then those with the highest bandwidth per dollar anywhere, up to
    ``COLOURED``, get a colour and a line style each; the rest are drawn thin and grey under one legend entry.  Each crossover (the best design
    changes) is a dashed line labelled with the two values it lies between and what changes.
    """
    plt = _pyplot()
    from .sweep import is_token_field
    from .sweep_report import format_value
    fig, ax = plt.subplots(figsize=(9, 5.5))
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
    winners = {rd.design.mem.memory.name for p in points if p.result for rd in p.result.designs if rd.rank == 1}
    # media that win somewhere first, then the highest bandwidth per dollar anywhere
    ranked = sorted(media, key=lambda n: (n not in winners, -max(y for _, y in media[n]), n))
    coloured, grey = ranked[:COLOURED], ranked[COLOURED:]
    colours = plt.get_cmap("tab10").colors
    for name in grey:
        xs, ys = zip(*media[name])
        ax.plot(xs, ys, color="#b0b0b0", linewidth=0.8, label="other media" if name == grey[0] else None)
    for i, name in enumerate(coloured):
        xs, ys = zip(*media[name])
        ax.plot(xs, ys, marker=".", linewidth=1.6, color=colours[i], linestyle=_STYLES[i % len(_STYLES)], label=name)
    ax.plot(best_x, best_y, color="black", linewidth=4, alpha=0.25, label="best design overall")
    token = is_token_field(param)
    for c in crossovers(points):
        x = (c["from_value"] * c["to_value"]) ** 0.5 if log_x else (c["from_value"] + c["to_value"]) / 2
        medium = c["medium_changes"]
        ax.axvline(x, color="#505050" if medium else "#a0a0a0", linestyle="--", linewidth=0.9 if medium else 0.6)
        # labelled with the values it lies between and the design that wins from there on
        ax.text(x, 0.02, f" {format_value(c['from_value'], token)}-{format_value(c['to_value'], token)}: {c['to']}",
                transform=ax.get_xaxis_transform(), rotation=90, va="bottom", ha="right", fontsize=6.5,
                color="#202020" if medium else "#707070",
                bbox=dict(boxstyle="square,pad=0.1", facecolor="white", edgecolor="none", alpha=0.8))
    if log_x:
        ax.set_xscale("log")
    every_y = [y for series in media.values() for _, y in series]
    if every_y and max(every_y) / max(min(every_y), 1e-12) > 50:  # media span orders of magnitude
        ax.set_yscale("log")
    ax.set_xlabel(x_label if x_label != param else _axis_label(param))
    ax.set_ylabel("memory bandwidth per dollar (TB/s per $M)")
    name = _problem_name(points)
    grey_note = f"grey: the other {len(grey)} media; " if grey else ""
    ax.set_title(f"{name + ': ' if name else ''}best design per memory medium across {param}\n"
                 f"({grey_note}dashed: the best design changes, dark where its medium does)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False)
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
    """A heatmap of the winning memory medium over a two-parameter grid, each cell with its TB/s per $M."""
    plt = _pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch
    (pa, va, _), (pb, vb, _) = specs
    by = {p.value: p for p in points}
    names = sorted({p.result.designs[0].design.mem.memory.name for p in points if p.result and p.result.designs})
    index = {n: i for i, n in enumerate(names)}

    def best(a, b):
        p = by[(a, b)]
        return p.result.designs[0] if p.result and p.result.designs else None

    cells = [[index[best(a, b).design.mem.memory.name] if best(a, b) else -1 for b in vb] for a in va]
    fig, ax = plt.subplots(figsize=(2.0 + 1.2 * len(vb), 1.8 + 0.7 * len(va)))
    colours = plt.get_cmap("tab10").colors if len(names) <= 10 else plt.get_cmap("tab20").colors
    palette = [colours[i % len(colours)] for i in range(len(names))]
    cmap = ListedColormap(["#dddddd"] + palette)
    ax.imshow([[c + 1 for c in row] for row in cells], cmap=cmap, vmin=0, vmax=len(names), aspect="auto")
    for i, a in enumerate(va):
        for j, b in enumerate(vb):
            rd = best(a, b)
            text = (f"{rd.design.mem.memory.name}\n{tb_per_s_per_million_usd(rd.metrics.bandwidth_per_dollar):,.0f}"
                    if rd else "infeasible")
            ax.text(j, i, text, ha="center", va="center", fontsize=7)
    from .sweep import is_token_field
    from .sweep_report import format_value
    ax.set_xticks(range(len(vb)), [format_value(v, is_token_field(pb)) for v in vb], rotation=45, fontsize=8)
    ax.set_yticks(range(len(va)), [format_value(v, is_token_field(pa)) for v in va], fontsize=8)
    ax.set_xlabel(_axis_label(pb))
    ax.set_ylabel(_axis_label(pa))
    name = _problem_name(points)
    ax.set_title(f"{name + ': ' if name else ''}winning memory medium\n(in each cell: its TB/s per $M)", fontsize=10)
    ax.legend(handles=[Patch(color=palette[i], label=n) for i, n in enumerate(names)], fontsize=7,
              loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _save(fig, path)
    plt.close(fig)
