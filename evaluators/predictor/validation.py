"""Judging the predictor only out of sample: grouped k-fold cross-validation and Kendall tau.

Every row is predicted by a predictor that never saw its group (its blueprint: repeats of one
architecture with other seeds never straddle folds, or the predictor would be scored on networks it
has memorised). Predictions of a group's rows are averaged, as are its targets, and the tau between
the two over groups, with its bootstrap 95% interval, is the predictor's out-of-sample figure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from evaluators.predictor.forest import AccuracyPredictor
from evaluators.ranking import kendall_with_interval
from gas_kernel.errors import GasError

__all__ = ["OutOfSample", "Regressor", "cross_validate", "grouped_folds", "per_group"]


class Regressor(Protocol):
    """What cross-validation needs of a predictor: AccuracyPredictor, or any regressor adapted to it."""

    def fit(self, rows: Sequence[Mapping[str, float]], targets: Sequence[float]) -> Regressor: ...

    def predict(self, rows: Sequence[Mapping[str, float]]) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class OutOfSample:
    """Out-of-sample predictions of every row, and the per-group tau that judges them."""

    mean: np.ndarray  # [rows] predicted val top-1
    std: np.ndarray  # [rows] its per-tree spread
    folds: int
    tau: dict[str, float]  # kendall_with_interval over groups: tau, low, high, n


def grouped_folds(groups: Sequence[str], folds: int, seed: int = 0) -> list[np.ndarray]:
    """Row indices of each of `folds` test folds; the groups are shuffled (seeded) and dealt round-robin.

    A group's rows always share one fold, so fold sizes follow the groups, not the rows.
    """
    unique = sorted(set(groups))
    if not 2 <= folds <= len(unique):
        raise GasError(f"grouped cross-validation needs 2..{len(unique)} folds for {len(unique)} groups, got {folds}")
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of = {unique[g]: position % folds for position, g in enumerate(order)}
    labels = np.array([fold_of[g] for g in groups])
    return [np.flatnonzero(labels == fold) for fold in range(folds)]


def cross_validate(rows: Sequence[Mapping[str, float]], targets: Sequence[float], groups: Sequence[str], *,
                   folds: int = 5, seed: int = 0, resamples: int = 2000,
                   make: Callable[[], Regressor] = AccuracyPredictor) -> OutOfSample:
    """Out-of-sample predictions by grouped k-fold (`make()` gives a fresh, unfitted regressor per
    fold), and their per-group tau with a `resamples`-fold bootstrap interval."""
    if not len(rows) == len(targets) == len(groups):
        raise ValueError(f"{len(rows)} rows, {len(targets)} targets and {len(groups)} groups must match")
    mean, std = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    for test in grouped_folds(groups, folds, seed):
        train = np.setdiff1d(np.arange(len(rows)), test)
        predictor = make().fit([rows[i] for i in train], [targets[i] for i in train])
        mean[test], std[test] = predictor.predict([rows[i] for i in test])
    predicted, truth = per_group(mean, groups), per_group(np.asarray(targets, dtype=float), groups)
    keys = sorted(truth)
    tau = kendall_with_interval([predicted[k] for k in keys], [truth[k] for k in keys], resamples, seed)
    return OutOfSample(mean, std, folds, tau)


def per_group(values: Sequence[float] | np.ndarray, groups: Sequence[str]) -> dict[str, float]:
    """The mean of `values` over each group's rows."""
    collected: dict[str, list[float]] = {}
    for value, group in zip(values, groups):
        collected.setdefault(group, []).append(float(value))
    return {group: float(np.mean(items)) for group, items in collected.items()}
