"""Pareto frontier of points where lower x is better and y is better lower or higher.

Dominance is Optuna's (`Study.best_trials`, the definition the search's Pareto sets use too), so
gas has one notion of a front: the points go into an in-memory study as finished trials.
"""

from __future__ import annotations

from collections.abc import Sequence

import optuna

__all__ = ["pareto_mask"]


def pareto_mask(xs: Sequence[float], ys: Sequence[float], *, maximize_y: bool = False) -> list[bool]:
    """True for each point no other point dominates (x no larger and y no worse, one strictly better)."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys must have the same length")
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "study created" line for a throwaway study
    try:
        study = optuna.create_study(directions=["minimize", "maximize" if maximize_y else "minimize"])
    finally:
        optuna.logging.set_verbosity(verbosity)
    study.add_trials([optuna.trial.create_trial(values=[float(x), float(y)]) for x, y in zip(xs, ys)])
    front = {trial.number for trial in study.best_trials}
    return [index in front for index in range(len(xs))]
