"""A latency model per device: forward time from a blueprint's analytic cost features.

A latency budget can only be checked by building a candidate and timing it. The measurements a
search takes anyway teach this model what a millisecond costs on the device at hand, so the
generator can skip proposals that are clearly over the budget without building them (the measured
latency stays the judge of everything that is built).

The model is physical, not a black box: latency = sum_k w_k * feature_k + w_0 with every w >= 0,
features such as linear-layer MACs, attention MACs, elements moved by the non-GEMM steps, attention
problems and blocks (per-op overhead) that a space computes without building (`SearchSpace.
cost_features`). Non-negative least squares (`scipy.optimize.nnls`) on relative residuals fits it:
a handful of measurements pin down a few rates, each weight stays a cost (no cancelling terms that
extrapolate badly, as a tree ensemble or an unconstrained fit would), and the fit minimises the
percentage error that a budget check cares about. Its own error is measured out of sample
(leave-one-out), so it is honest while it has few points and tightens as the search measures more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy.optimize import nnls

from gas_kernel.errors import GasError

__all__ = ["LatencyModel"]


class LatencyModel:
    """Fits latency_ms ~ features with non-negative rates; predicts with a held-out error bound.

    `add` measurements (any order, any number). Point predictions (`predict`) come once there are
    `predict_after` of them: non-negative least squares picks a few rates from a handful of points
    and already ranks widths well (held-out median error ~10% from 5 timings of 1G-MAC hiera
    proposals here, ~5% from 8). `ready` (the model's own `error`, the `quantile` of its
    leave-one-out absolute relative error, is trustworthy) comes once there are a few more points
    than rates.
    """

    def __init__(self, *, quantile: float = 0.9, extra_points: int = 3, predict_after: int = 5):
        if not 0 < quantile <= 1:
            raise GasError(f"latency model quantile must be in (0, 1], got {quantile}")
        self.quantile = quantile
        self.extra_points = extra_points
        self.predict_after = predict_after
        self._names: tuple[str, ...] | None = None
        self._rows: list[list[float]] = []
        self._targets: list[float] = []
        self._weights: np.ndarray | None = None  # rates incl. the intercept, on every point so far
        self._loo_errors: np.ndarray | None = None  # [n] |leave-one-out prediction / measured - 1|

    # ---- data ---------------------------------------------------------------------------------
    def add(self, features: Mapping[str, float], latency_ms: float) -> None:
        """One measurement; non-finite or non-positive latencies are ignored (a failed timing)."""
        if not (math.isfinite(latency_ms) and latency_ms > 0):
            return
        self._rows.append(self._row(features, learn=True))
        self._targets.append(float(latency_ms))
        self._weights = self._loo_errors = None

    def __len__(self) -> int:
        return len(self._targets)

    @property
    def can_predict(self) -> bool:
        """Enough measurements for a point prediction (what steers a proposal's width)."""
        return len(self) >= max(1, self.predict_after)

    @property
    def ready(self) -> bool:
        """Enough measurements to fit every rate and still hold some out: `error` can be trusted
        (what skipping a proposal unbuilt needs)."""
        return self._names is not None and len(self) >= len(self._names) + 1 + self.extra_points

    # ---- predictions --------------------------------------------------------------------------
    def predict(self, features: Mapping[str, float]) -> float:
        """Predicted latency in ms (the fit on every measurement so far)."""
        if not self.can_predict:
            raise GasError(f"latency model predicts after {self.predict_after} measurements, has {len(self)}")
        if self._weights is None:
            self._weights = _relative_nnls(np.asarray(self._rows), np.asarray(self._targets))  # [features + 1]
        return float(np.dot(self._row(features), self._weights))

    @property
    def error(self) -> float:
        """Out-of-sample relative error: the `quantile` of |loo prediction / measured - 1|."""
        return self.error_at(self.quantile)

    def error_at(self, quantile: float) -> float:
        """The `quantile` of the leave-one-out absolute relative errors (0.5: the typical miss)."""
        if not self.ready:
            raise GasError(f"latency model needs {len(self._names or ()) + 1 + self.extra_points} measurements "
                           f"for its error, has {len(self)}")
        if self._loo_errors is None:
            X, y = np.asarray(self._rows), np.asarray(self._targets)  # [n, features + 1], [n]
            loo = np.array([_relative_nnls(np.delete(X, i, 0), np.delete(y, i)) @ X[i] for i in range(len(y))])
            self._loo_errors = np.abs(loo / y - 1.0)
        return float(np.quantile(self._loo_errors, quantile))

    def excess(self, predicted_ms: float, limit_ms: float) -> float:
        """How far a prediction (`predict`) is over `limit_ms` beyond the model's own error, as a
        fraction of the limit (> 0: confidently over budget; <= 0: could be within it, so measure it)."""
        return predicted_ms / (limit_ms * (1.0 + self.error)) - 1.0

    # ---- fitting ------------------------------------------------------------------------------
    def _row(self, features: Mapping[str, float], *, learn: bool = False) -> list[float]:
        """The feature vector in a fixed order, plus the constant (per-call overhead) term."""
        names = tuple(sorted(features))
        if self._names is None and learn:
            self._names = names
        if names != self._names:
            raise GasError(f"latency model features {list(names)} differ from the fitted {list(self._names or ())}")
        return [float(features[name]) for name in names] + [1.0]


def _relative_nnls(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative w minimising sum((X w / y - 1)^2): least squares in relative error.

    Columns are scaled to unit maximum first (MACs ~1e9 beside block counts ~10), which leaves the
    solution unchanged but keeps the solver well conditioned.
    """
    relative = X / y[:, None]  # [n, k]: each row divided by its own latency
    scale = np.abs(relative).max(axis=0)
    scale[scale == 0] = 1.0
    weights, _ = nnls(relative / scale, np.ones(len(y)))
    return weights / scale
