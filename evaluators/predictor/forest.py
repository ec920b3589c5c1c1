"""The learned accuracy predictor: a random forest over feature rows, mean and per-tree spread.

Why a random forest (scikit-learn's `RandomForestRegressor`):
* it is invariant to any monotone rescaling of a feature, so proxies spanning nine decades (synflow)
  and ratios near 1 need no hand-made transforms, and a proxy computed on other data keeps its order;
* with tens to a few hundred trained networks, bagging over deep trees overfits far less than
  boosting, which needs tuning (learning rate, rounds) that such small tables cannot support;
* its trees are independent bootstrap fits, so their spread is a ready uncertainty (larger where
  the trees disagree, i.e. away from the trained candidates), with no second model to fit;
* LightGBM would bring a native dependency for speed no table here needs (fit < 1 s).
The development comparison (benchmarks/results/predictor.md, AutoFormer table) measured the
alternatives out of sample.

`update(rows, targets)` adds trained candidates and refits on everything seen: the search-time
refit of the cheap-first cascade (see the README, "Learned accuracy predictor").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from gas_kernel.errors import GasError

__all__ = ["AccuracyPredictor"]

MIN_ROWS = 4  # a forest on fewer trained networks predicts nothing worth ranking by


class AccuracyPredictor:
    """Predicts val top-1 from feature rows (`{name: float}`; a missing name reads 0, NaN the median)."""

    def __init__(self, *, trees: int = 300, min_leaf: int = 2, max_features: float = 0.5, seed: int = 0):
        self.trees, self.min_leaf, self.max_features, self.seed = trees, min_leaf, max_features, seed
        self.columns: list[str] = []
        self._rows: list[Mapping[str, float]] = []
        self._targets: list[float] = []
        self._medians: np.ndarray | None = None
        self._forest = None

    @property
    def fitted(self) -> bool:
        return self._forest is not None

    @property
    def size(self) -> int:
        """How many trained networks (rows) the current fit learned from."""
        return len(self._rows)

    def fit(self, rows: Sequence[Mapping[str, float]], targets: Sequence[float]) -> AccuracyPredictor:
        """Fit on `rows` and their val top-1 `targets` (replacing any earlier fit); returns self."""
        from sklearn.ensemble import RandomForestRegressor

        if len(rows) != len(targets):
            raise ValueError(f"{len(rows)} feature rows but {len(targets)} targets")
        if len(rows) < MIN_ROWS or not all(math.isfinite(t) for t in targets):
            raise GasError(f"the accuracy predictor needs at least {MIN_ROWS} trained networks with finite "
                           f"accuracy to fit, got {len(rows)}")
        self._rows, self._targets = list(rows), [float(t) for t in targets]
        self.columns = sorted({name for row in rows for name in row})
        matrix = self._raw_matrix(self._rows)  # [rows, columns]
        with np.errstate(all="ignore"):
            medians = np.nanmedian(matrix, axis=0)  # [columns]; an all-NaN column gives NaN
        self._medians = np.nan_to_num(medians, nan=0.0)
        forest = RandomForestRegressor(n_estimators=self.trees, min_samples_leaf=self.min_leaf,
                                       max_features=self.max_features, random_state=self.seed, n_jobs=1)
        self._forest = forest.fit(self._filled(matrix), np.asarray(self._targets))
        return self

    def update(self, rows: Sequence[Mapping[str, float]], targets: Sequence[float]) -> AccuracyPredictor:
        """Add trained candidates to what the predictor has learned from and refit on all of it."""
        return self.fit(self._rows + list(rows), self._targets + [float(t) for t in targets])

    def predict(self, rows: Sequence[Mapping[str, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Predicted val top-1 of each row and its uncertainty (std over the trees), two arrays [rows]."""
        if self._forest is None:
            raise GasError("the accuracy predictor is not fitted: call fit(rows, targets) first")
        matrix = self._filled(self._raw_matrix(rows))  # [rows, columns]; unseen names are dropped
        per_tree = np.stack([tree.predict(matrix) for tree in self._forest.estimators_])  # [trees, rows]
        return per_tree.mean(axis=0), per_tree.std(axis=0)

    def importances(self) -> dict[str, float]:
        """Impurity importance of every feature, largest first (what the forest ranks by)."""
        if self._forest is None:
            return {}
        pairs = sorted(zip(self.columns, self._forest.feature_importances_), key=lambda p: -p[1])
        return {name: float(value) for name, value in pairs}

    def _raw_matrix(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """[rows, columns] floats: 0 where a row lacks a column (an absent stage), NaN kept."""
        return np.array([[float(row.get(name, 0.0)) for name in self.columns] for row in rows], dtype=float).reshape(
            len(rows), len(self.columns))  # [rows, columns] even for zero rows

    def _filled(self, matrix: np.ndarray) -> np.ndarray:
        """NaN (a failed signal) replaced by the column's training median."""
        return np.where(np.isnan(matrix), self._medians, matrix)  # [rows, columns]
