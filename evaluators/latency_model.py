"""A latency model per device: forward time from a blueprint's analytic cost features.

A latency budget can only be checked by building a candidate and timing it. The measurements a
search takes anyway teach this model what a millisecond costs on the device at hand, so the
generator can steer proposals under the budget, and skip those clearly over it, without building
them (the measured latency stays the judge of everything that is built).

The model is physical, not a black box, and has two fits of it, the simpler first:

* **one rate**: latency = r * MACs (the sum of the features named `macs` or `*_macs`), from the
  first timing on. One number is all a timing or two can pin down: on 1G-MAC hiera proposals here
  it misses by 12% (median) after one timing and 10% after five, where the full fit misses by 34%
  and 14% (benchmarks/results/latency_model.md, "The first predictions of a search").
* **every rate**: latency = sum_k w_k * feature_k + w_0 with every w >= 0, features such as
  linear-layer MACs, attention MACs, elements moved by the non-GEMM steps, attention problems and
  blocks (per-op overhead) that a space computes without building (`SearchSpace.cost_features`).
  Non-negative least squares (`scipy.optimize.nnls`) on relative residuals fits it: each weight
  stays a cost (no cancelling terms that extrapolate badly, as a tree ensemble or an
  unconstrained fit would), and the fit minimises the percentage error a budget check cares about.
  It needs more timings than it has rates, and then beats the one rate (5% against 10% median
  from 20 timings in the same report).

Both are judged out of sample (leave-one-out) on the timings so far, and predictions come from
the one with the smaller median miss: the switch happens when the data say so (after ~10 timings
on a quiet machine, later under load, where timing noise hides what the extra rates explain). The
model's own error is that leave-one-out error, so it is honest while it has few points and tightens
as the search measures more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy.optimize import nnls

from gas_kernel.errors import GasError

__all__ = ["LatencyModel"]

FITS = ("auto", "one_rate", "every_rate")  # auto: the one that misses less out of sample; the others to compare
MIN_ERROR_POINTS = 3  # the one rate's leave-one-out error needs a fit from 2 timings per held-out one


class LatencyModel:
    """Fits latency_ms ~ features with non-negative rates; predicts with a held-out error bound.

    `add` measurements (any order, any number). Point predictions (`predict`, what steers a
    proposal's width) come from the first one; its `error` (the `quantile` of the leave-one-out
    absolute relative error, the margin steering keeps) from `MIN_ERROR_POINTS`; `ready` (that error
    is trustworthy enough to skip a proposal unbuilt) once there are a few more points than the full
    fit has rates.
    """

    def __init__(self, *, quantile: float = 0.9, extra_points: int = 3, fit: str = "auto"):
        if not 0 < quantile <= 1:
            raise GasError(f"latency model quantile must be in (0, 1], got {quantile}")
        if fit not in FITS:
            raise GasError(f"latency model fit must be one of {', '.join(FITS)}, got {fit!r}")
        self.quantile = quantile
        self.fit = fit
        self.extra_points = extra_points
        self._names: tuple[str, ...] | None = None
        self._rows: list[list[float]] = []
        self._targets: list[float] = []
        self._fits: dict[bool, np.ndarray] = {}  # every_rate -> weights (incl. the intercept) on every point
        self._loo: dict[bool, np.ndarray] = {}  # every_rate -> [n] |leave-one-out prediction / measured - 1|

    # ---- data ---------------------------------------------------------------------------------
    def add(self, features: Mapping[str, float], latency_ms: float) -> None:
        """One measurement; non-finite or non-positive latencies are ignored (a failed timing)."""
        if not (math.isfinite(latency_ms) and latency_ms > 0):
            return
        self._rows.append(self._row(features, learn=True))
        self._targets.append(float(latency_ms))
        self._fits, self._loo = {}, {}

    def __len__(self) -> int:
        return len(self._targets)

    @property
    def can_predict(self) -> bool:
        """A point prediction is possible (from the first measurement: the one rate)."""
        return len(self) >= 1

    @property
    def knows_error(self) -> bool:
        """Enough measurements for a leave-one-out error (`error_at`)."""
        return len(self) >= MIN_ERROR_POINTS

    @property
    def ready(self) -> bool:
        """Enough measurements to fit every rate and still hold some out: `error` can be trusted
        to skip a proposal unbuilt."""
        return self._names is not None and len(self) >= len(self._names) + 1 + self.extra_points

    @property
    def uses_every_rate(self) -> bool:
        """Whether predictions come from the full fit (it has as many points as rates and misses
        less, out of sample, than the one rate), or whichever `fit` forces."""
        if self.fit != "auto":
            return self.fit == "every_rate"
        if len(self) < len(self._names or ()) + 1:
            return False
        return bool(np.median(self._loo_errors(True)) < np.median(self._loo_errors(False)))

    # ---- predictions --------------------------------------------------------------------------
    def predict(self, features: Mapping[str, float]) -> float:
        """Predicted latency in ms (the fit in use, on every measurement so far)."""
        if not self.can_predict:
            raise GasError("latency model predicts after its first measurement, has none")
        every_rate = self.uses_every_rate
        if every_rate not in self._fits:
            self._fits[every_rate] = self._weights_for(np.asarray(self._rows), np.asarray(self._targets), every_rate)
        return float(np.dot(self._row(features), self._fits[every_rate]))

    @property
    def error(self) -> float:
        """Out-of-sample relative error: the `quantile` of |loo prediction / measured - 1|."""
        return self.error_at(self.quantile)

    def error_at(self, quantile: float) -> float:
        """The `quantile` of the fit in use's leave-one-out absolute relative errors (0.5: the typical miss)."""
        if not self.knows_error:
            raise GasError(f"latency model needs {MIN_ERROR_POINTS} measurements for its error, has {len(self)}")
        return float(np.quantile(self._loo_errors(self.uses_every_rate), quantile))

    def excess(self, predicted_ms: float, limit_ms: float) -> float:
        """How far a prediction (`predict`) is over `limit_ms` beyond the model's own error, as a
        fraction of the limit (> 0: confidently over budget; <= 0: could be within it, so measure it)."""
        return predicted_ms / (limit_ms * (1.0 + self.error)) - 1.0

    # ---- fitting ------------------------------------------------------------------------------
    def _row(self, features: Mapping[str, float], *, learn: bool = False) -> list[float]:
        """The feature vector in a fixed order, plus the constant (per-call overhead) term."""
        names = tuple(sorted(features))
        if self._names is None and learn:
            if not any(_is_macs(name) for name in names):
                raise GasError(f"latency model features {list(names)} have no MACs term (`macs` or `*_macs`)")
            self._names = names
        if names != self._names:
            raise GasError(f"latency model features {list(names)} differ from the fitted {list(self._names or ())}")
        return [float(features[name]) for name in names] + [1.0]

    def _weights_for(self, X: np.ndarray, y: np.ndarray, every_rate: bool) -> np.ndarray:
        """Weights over a row ([features + 1]): every rate, or one rate shared by the MACs columns."""
        if every_rate:
            return _relative_nnls(X, y)
        macs = np.array([float(_is_macs(name)) for name in self._names or ()] + [0.0])  # [features + 1]
        return _relative_nnls((X @ macs)[:, None], y)[0] * macs  # X @ macs: [n] MACs per point

    def _loo_errors(self, every_rate: bool) -> np.ndarray:
        if every_rate not in self._loo:
            X, y = np.asarray(self._rows), np.asarray(self._targets)  # [n, features + 1], [n]
            loo = [self._weights_for(np.delete(X, i, 0), np.delete(y, i), every_rate) @ X[i] for i in range(len(y))]
            self._loo[every_rate] = np.abs(np.asarray(loo) / y - 1.0)
        return self._loo[every_rate]


def _is_macs(name: str) -> bool:
    return name == "macs" or name.endswith("_macs")


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
