"""A predictor with almost nothing to fit: the mean rank of the few signals that rank best.

With twenty or thirty trained networks a forest over sixty columns has too little to learn from (its
out-of-sample tau trailed the single signals on the first Hiera reference blueprints). Zero-cost
proxies each rank networks with their own blind spots, and averaging a few of their ranks is a
known remedy that needs no weights: `fit` only chooses which signals (the `k` with the highest
Kendall tau against the trained accuracy), so it is judged out of sample like any predictor.

Prediction: each chosen signal places the candidate at its percentile among the trained networks;
the mean percentile is mapped through the trained accuracies' quantiles to a val top-1 (monotone,
so it ranks exactly as the mean percentile does), and the signals' disagreement (their percentiles'
spread, mapped the same way) is its uncertainty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from evaluators.predictor.features import SIGNAL_PREFIX
from evaluators.predictor.forest import MIN_ROWS
from evaluators.ranking import kendall_tau_b
from gas_kernel.errors import GasError

__all__ = ["RankEnsemble"]


class RankEnsemble:
    """Mean percentile of the `k` `signal.*` columns that rank the training networks best."""

    def __init__(self, k: int = 3):
        if k < 1:
            raise GasError(f"a rank ensemble needs at least one signal, got k={k}")
        self.k = k
        self.chosen: dict[str, float] = {}  # signal column -> its training tau, best first
        self._sorted: dict[str, np.ndarray] = {}  # signal column -> its finite training values, sorted
        self._targets = np.empty(0)

    @property
    def fitted(self) -> bool:
        return bool(self.chosen)

    def fit(self, rows: Sequence[Mapping[str, float]], targets: Sequence[float]) -> RankEnsemble:
        """Choose the `k` signals with the highest tau on `rows` (ties: by name); returns self."""
        if len(rows) != len(targets):
            raise ValueError(f"{len(rows)} feature rows but {len(targets)} targets")
        if len(rows) < MIN_ROWS:
            raise GasError(f"a rank ensemble needs at least {MIN_ROWS} trained networks, got {len(rows)}")
        y = np.asarray(targets, dtype=float)  # [rows]
        taus = {name: _tau(_column(rows, name), y) for name in sorted({n for row in rows for n in row})
                if name.startswith(SIGNAL_PREFIX)}
        ranked = sorted((name for name in taus if math.isfinite(taus[name])), key=lambda n: -taus[n])
        if not ranked:
            raise GasError("a rank ensemble needs signal.* columns that vary with the accuracy; none do")
        positive = [name for name in ranked if taus[name] > 0] or ranked[:1]
        self.chosen = {name: taus[name] for name in positive[: self.k]}
        self._sorted = {name: np.sort(_finite(_column(rows, name))) for name in self.chosen}
        self._targets = np.sort(y)
        return self

    def predict(self, rows: Sequence[Mapping[str, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Predicted val top-1 of each row and its uncertainty, two arrays [rows]."""
        if not self.fitted:
            raise GasError("the rank ensemble is not fitted: call fit(rows, targets) first")
        percentiles = np.stack([self._percentile(name, _column(rows, name)) for name in self.chosen])  # [k, rows]
        mean, spread = percentiles.mean(axis=0), percentiles.std(axis=0)  # [rows], [rows]
        low, high = self._accuracy(np.clip(mean - spread, 0, 1)), self._accuracy(np.clip(mean + spread, 0, 1))
        return self._accuracy(mean), (high - low) / 2

    def _percentile(self, name: str, values: np.ndarray) -> np.ndarray:
        """Where each value falls among the training values, in [0, 1] (ties: the middle; NaN: 0.5)."""
        train = self._sorted[name]
        below = np.searchsorted(train, values, side="left")
        not_above = np.searchsorted(train, values, side="right")
        placed = (below + not_above) / (2 * len(train))  # [rows]
        return np.where(np.isnan(values), 0.5, placed)

    def _accuracy(self, percentile: np.ndarray) -> np.ndarray:
        """The trained accuracy at that percentile (linear between the sorted training accuracies)."""
        return np.quantile(self._targets, percentile)


def _column(rows: Sequence[Mapping[str, float]], name: str) -> np.ndarray:
    """[rows] values of one column, NaN where a row lacks it."""
    return np.array([float(row.get(name, math.nan)) for row in rows], dtype=float)


def _finite(values: np.ndarray) -> np.ndarray:
    return values[np.isfinite(values)]


def _tau(values: np.ndarray, targets: np.ndarray) -> float:
    """Kendall tau over the rows where the signal is finite; NaN when it is constant or too sparse."""
    kept = np.isfinite(values)
    if kept.sum() < MIN_ROWS:
        return math.nan
    return float(kendall_tau_b(values[kept], targets[kept]))  # NaN for a constant signal
