"""Picking one blueprint from a run's Pareto set: the rules behind `gas export best --pick RULE`.

Rules (ties go to the lower trial number, so a pick is deterministic):

    proxy     best accuracy proxy, in the direction the run recorded (default; a run without a
              proxy objective: its first objective)
    latency   lowest `latency_ms`
    macs      fewest MACs (`flops` is an alias); params: fewest parameters
    knee      the knee of the 2-D front of the first two objectives: after normalising both to
              [0, 1] (0 = best), the point farthest from the line through the two extremes
    #12, 12   trial number 12, which must be in the Pareto set

Every rule first drops entries that break a budget of the run (the search only keeps feasible
trials, so this is a safety net for measured budgets such as latency).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from gas.runs import ParetoEntry
from gas_kernel.budget import BUDGET_METRICS, parse_budgets
from gas_kernel.errors import GasError
from gas_kernel.objectives import Objectives

__all__ = ["RULES", "pick_entry"]

RULES = ("proxy", "latency", "macs", "flops", "params", "knee")


def pick_entry(entries: Sequence[ParetoEntry], header: dict[str, Any], rule: str = "proxy") -> ParetoEntry:
    """The Pareto entry `rule` selects among those within the run's budgets.

    Directions come from the run's objectives (`Objectives.from_header`): the proxy points the way
    pareto.json says, and every cost metric is minimised.
    """
    rule = str(rule).strip().lower()
    number = _trial_number(rule)
    if number is not None:
        return _by_number(entries, number)
    if rule not in RULES:
        raise GasError(
            f"unknown pick rule {rule!r}; use one of {', '.join(RULES)} or a trial number like #12"
        )
    feasible = sorted(_within_budgets(entries, header.get("budgets") or {}), key=_number)
    if not feasible:
        raise GasError("no Pareto trial of this run is within its budgets; rerun with looser budgets")
    objectives = Objectives.from_header(header.get("objectives") or [])
    if rule == "knee":
        return _knee(feasible, objectives)
    if rule == "proxy" and not objectives.names:
        raise GasError("pareto.json lists no objectives; use --pick latency, macs or a trial number")
    key = objectives.primary_key if rule == "proxy" else {"latency": "latency_ms", "flops": "macs"}.get(rule, rule)
    return _best(feasible, objectives, key)


# ---- rules ------------------------------------------------------------------------------------
def _trial_number(rule: str) -> int | None:
    text = rule.removeprefix("#")
    return int(text) if text.isdigit() else None


def _by_number(entries: Sequence[ParetoEntry], number: int) -> ParetoEntry:
    for entry in entries:
        if entry["number"] == number:
            return entry
    known = ", ".join(f"#{entry['number']}" for entry in sorted(entries, key=_number)) or "none"
    raise GasError(f"trial #{number} is not in the Pareto set (Pareto trials: {known})")


def _best(entries: Sequence[ParetoEntry], objectives: Objectives, key: str) -> ParetoEntry:
    """The entry best in metric `key` (entries in trial order, so ties go to the lower number)."""
    best = objectives.best(entries, lambda entry: _metric(entry, key), key)
    if best is None:
        raise GasError("the run's Pareto set is empty")
    return best


def _knee(entries: Sequence[ParetoEntry], objectives: Objectives) -> ParetoEntry:
    """Farthest point from the chord between the extremes of the normalised 2-D front."""
    if len(objectives.keys) < 2:
        raise GasError("--pick knee needs a run with at least two objectives; use --pick proxy")
    first, second = (_normalised(entries, objectives, key) for key in objectives.keys[:2])
    points = list(zip(first, second))
    (ax, ay), (bx, by) = min(points), min(points, key=lambda p: (p[1], p[0]))
    length = math.hypot(bx - ax, by - ay)

    def distance(i: int) -> float:
        x, y = points[i]
        return abs((bx - ax) * (ay - y) - (ax - x) * (by - ay)) / length if length else 0.0

    # farthest from the chord; ties (a degenerate front) go to the best first objective
    best = min(
        range(len(entries)), key=lambda i: (-round(distance(i), 12), points[i][0], _number(entries[i]))
    )
    return entries[best]


def _normalised(entries: Sequence[ParetoEntry], objectives: Objectives, key: str) -> list[float]:
    """Values of objective `key` scaled to [0, 1] with 0 the best, so both axes weigh alike."""
    values = [_metric(entry, key) for entry in entries]
    values = [-v for v in values] if objectives.maximises(key) else values
    low, high = min(values), max(values)
    return [(v - low) / (high - low) if high > low else 0.0 for v in values]


# ---- metrics and budgets ------------------------------------------------------------------------
def _metric(entry: ParetoEntry, key: str) -> float:
    """A numeric metric of an entry; params and macs fall back to the analytic cost."""
    value = entry.metrics.get(key)
    if value is None and key in ("params", "macs"):
        cost = entry.cost
        value = cost.params if key == "params" else cost.macs
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GasError(f"Pareto trial #{entry['number']} has no numeric metric {key!r}; pick another rule")
    return float(value)


def _within_budgets(entries: Sequence[ParetoEntry], budgets: dict[str, Any]) -> list[ParetoEntry]:
    return [entry for entry in entries if entry.metrics.get("feasible", True) and _fits(entry, budgets)]


def _fits(entry: ParetoEntry, budgets: dict[str, Any]) -> bool:
    for name, limit in _numeric_budgets(budgets).items():
        key, upper, _ = BUDGET_METRICS[name]
        if key not in entry.metrics and key not in ("params", "macs"):
            continue  # not measured for this entry: the search enforced what it could
        value = _metric(entry, key)
        if (value > limit) if upper else (value < limit):
            return False
    return True


def _numeric_budgets(budgets: dict[str, Any]) -> dict[str, float]:
    """Budgets as numbers (`"1G"` -> 1e9, `"20ms"` -> 20.0); unknown or malformed ones are skipped."""
    limits = {}
    for name, value in budgets.items():
        try:
            limits.update(parse_budgets({name: value}))
        except GasError:
            continue
    return limits


def _number(entry: ParetoEntry) -> int:
    return int(entry["number"])
