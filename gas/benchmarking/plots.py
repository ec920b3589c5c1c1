"""PNG plots of a benchmark: latency vs GMACs and throughput vs params, Pareto frontier marked.

Frontiers: for latency vs GMACs both axes are lower-is-better; for throughput vs params fewer
params and more images/s are better. gas models are drawn in a distinct colour.
"""

from __future__ import annotations

from pathlib import Path

from gas.benchmarking.pareto import pareto_mask
from gas.benchmarking.results import BenchResult

__all__ = ["write_plots"]


def write_plots(result: BenchResult, out_dir: Path, stem: str) -> list[Path]:
    """Two PNGs in `out_dir`: `<stem>_latency_gmacs.png` and `<stem>_throughput_params.png`."""
    import matplotlib

    matplotlib.use("Agg")
    rows = result.rows
    if not rows:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    lb, tb = rows[0].latency.batch_size, rows[0].throughput.batch_size
    specs = [
        ("latency_gmacs", [r.gmacs for r in rows], [r.latency.median_ms for r in rows], False,
         "GMACs (batch 1)", f"latency, batch {lb} (ms)"),
        ("throughput_params", [r.mparams for r in rows], [r.throughput.throughput_per_s for r in rows], True,
         "params (M)", f"throughput, batch {tb} (images/s)"),
    ]
    return [_scatter(result, out_dir / f"{stem}_{suffix}.png", xs, ys, up, xl, yl) for suffix, xs, ys, up, xl, yl in specs]


def _scatter(result: BenchResult, path: Path, xs, ys, maximize_y: bool, xlabel: str, ylabel: str) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator

    front = pareto_mask(xs, ys, maximize_y=maximize_y)
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for row, x, y, on_front in zip(result.rows, xs, ys, front):
        colour = "tab:red" if row.origin.startswith("gas") else "tab:blue"
        ax.scatter(x, y, s=60 if on_front else 30, color=colour, edgecolor="black" if on_front else "none", zorder=3)
        ax.annotate(row.name, (x, y), fontsize=7, xytext=(4, 3), textcoords="offset points")
    frontier = sorted((x, y) for x, y, on_front in zip(xs, ys, front) if on_front)
    ax.step(*zip(*frontier), where="post", color="gray", linestyle="--", label="Pareto frontier")
    ax.set(xlabel=xlabel, ylabel=ylabel, xscale="log", yscale="log")
    for axis in (ax.xaxis, ax.yaxis):  # plain numbers at 1, 2, 5 x 10^k instead of crowded 10^k labels
        axis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axis.set_minor_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.set_title(f"{result.machine.get('cpu', result.device)}, {result.device} {result.dtype}, {result.threads} threads",
                 fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
