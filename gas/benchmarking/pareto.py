"""Pareto frontier of points where lower x is better and y is better lower or higher."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["pareto_mask"]


def pareto_mask(xs: Sequence[float], ys: Sequence[float], *, maximize_y: bool = False) -> list[bool]:
    """True for each point no other point dominates (x no larger and y no worse, one strictly better)."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys must have the same length")
    sign = -1.0 if maximize_y else 1.0
    points = [(float(x), sign * float(y)) for x, y in zip(xs, ys)]
    return [not any(_dominates(other, point) for other in points) for point in points]


def _dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[0] and a[1] <= b[1] and a != b
