"""Files a person reads after `gas calibrate`: JSON, a markdown table and PNG plots."""

from __future__ import annotations

import json
import math
from pathlib import Path

from tabulate import tabulate

from gas_kernel.errors import GasError

__all__ = ["write_report"]


def write_report(summary: dict, out: Path) -> list[Path]:
    """Write calibration.json, calibration.md, calibration_scatter.png, calibration_tau.png under `out`."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GasError(f"cannot create output folder {out}: {error.strerror}") from error
    paths = [out / "calibration.json", out / "calibration.md", out / "calibration_scatter.png", out / "calibration_tau.png"]
    paths[0].write_text(json.dumps(summary, indent=2, default=float) + "\n")
    paths[1].write_text(markdown(summary))
    _scatter_plot(summary, paths[2])
    _tau_plot(summary, paths[3])
    return paths


def markdown(summary: dict) -> str:
    """The correlation table, best first, with the setup it was measured under."""
    table = summary["correlations"]
    config, data, machine = summary["config"], summary["data"], summary["machine"]
    accuracies = [r["val_top1"] for r in summary["candidates"] if r.get("val_top1") is not None]
    lines = [
        "# Proxy calibration",
        "",
        (f"{len(summary['candidates'])} `{config['space']}` blueprints (analytic MACs <= {config['max_mmacs']:g}M at "
        f"{data['img_size']}px) sampled with seeds from {config['seed']}, each trained {config['epochs']} epochs on "
        f"{data['root']} ({data['train']} train / {data['val']} val images, {data['classes']} classes), "
        f"val top-1 {min(accuracies):.3f}..{max(accuracies):.3f}. Proxies scored on one seeded batch of "
        f"{config['proxy_batch']} training images at initialisation. Machine: {machine['cpu']}, "
        f"{machine['threads']} threads, torch {machine['torch']}; wall time {summary['wall_s'] / 60:.1f} min."),
        "",
        tabulate(
            [[f"{name} (baseline)" if name in ("params", "macs") else name, f"{table[name]['kendall_tau']:.3f}",
              f"{table[name]['spearman_rho']:.3f}", table[name]["n"]]
             for name in sorted(table, key=lambda k: -_value(table[k]["kendall_tau"]))],
            ["proxy", "Kendall tau", "Spearman rho", "n"], tablefmt="pipe", colalign=("left", "right", "right", "right"),
            disable_numparse=True),
    ]
    lines += ["", f"Best proxy (highest Kendall tau, baselines excluded): **{summary['best_proxy']}**.", ""]
    failures = [(r["arch_id"], k, v) for r in summary["candidates"] for k, v in r["errors"].items()]
    if failures:
        lines += ["Failed evaluations:", ""] + [f"- {a} {k}: {v}" for a, k, v in failures] + [""]
    return "\n".join(lines)


def _value(x: float) -> float:
    return -math.inf if math.isnan(x) else x


def _scatter_plot(summary: dict, path: Path) -> None:
    """One panel per proxy: score (symlog x) against val top-1, with tau in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary["correlations"])
    cols = 3
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        pairs = [(r["proxies"][name], r["val_top1"]) for r in summary["candidates"]
                 if name in r["proxies"] and r.get("val_top1") is not None]
        if pairs:
            x, y = zip(*pairs)
            ax.scatter(x, y, s=14)
            if min(x) > 0 and max(x) / min(x) > 100:
                ax.set_xscale("log")
        stats = summary["correlations"][name]
        ax.set_title(f"{name}: tau={stats['kendall_tau']:.2f} rho={stats['spearman_rho']:.2f}", fontsize=9)
        ax.set_xlabel(name, fontsize=8)
        ax.set_ylabel("val top-1", fontsize=8)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _tau_plot(summary: dict, path: Path) -> None:
    """Bar chart of Kendall tau and Spearman rho per proxy (baselines hatched)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    table = summary["correlations"]
    names = sorted(table, key=lambda k: -_value(table[k]["kendall_tau"]))
    position = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for offset, key, label in ((-0.2, "kendall_tau", "Kendall tau"), (0.2, "spearman_rho", "Spearman rho")):
        bars = ax.bar(position + offset, [table[n][key] for n in names], width=0.4, label=label)
        for bar, name in zip(bars, names):
            if name in ("params", "macs"):
                bar.set_hatch("//")
    ax.set_xticks(position, names, rotation=30)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_ylabel("rank correlation with val top-1")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
