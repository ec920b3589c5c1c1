"""Calibration: how well does each zero-cost proxy rank blueprints by short-training accuracy?

Samples K small blueprints of a space at the data's image size, scores each untrained model with
every proxy (on one seeded batch of real training images), trains it briefly, and reports Kendall tau
and Spearman rho of every proxy against validation top-1, next to the params and MACs baselines a
proxy must beat. Writes calibration.json, calibration.md and PNG plots to the output folder.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from evaluators.base import EvaluationError
from evaluators.data import ImageData, load_data, random_batch
from evaluators.machine import describe_machine
from evaluators.proxies import BASELINES, list_proxies, proxy_score
from evaluators.threads import thread_count
from evaluators.training import build_model, train_and_evaluate
from gas_kernel.blueprint import Blueprint
from gas_kernel.errors import GasError

__all__ = ["CalibrationConfig", "correlations", "run_calibration", "sample_blueprints"]


@dataclass(frozen=True)
class CalibrationConfig:
    data: str
    space: str  # a registered space name, looked up by the caller's `get_space`
    archs: int = 30
    epochs: int = 3
    max_mmacs: float = 10.0  # analytic MACs cap (millions) that keeps CPU training short
    proxy_batch: int = 64
    time_limit_s: float | None = 300.0  # per-candidate safety cap; CPU contention must not cut training
    threads: int | None = None
    seed: int = 0
    out: str = "benchmarks/results"
    proxies: tuple[str, ...] = field(default_factory=lambda: tuple(list_proxies()))


def sample_blueprints(space: Any, count: int, max_macs: float, first_seed: int = 0) -> list[tuple[int, Blueprint]]:
    """`count` (seed, blueprint) pairs from `space.random(seed)`, skipping those over `max_macs`."""
    chosen, seed = [], first_seed
    while len(chosen) < count:
        if seed - first_seed > 1000 * count:
            raise GasError(f"found only {len(chosen)} blueprints under {max_macs / 1e6:g} MMACs; raise --max-mmacs")
        blueprint = space.random(seed)
        if space.cost(blueprint).macs <= max_macs:
            chosen.append((seed, blueprint))
        seed += 1
    return chosen


def evaluate_candidate(seed: int, blueprint: Blueprint, space: Any, data: ImageData, config: CalibrationConfig) -> dict:
    """Every proxy, then short-training top-1, of one blueprint (proxies see the init that is trained)."""
    cost = space.cost(blueprint)
    record: dict[str, Any] = {
        "seed": seed, "arch_id": blueprint.arch_id, "blueprint": blueprint.describe(),
        "params": cost.params, "macs": cost.macs, "proxies": {}, "proxy_s": {}, "errors": {},
    }
    model = build_model(space, blueprint, seed)
    inputs, targets = random_batch(data, config.proxy_batch, config.seed)
    for name in config.proxies:
        start = time.perf_counter()
        try:
            record["proxies"][name] = proxy_score(name, model, inputs, targets, seed=config.seed)
        except EvaluationError as error:
            record["errors"][name] = error.reason
        record["proxy_s"][name] = time.perf_counter() - start
    try:
        result = train_and_evaluate(model, data, epochs=config.epochs, time_limit_s=config.time_limit_s, seed=seed)
        record.update(val_top1=result.val_top1, epochs=result.epochs, train_s=result.train_s, history=result.history)
    except EvaluationError as error:
        record.update(val_top1=None, errors={**record["errors"], "train": error.reason})
    return record


def correlations(records: list[dict], proxies: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Kendall tau and Spearman rho of each proxy against val top-1 (candidates with both values)."""
    from scipy import stats

    table = {}
    for name in proxies:
        pairs = [(r["proxies"][name], r["val_top1"]) for r in records
                 if name in r["proxies"] and r.get("val_top1") is not None]
        if len(pairs) < 3:
            table[name] = {"kendall_tau": math.nan, "spearman_rho": math.nan, "n": len(pairs)}
            continue
        scores, accuracy = zip(*pairs)
        tau = stats.kendalltau(scores, accuracy).statistic
        rho = stats.spearmanr(scores, accuracy).statistic
        table[name] = {"kendall_tau": float(tau), "spearman_rho": float(rho), "n": len(pairs)}
    return table


def best_proxy(table: dict[str, dict[str, float]]) -> str:
    """The non-baseline proxy with the highest Kendall tau."""
    candidates = {k: v["kendall_tau"] for k, v in table.items() if k not in BASELINES and not math.isnan(v["kendall_tau"])}
    if not candidates:
        raise GasError("no proxy could be correlated; every candidate failed")
    return max(candidates, key=candidates.get)


def run_calibration(config: CalibrationConfig, get_space: Callable[..., Any]) -> dict:
    """Sample, score, train, correlate, and write the report files; returns the JSON summary.

    `get_space(name, img_size=..., num_classes=...)` is the space registry's lookup, passed in
    by the caller: evaluators never import the spaces.
    """
    data = load_data(config.data)
    space = get_space(config.space, img_size=data.img_size, num_classes=data.num_classes, in_chans=data.in_chans)
    candidates = sample_blueprints(space, config.archs, config.max_mmacs * 1e6, config.seed)
    records, start = [], time.perf_counter()
    with thread_count(config.threads) as threads, _progress() as progress:
        task = progress.add_task("calibrating", total=len(candidates), status="")
        for seed, blueprint in candidates:
            record = evaluate_candidate(seed, blueprint, space, data, config)
            records.append(record)
            progress.console.log(f"{record['arch_id']} {record['blueprint']}: top-1 {record.get('val_top1')}")
            progress.update(task, advance=1, status=f"last top-1 {record.get('val_top1') or float('nan'):.3f}")
    table = correlations(records, config.proxies)
    summary = {
        "config": {k: v for k, v in asdict(config).items()},
        "data": {"root": data.root, "train": len(data.train_y), "val": len(data.val_y),
                 "img_size": data.img_size, "classes": data.num_classes},
        "machine": {**describe_machine(), "threads": threads},
        "wall_s": time.perf_counter() - start,
        "correlations": table,
        "best_proxy": best_proxy(table),
        "candidates": records,
    }
    from evaluators.calibration_report import write_report

    write_report(summary, Path(config.out))
    return summary


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("{task.fields[status]}"),
    )
