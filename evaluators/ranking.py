"""Rank agreement with an interval: how well a signal orders candidates, and how sure we are of it.

Every accuracy signal gas reports is judged by Kendall's tau against trained accuracy, with a
percentile-bootstrap 95% interval (scipy's `kendalltau` and `bootstrap`, resampling candidates in
pairs), because on a few dozen candidates a tau of 0.3 and one of 0.5 are often not different.
The bootstrap runs scipy's resampling over a vectorised tau-b (all resamples at once, O(R n^2)
numpy), the same statistic `kendalltau` computes, which it matches exactly (a test checks it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["kendall_tau_b", "kendall_with_interval"]


def kendall_tau_b(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Kendall's tau-b along `axis` of equally shaped arrays (ties handled as scipy does)."""
    x, y = np.moveaxis(np.asarray(x, float), axis, -1), np.moveaxis(np.asarray(y, float), axis, -1)
    sx = np.sign(x[..., :, None] - x[..., None, :])  # [..., n, n] pairwise order of x
    sy = np.sign(y[..., :, None] - y[..., None, :])  # [..., n, n]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sx * sy).sum((-2, -1)) / np.sqrt((sx * sx).sum((-2, -1)) * (sy * sy).sum((-2, -1)))


def kendall_with_interval(x: Sequence[float], y: Sequence[float], resamples: int = 2000,
                          seed: int = 0) -> dict[str, float]:
    """{tau, low, high, n}: Kendall tau-b of paired samples and its bootstrap 95% interval (NaN under 4 pairs)."""
    from scipy.stats import bootstrap, kendalltau

    tau = float(kendalltau(x, y).statistic)
    if len(x) < 4:
        return {"tau": tau, "low": float("nan"), "high": float("nan"), "n": len(x)}
    interval = bootstrap((np.asarray(x, dtype=float), np.asarray(y, dtype=float)), kendall_tau_b, paired=True,
                         vectorized=True, n_resamples=resamples, method="percentile",
                         random_state=np.random.default_rng(seed)).confidence_interval
    return {"tau": tau, "low": float(interval.low), "high": float(interval.high), "n": len(x)}
