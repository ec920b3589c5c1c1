"""The reference set's report: can it rank? Accuracy range against seed-to-seed noise, and plateaus.

Reads `ground_truth.jsonl` (one line per finished training) and writes `ground_truth.{md,json}` and
`ground_truth.png` (final accuracy against MACs, seed pairs joined). How well each accuracy signal
ranks the set is `gas calibrate --reference`'s job; this report says how far the yardstick itself
can be trusted:

* range: max - min final val top-1 over the first-seed trainings, against the seed-to-seed spread
  (mean |top-1(seed 0) - top-1(seed 1)| over the repeated blueprints); goal range >= 3x spread;
* seed-to-seed Kendall tau over the repeated blueprints, with a bootstrap 95% interval; goal >= 0.6;
* plateau: val top-1 gained over the last quarter of the epochs (near zero once converged).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from evaluators.ranking import kendall_with_interval

__all__ = ["markdown_cell", "summarize", "write_report"]


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of the report from the JSONL records."""
    first = {r["arch_id"]: r for r in records if r["seed"] == 0}
    second = {r["arch_id"]: r for r in records if r["seed"] != 0}
    paired = sorted(set(first) & set(second))
    finals = [r["final_val_top1"] for r in first.values()]
    diffs = [abs(first[a]["final_val_top1"] - second[a]["final_val_top1"]) for a in paired]
    summary: dict[str, Any] = {
        "trainings": len(records), "blueprints": len(first), "repeated": len(paired),
        "slices": {s: sum(1 for r in first.values() if r["slice"] == s) for s in ("wide", "band")},
        "range": (max(finals) - min(finals)) if finals else None,
        "min_top1": min(finals, default=None), "max_top1": max(finals, default=None),
        "seed_spread": float(np.mean(diffs)) if diffs else None,
        "seed_spread_max": max(diffs, default=None),
        "plateau_gain_median": _median_late_gain(records),
        "train_hours": sum(r["train_s"] for r in records) / 3600,
    }
    if summary["range"] is not None and summary["seed_spread"]:
        summary["range_over_spread"] = summary["range"] / summary["seed_spread"]
    if len(paired) >= 3:
        summary["seed_tau"] = kendall_with_interval([first[a]["final_val_top1"] for a in paired],
                                                    [second[a]["final_val_top1"] for a in paired])
    band = [r["final_val_top1"] for r in first.values() if r["slice"] == "band"]
    summary["band_range"] = (max(band) - min(band)) if band else None
    return summary


def _median_late_gain(records: list[dict[str, Any]]) -> float | None:
    gains = [r["val_top1"][-1] - r["val_top1"][-1 - max(1, len(r["val_top1"]) // 4)] for r in records
             if len(r["val_top1"]) >= 4]
    return float(np.median(gains)) if gains else None


def write_report(jsonl: Path, out_dir: Path) -> dict[str, Any]:
    """Write ground_truth.{md,json,png} next to the JSONL; returns the summary."""
    records = [json.loads(line) for line in jsonl.read_text().splitlines()] if jsonl.is_file() else []
    summary = summarize(records)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ground_truth.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out_dir / "ground_truth.md").write_text(_markdown(summary, records))
    if records:
        _plot(records, out_dir / "ground_truth.png")
    print(_markdown(summary, records))
    return summary


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}"


def _markdown(summary: dict[str, Any], records: list[dict[str, Any]]) -> str:
    from tabulate import tabulate

    tau = summary.get("seed_tau")
    tau_text = f"{tau['tau']:.3f} [{tau['low']:.3f}, {tau['high']:.3f}] (n={tau['n']})" if tau else "n/a (fewer than 3 pairs)"
    machine = records[0]["machine"] if records else {}
    rows = [
        ("trainings finished", summary["trainings"], "64 (48 blueprints + 16 repeats)"),
        ("blueprints (wide / band)", f"{summary['blueprints']} ({summary['slices']['wide']} / {summary['slices']['band']})", ">= 48"),
        ("final val top-1, min - max (%)", f"{_pct(summary['min_top1'])} - {_pct(summary['max_top1'])}", ""),
        ("range (points)", _pct(summary["range"]), ">= 3x spread"),
        ("band slice range (points)", _pct(summary["band_range"]), ""),
        ("seed-to-seed spread, mean absolute difference (points)", _pct(summary["seed_spread"]), ""),
        ("range / spread", f"{summary.get('range_over_spread', float('nan')):.1f}", ">= 3"),
        ("seed-to-seed Kendall tau [95% CI]", tau_text, ">= 0.6"),
        ("median gain over the last quarter of epochs (points)", _pct(summary["plateau_gain_median"]), "~0 (plateau)"),
        ("training time (CPU-hours)", f"{summary['train_hours']:.2f}", ""),
    ]
    head = ["# Reference set (ground truth)", "",
            ("`python benchmarks/ground_truth.py` (resumable; `--report` rewrites this file). Fashion-MNIST "
            "(28 px padded to 32, 1 channel), recipe `reference` on a fixed class-balanced 10,000-image training "
            "subset, 30 epochs, val top-1 on the full 10,000-image test set (one accuracy's standard error is "
            "about 0.3 points there)."),
            (f"Machine: {machine.get('cpu', 'n/a')}, {machine.get('cores', '?')} cores, torch {machine.get('torch', '?')}, "
            "1 thread per training."), ""]
    table = tabulate(rows, headers=["figure", "value", "goal"], tablefmt="github")
    listing = tabulate(
        [(r["slice"], r["seed"], r["arch_id"], markdown_cell(r["describe"]), f"{r['macs'] / 1e6:.2f}", f"{r['params'] / 1e3:.0f}",
          _pct(r["final_val_top1"])) for r in sorted(records, key=lambda r: -r["final_val_top1"])],
        headers=["slice", "seed", "arch_id", "blueprint", "MMACs", "params (K)", "val top-1 (%)"], tablefmt="github")
    return "\n".join(head + [table, "", "## Every training", "", listing, ""])


def markdown_cell(text: str) -> str:
    """`text` safe inside a GitHub table cell (a blueprint's description separates stages with |)."""
    return text.replace("|", "\\|")


def _plot(records: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for slice_name, marker in (("wide", "o"), ("band", "s")):
        chosen = [r for r in records if r["slice"] == slice_name]
        axis.scatter([r["macs"] / 1e6 for r in chosen], [100 * r["final_val_top1"] for r in chosen], marker=marker,
                     label=f"{slice_name} slice", alpha=0.7)
    by_arch: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_arch.setdefault(record["arch_id"], []).append(record)
    for pair in (p for p in by_arch.values() if len(p) > 1):
        axis.plot([pair[0]["macs"] / 1e6] * 2, [100 * r["final_val_top1"] for r in pair[:2]], color="grey", lw=1)
    axis.set_xscale("log")
    axis.set_xlabel("MMACs (32 px, 1 channel)")
    axis.set_ylabel("final val top-1 (%)")
    axis.set_title("Reference set: Fashion-MNIST, 30 epochs (grey: the same blueprint, two seeds)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
