"""Is a ranking stable across runs? Kendall's tau between two runs' per-model figures, and the
resolution at which the two rankings agree.

Two models a few percent apart swap places between runs on any real machine, so "the same ranking"
is reported both strictly (every pair in the same order) and with its resolution: the largest gap,
within a run, between two models the runs order differently. Every pair further apart than that
is ordered the same way in both runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

from scipy import stats

__all__ = ["compare_runs", "kendall_tau", "ranking_resolution"]


def kendall_tau(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Kendall's tau (scipy's tau-b) over the models both mappings share (1.0 = identical order,
    -1.0 = reversed); 1.0 when fewer than two models are shared, so there is no order to disagree on."""
    names = sorted(set(a) & set(b))
    if len(names) < 2:
        return 1.0
    return float(stats.kendalltau([a[n] for n in names], [b[n] for n in names]).statistic)


def ranking_resolution(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """The largest relative gap (in either run) between two models the runs put in opposite order;
    0.0 when the rankings are identical. Rankings agree on every pair further apart than this."""
    names = sorted(set(a) & set(b))
    widest = 0.0
    for x, y in combinations(names, 2):
        if (a[x] - a[y]) * (b[x] - b[y]) < 0:
            widest = max(widest, _gap(a[x], a[y]), _gap(b[x], b[y]))
    return widest


def _gap(x: float, y: float) -> float:
    return abs(x - y) / min(x, y)


def compare_runs(a: Mapping[str, float], b: Mapping[str, float]) -> dict:
    """Tau, whether the order is identical, its resolution, and each model's relative spread between runs."""
    names = sorted(set(a) & set(b))
    spread = {name: _gap(a[name], b[name]) for name in names}
    return {
        "kendall_tau": kendall_tau(a, b),
        "identical_ranking": sorted(names, key=a.__getitem__) == sorted(names, key=b.__getitem__),
        "ranking_resolution": ranking_resolution(a, b),
        "order_run1": sorted(names, key=a.__getitem__),
        "order_run2": sorted(names, key=b.__getitem__),
        "relative_spread": spread,
        "max_relative_spread": max(spread.values(), default=0.0),
    }
