"""Is a ranking stable across runs? Kendall's tau between two runs' per-model figures."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

__all__ = ["compare_runs", "kendall_tau"]


def kendall_tau(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Kendall's tau-a over the models both mappings share (1.0 = identical order, -1.0 = reversed)."""
    names = sorted(set(a) & set(b))
    pairs = list(combinations(names, 2))
    if not pairs:
        return 1.0
    score = 0
    for x, y in pairs:
        product = (a[x] - a[y]) * (b[x] - b[y])
        score += (product > 0) - (product < 0)
    return score / len(pairs)


def compare_runs(a: Mapping[str, float], b: Mapping[str, float]) -> dict:
    """Tau, whether the order is identical, and the relative spread of each model between runs."""
    names = sorted(set(a) & set(b))
    spread = {name: abs(a[name] - b[name]) / min(a[name], b[name]) for name in names}
    return {
        "kendall_tau": kendall_tau(a, b),
        "identical_ranking": sorted(names, key=a.__getitem__) == sorted(names, key=b.__getitem__),
        "order_run1": sorted(names, key=a.__getitem__),
        "order_run2": sorted(names, key=b.__getitem__),
        "relative_spread": spread,
        "max_relative_spread": max(spread.values(), default=0.0),
    }
