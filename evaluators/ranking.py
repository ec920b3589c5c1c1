"""Rank agreement of an accuracy signal with the truth: Kendall tau and its bootstrap 95% interval.

One implementation for every report that judges a signal (the reference set's seed-to-seed ceiling,
the learned predictor's out-of-sample tau, each proxy's tau), so their intervals are comparable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["kendall_with_interval"]


def kendall_with_interval(x: Sequence[float], y: Sequence[float], resamples: int = 2000,
                          seed: int = 0) -> dict[str, float]:
    """Kendall tau of paired samples and its percentile-bootstrap 95% interval (scipy).

    Fewer than 4 pairs give the tau with a NaN interval: a bootstrap of 3 points says nothing.
    """
    from scipy.stats import bootstrap, kendalltau

    tau = float(kendalltau(x, y).statistic)
    if len(x) < 4:
        return {"tau": tau, "low": float("nan"), "high": float("nan"), "n": len(x)}
    interval = bootstrap((np.asarray(x), np.asarray(y)), lambda a, b: kendalltau(a, b).statistic, paired=True,
                         vectorized=False, n_resamples=resamples, method="percentile",
                         random_state=np.random.default_rng(seed)).confidence_interval
    return {"tau": tau, "low": float(interval.low), "high": float(interval.high), "n": len(x)}
