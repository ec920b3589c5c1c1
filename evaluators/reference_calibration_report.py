"""Files a person reads after `gas calibrate --reference`: JSON, a markdown table, a tau chart."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from gas_kernel.errors import GasError

__all__ = ["reference_markdown", "write_reference_report"]


def write_reference_report(summary: dict[str, Any], out: Path) -> list[Path]:
    """calibration_reference.{json,md,png} under `out`."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GasError(f"cannot create output folder {out}: {error.strerror}") from error
    paths = [out / f"calibration_reference.{ext}" for ext in ("json", "md", "png")]
    paths[0].write_text(json.dumps(summary, indent=2) + "\n")
    paths[1].write_text(reference_markdown(summary))
    _tau_chart(summary, paths[2])
    return paths


def _interval(row: dict[str, float]) -> str:
    if math.isnan(row["tau"]):
        return f"n/a (n={row['n']})"
    if math.isnan(row["low"]):
        return f"{row['tau']:.3f} (n={row['n']})"
    return f"{row['tau']:.3f} [{row['low']:.2f}, {row['high']:.2f}]"


def _order(summary: dict[str, Any]) -> list[str]:
    signals = summary["signals"]
    return sorted(signals, key=lambda name: -(signals[name]["all"]["tau"] if not math.isnan(signals[name]["all"]["tau"]) else -9))


def reference_markdown(summary: dict[str, Any]) -> str:
    """The table: every signal's tau [95% CI] overall and in the band slice, and its cost."""
    from tabulate import tabulate

    signals = summary["signals"]
    rows = [(f"{name} (baseline)" if name in ("params", "macs") else name, _interval(signals[name]["all"]),
             _interval(signals[name]["band"]), f"{signals[name]['seconds']:.2f}") for name in _order(summary)]
    rows.append(("seed-to-seed (the ceiling)", _interval(summary["ceiling"]), "", ""))
    low, high = summary["target_range"]
    return "\n".join([
        "# Calibration against the trained reference set", "",
        (f"`gas calibrate --reference {summary['reference']}`: {summary['blueprints']} trained blueprints "
        f"({summary['band_blueprints']} in the band slice), trained accuracy (mean over seeds) "
        f"{100 * low:.2f}-{100 * high:.2f}% on {summary['data']}. Proxies scored at initialisation on one seeded "
        f"batch of {summary['proxy_batch']} training images, and as `<proxy> (noise)` on a seeded batch of Gaussian noise "
        "(what a search without --data scores); `curve@E` is val top-1 after E epochs of the reference "
        "run; `short@E` a schedule of E epochs. Kendall tau with a bootstrap 95% interval."), "",
        tabulate(rows, headers=["signal", "tau, all [95% CI]", "tau, band slice", "s / candidate"], tablefmt="github"),
        ""])


def _tau_chart(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = _order(summary)
    signals = summary["signals"]
    position = np.arange(len(names))
    figure, axis = plt.subplots(figsize=(9, 3.8))
    for offset, key, label in ((-0.2, "all", "all blueprints"), (0.2, "band", "band slice")):
        taus = np.array([signals[n][key]["tau"] for n in names])
        errors = np.array([[signals[n][key]["tau"] - signals[n][key]["low"], signals[n][key]["high"] - signals[n][key]["tau"]]
                           for n in names]).T.clip(min=0)  # a percentile interval can sit beside a degenerate tau
        axis.bar(position + offset, np.nan_to_num(taus), width=0.4, yerr=np.nan_to_num(errors), capsize=2, label=label)
    ceiling = summary["ceiling"]["tau"]
    if not math.isnan(ceiling):
        axis.axhline(ceiling, color="grey", linestyle="--", label="seed-to-seed ceiling")
    axis.axhline(0, color="black", linewidth=0.5)
    axis.set_xticks(position, names, rotation=35, ha="right")
    axis.set_ylabel("Kendall tau vs trained top-1")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
