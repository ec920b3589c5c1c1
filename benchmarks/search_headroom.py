"""How many points of top-1 a way of choosing can gain over a random pick at one budget, read off the reference set.

    python benchmarks/search_headroom.py --budgets flops=2.5M flops=1M      # prints the table

`search_accuracy.py` asks a search to beat a random feasible blueprint by >= 1.5 points of trained
top-1. Whether any signal can, at a given budget, is a property of the space and of the signal that
the reference set already measures: its blueprints in the budget's band (the MACs gas proposes at:
[band, 1] of the budget) were drawn the way the `random` baseline draws, and each was trained with
the reference recipe. For each way of choosing, the bootstrap resamples those blueprints, lets the
signal pick its best, and records the pick's trained top-1 minus the resample's mean (the expected
top-1 of a random pick). The oracle (the trained top-1 itself) is the headroom: no signal gains
more among these blueprints. The signals are those a search has: zero-cost proxies on one seeded batch
of the reference's data (what `search_accuracy.py`'s searches score: they run with `--data`), params and MACs, the reference's own early epochs
(`curve@E`, a stand-in for the cascade's short training), and the learned predictor and rank
ensemble out of sample (their grouped cross-validation in `predictor.json`).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # benchmarks/ is not a package: its scripts import each other by name

from ground_truth import JSONL as REFERENCE_JSONL
from ground_truth import SPACE_OPTIONS

CURVE_EPOCHS = (1, 2, 10)
MIN_BLUEPRINTS = 10  # fewer: one lucky or unlucky blueprint decides the headroom (flops=1M has 6)
OUT_OF_SAMPLE = {"predictor (out of sample)": "predictor", "rank ensemble (out of sample)": "ensemble"}


def pick_gain(scores: np.ndarray, targets: np.ndarray, resamples: int = 2000, seed: int = 0) -> dict[str, float]:
    """Top-1 points a signal's pick gains over a random pick, with a bootstrap 95% interval over the blueprints."""
    rng = np.random.default_rng(seed)
    gains = np.empty(resamples)
    for r in range(resamples):
        index = rng.integers(0, len(targets), len(targets))
        gains[r] = targets[index][np.argmax(scores[index])] - targets[index].mean()
    low, high = np.quantile(gains, [0.025, 0.975])
    whole = targets[np.argmax(scores)] - targets.mean()
    return {"points": 100 * float(gains.mean()), "low": 100 * float(low), "high": 100 * float(high),
            "whole_set": 100 * float(whole)}


@functools.cache  # every budget's headroom reads the same reference set
def reference_signals(reference: Path, results: Path) -> tuple[list[str], np.ndarray, dict[str, np.ndarray], Any]:
    """Sorted arch_ids, their mean trained top-1, every signal per blueprint, and their blueprints."""
    import gas
    from evaluators.jsonl import read_jsonl
    from evaluators.predictor.reference import FEATURES_FILE, REFERENCE_DATA
    from evaluators.reference_calibration import load_reference

    entries = {e.blueprint.arch_id: e for e in load_reference(reference, gas.get_space("hiera", **SPACE_OPTIONS))}
    ids = sorted(entries)
    targets = np.array([entries[a].target for a in ids])
    features = {record["arch_id"]: record["signals"]
                for record in read_jsonl(results / FEATURES_FILE, "the predictor's feature cache",
                                         "`python benchmarks/predictor.py --features` measures it")
                if record["data"] == REFERENCE_DATA}
    signals = {name: np.array([features[a][name] for a in ids], dtype=float) for name in features[ids[0]]}
    for epochs in CURVE_EPOCHS:
        signals[f"curve@{epochs}"] = np.array([entries[a].curve[epochs - 1] for a in ids])
    signals.update(_out_of_sample(results / "predictor.json", targets))
    return ids, targets, signals, {a: entries[a].blueprint for a in ids}


def _out_of_sample(path: Path, targets: np.ndarray) -> dict[str, np.ndarray]:
    """The learned signals' cross-validated predictions (proxies on the data batch), checked to be in `targets`' order."""
    from evaluators.predictor.reference import REFERENCE_DATA

    if not path.is_file():
        return {}
    batch = json.loads(path.read_text())["hiera"]["batches"][REFERENCE_DATA]
    chosen = {}
    for label, key in OUT_OF_SAMPLE.items():
        entry = batch.get(key, {})
        if "predicted" in entry and np.allclose(entry["truth"], targets):
            chosen[label] = np.array(entry["predicted"])
    return chosen


def headroom(budget: str, reference: Path = REFERENCE_JSONL, results: Path = HERE / "results") -> dict[str, Any]:
    """Per way of choosing, its pick gain among the reference blueprints in `budget`'s band."""
    import gas
    from gas.config import SearchConfig
    from gas_kernel.budget import Budgets, parse_budgets

    ids, targets, signals, blueprints = reference_signals(reference, results)
    space, budgets, band = gas.get_space("hiera", **SPACE_OPTIONS), Budgets(parse_budgets([budget])), SearchConfig().band
    inside = np.array([band <= budgets.usage(space.cost(blueprints[a])) <= 1.0 for a in ids])
    result: dict[str, Any] = {"budget": budget, "band": band, "blueprints": int(inside.sum())}
    if inside.sum() < MIN_BLUEPRINTS:
        result["note"] = f"only {int(inside.sum())} reference blueprints lie in the band (the headroom needs {MIN_BLUEPRINTS})"
        return result
    chosen = targets[inside]
    result["top1_range"] = [100 * float(chosen.min()), 100 * float(chosen.max())]
    result["oracle"] = pick_gain(chosen, chosen)
    result["signals"] = {name: pick_gain(values[inside], chosen) for name, values in signals.items()}
    return result


def markdown(section: dict[str, Any], standalone: bool = True) -> list[str]:
    """The headroom table of one budget, best way of choosing first (nothing when the band holds too few
    blueprints and the caller has said so already: `standalone=False`)."""
    if "note" in section:
        return [f"Headroom: {section['note']}.", ""] if standalone else []
    rows = sorted(section["signals"].items(), key=lambda item: -item[1]["points"])
    table = [["oracle (the trained top-1 itself)", *_cells(section["oracle"])]]
    table += [[name, *_cells(gain)] for name, gain in rows]
    low, high = section["top1_range"]
    return [(f"Headroom: the {section['blueprints']} reference blueprints in this budget's band (trained top-1 "
            f"{low:.2f} - {high:.2f} %); points a way of choosing gains over a random pick among them "
            "(`python benchmarks/search_headroom.py`)."), "",
            tabulate(table, ["way of choosing", "gain (points) [95% CI]", "its pick among all of them"],
                     tablefmt="github"), ""]


def _cells(gain: dict[str, float]) -> list[str]:
    return [f"{gain['points']:+.2f} [{gain['low']:+.2f}, {gain['high']:+.2f}]", f"{gain['whole_set']:+.2f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", nargs="+", default=["flops=2.5M", "flops=1M"])
    parser.add_argument("--reference", type=Path, default=REFERENCE_JSONL)
    parser.add_argument("--results", type=Path, default=HERE / "results", help="holds the features and predictor.json")
    args = parser.parse_args()
    for budget in args.budgets:
        print(f"## {budget}\n")
        print("\n".join(markdown(headroom(budget, args.reference, args.results))))


if __name__ == "__main__":
    main()
