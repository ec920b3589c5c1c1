"""Calibration against the trained reference set: which accuracy signal ranks trained models best?

`gas calibrate --reference benchmarks/results/ground_truth.jsonl` judges every cheap signal by how
well it orders the reference blueprints by their trained accuracy (the mean over the seeds each was
trained with, so the target is as quiet as the set allows):

* every zero-cost proxy, scored at initialisation (the reference seed's weights) on one seeded batch
  of the reference's own training data, and again on a seeded batch of noise (`<proxy> (noise)`),
  which is what a search without `--data` scores: the default search's signal is chosen there;
* the params and MACs baselines a proxy must beat;
* early-stopped training read off the reference's own curves (`curve@E`: val top-1 after E of the
  30 epochs, a free signal but one whose schedule did not end at E);
* short schedules (`short@E`, opt-in: `--short-schedules 1,2,3`): the same recipe with its cosine
  compressed into E epochs, which is what a search can afford to run.

Each gets Kendall's tau with a bootstrap 95% interval (`evaluators.ranking`), over the whole set and
within the band slice (candidates of nearly equal cost, what a search actually compares), and its
cost per candidate. The seed-to-seed tau is the ceiling row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evaluators.base import EvaluationError
from evaluators.data import load_data, noise_batch, random_batch
from evaluators.jsonl import read_jsonl
from evaluators.proxies import BASELINES, list_proxies, proxy_score
from evaluators.ranking import kendall_with_interval
from evaluators.recipes import get_recipe
from evaluators.threads import thread_count
from evaluators.training import build_model, train_and_evaluate
from gas_kernel.errors import GasError

__all__ = ["ReferenceCalibrationConfig", "ReferenceEntry", "calibrate_reference", "load_reference"]

CURVE_EPOCHS = (1, 2, 3, 5, 10)
NOISE_SUFFIX = " (noise)"  # a proxy scored on seeded noise, as a search without --data scores it


@dataclass(frozen=True)
class ReferenceCalibrationConfig:
    reference: str
    data: str | None = None  # default: the dataset the reference was trained on
    proxy_batch: int = 64
    seed: int = 0
    short_schedules: tuple[int, ...] = ()
    threads: int | None = None
    out: str = "benchmarks/results"


@dataclass(frozen=True)
class ReferenceEntry:
    """One reference blueprint: its trained accuracy (mean over seeds) and its first seed's curve."""

    blueprint: Any
    slice: str
    params: float
    macs: float
    target: float
    seeds: dict[int, float]
    curve: list[float]
    epoch_s: float
    record: dict[str, Any]


def load_reference(path: str | Path, space: Any) -> list[ReferenceEntry]:
    """The reference set in `path` (ground_truth.jsonl), one entry per blueprint of `space`, in file order."""
    records = read_jsonl(path, "reference set", "`python benchmarks/ground_truth.py` trains it")
    by_arch: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_arch.setdefault(record["arch_id"], []).append(record)
    entries = []
    for group in by_arch.values():
        first = min(group, key=lambda r: r["seed"])
        seeds = {r["seed"]: r["final_val_top1"] for r in group}
        entries.append(ReferenceEntry(
            space.parse(first["blueprint"]), first["slice"], first["params"], first["macs"],
            float(np.mean(list(seeds.values()))), seeds, first["val_top1"], float(np.mean(first["epoch_s"])), first))
    if len(entries) < 4:
        raise GasError(f"{path} holds {len(entries)} trained blueprints; rank correlations need at least 4")
    return entries


def calibrate_reference(config: ReferenceCalibrationConfig, space: Any) -> dict[str, Any]:
    """Score, correlate and write calibration_reference.{json,md,png}; returns the summary.

    `space` (the reference's search space, from the caller's registry lookup) parses and builds the
    blueprints: evaluators never import the spaces.
    """
    entries = load_reference(config.reference, space)
    data = load_data(config.data or entries[0].record["dataset"])
    scores, costs = {}, {}
    with thread_count(config.threads):
        for suffix, batch in (("", random_batch(data, config.proxy_batch, config.seed)),
                              (NOISE_SUFFIX, noise_batch(data.in_chans, data.img_size, data.num_classes,
                                                         config.proxy_batch, config.seed))):
            for name, (values, seconds) in _proxy_signals(space, entries, batch, config.seed).items():
                scores[name + suffix], costs[name + suffix] = values, seconds
        scores["params"], scores["macs"] = [e.params for e in entries], [e.macs for e in entries]
        costs["params"] = costs["macs"] = 0.0
        for epochs in CURVE_EPOCHS:
            if all(len(e.curve) >= epochs for e in entries):
                scores[f"curve@{epochs}"] = [e.curve[epochs - 1] for e in entries]
                costs[f"curve@{epochs}"] = float(np.mean([e.epoch_s * epochs for e in entries]))
        for epochs in config.short_schedules:
            scores[f"short@{epochs}"], costs[f"short@{epochs}"] = _short_schedule(space, entries, data, epochs)
    summary = {"reference": str(config.reference), "data": data.root, "blueprints": len(entries),
               "band_blueprints": sum(e.slice == "band" for e in entries),
               "target_range": [min(e.target for e in entries), max(e.target for e in entries)],
               "ceiling": _seed_ceiling(entries), "signals": _correlate(entries, scores, costs),
               "proxy_batch": config.proxy_batch, "seed": config.seed}
    from evaluators.reference_calibration_report import write_reference_report

    write_reference_report(summary, Path(config.out))
    return summary


def _proxy_signals(space: Any, entries: list[ReferenceEntry], batch: tuple[Any, Any], seed: int):
    """{proxy: (scores on `batch`, mean seconds per candidate)}; a failed score is NaN (left out of its tau)."""
    inputs, targets = batch
    result = {}
    for name in (p for p in list_proxies() if p not in BASELINES):
        values, seconds = [], []
        for entry in entries:
            model = build_model(space, entry.blueprint, entry.record["seed"])
            start = time.perf_counter()
            try:
                values.append(proxy_score(name, model, inputs, targets, seed=seed))
            except EvaluationError:
                values.append(float("nan"))
            seconds.append(time.perf_counter() - start)
        result[name] = (values, float(np.mean(seconds)))
    return result


def _short_schedule(space: Any, entries: list[ReferenceEntry], data: Any, epochs: int) -> tuple[list[float], float]:
    """val top-1 after a full recipe schedule of `epochs` epochs (same recipe, subset and seed)."""
    values, seconds = [], []
    for entry in entries:
        recipe = dict(entry.record["recipe"])
        config = get_recipe(recipe.pop("name"), **recipe)
        result = train_and_evaluate(entry.blueprint, data, space=space, epochs=epochs, seed=entry.record["seed"],
                                    config=config)
        values.append(result.val_top1)
        seconds.append(result.train_s)
    return values, float(np.mean(seconds))


def _correlate(entries: list[ReferenceEntry], scores: dict[str, list[float]], costs: dict[str, float]) -> dict:
    """Per signal: tau [CI] over all blueprints and within the band slice, and seconds per candidate."""
    band = [i for i, e in enumerate(entries) if e.slice == "band"]
    table = {}
    for name, values in scores.items():
        table[name] = {"all": _tau(values, [e.target for e in entries], range(len(entries))),
                       "band": _tau(values, [e.target for e in entries], band), "seconds": costs[name]}
    return table


def _tau(values: list[float], targets: list[float], index) -> dict[str, float]:
    pairs = [(values[i], targets[i]) for i in index if np.isfinite(values[i])]
    if len(pairs) < 4:
        return {"tau": float("nan"), "low": float("nan"), "high": float("nan"), "n": len(pairs)}
    x, y = zip(*pairs)
    return kendall_with_interval(list(x), list(y))


def _seed_ceiling(entries: list[ReferenceEntry]) -> dict[str, float]:
    """Kendall tau between the two seeds of the blueprints trained twice: no signal can beat it."""
    pairs = [(e.seeds[min(e.seeds)], e.seeds[max(e.seeds)]) for e in entries if len(e.seeds) > 1]
    if len(pairs) < 4:
        return {"tau": float("nan"), "low": float("nan"), "high": float("nan"), "n": len(pairs)}
    first, second = zip(*pairs)
    return kendall_with_interval(list(first), list(second))
