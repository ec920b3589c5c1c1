"""Hard budgets of a search: parsing `flops=1G`, `params=8M`, `latency=20ms`, `throughput=500/s`, `top1=0.85`.

Two kinds of budget exist. Analytic ones (flops, params) are priced by `space.cost` in microseconds,
so the generator checks them before a model is ever built and never sends an over-budget proposal
for evaluation. Measured ones (latency at batch 1, throughput) are only known after an evaluator
ran on the evaluating device; a candidate over such a budget is recorded as infeasible afterwards.
`top1` is a lower bound on the candidate's estimated val top-1 (a fraction, `0.85` or `85%`): the
accuracy evaluator says which of its metrics estimates it (`val_top1` of `--proxy train`), and the
search passes that key in (`Budgets(limits, top1_metric=...)`); it is checked like latency.

`flops` counts MACs (1 MAC = 1 flop, the convention of fvcore and timm's tables).
Every violation is expressed as a relative excess (`value / limit - 1` for upper limits), the
constraint value Optuna's samplers use (feasible when <= 0).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from gas_kernel.cost import Cost
from gas_kernel.errors import GasError

__all__ = ["ANALYTIC_METRICS", "BUDGET_METRICS", "Budgets", "PricedSpace", "format_budget", "parse_budgets"]

SI_SUFFIXES = {"": 1.0, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
TIME_SUFFIXES = {"s": 1e3, "ms": 1.0, "us": 1e-3}  # to milliseconds
# budget name -> (metric key in a trial's metrics, upper limit?, unit kind)
BUDGET_METRICS = {
    "flops": ("macs", True, "si"),
    "params": ("params", True, "si"),
    "latency": ("latency_ms", True, "time"),
    "throughput": ("throughput_per_s", False, "rate"),
    "top1": ("top1", False, "fraction"),  # the key is the accuracy evaluator's estimate, see Budgets
}
ANALYTIC_METRICS = ("flops", "params")
_NUMBER = r"((?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)"


def parse_budgets(specs: Iterable[str] | Mapping[str, float | str] | None) -> dict[str, float]:
    """`["flops=1G", "params=8M,latency=20ms"]` or a mapping -> `{"flops": 1e9, ...}` (latency in ms)."""
    if specs is None:
        return {}
    items = specs.items() if isinstance(specs, Mapping) else _split_specs(specs)
    budgets: dict[str, float] = {}
    for name, value in items:
        name = name.strip().lower()
        if name not in BUDGET_METRICS:
            raise GasError(f"unknown budget {name!r}; use one of {', '.join(BUDGET_METRICS)} (e.g. flops=1G)")
        if name in budgets:
            raise GasError(f"budget {name!r} given twice")
        budgets[name] = _parse_value(name, value)
    return budgets


def _split_specs(specs: Iterable[str]) -> list[tuple[str, str]]:
    """`["flops=1G,params=8M"]` -> [("flops", "1G"), ("params", "8M")]; an empty spec is an error
    (`--budget ""` from an unset shell variable must not turn into an unconstrained search)."""
    pairs = []
    for spec in specs:
        if not spec.replace(",", "").strip():
            raise GasError(f"empty budget {spec!r}: write NAME=VALUE, e.g. flops=1G (leave --budget out for no budget)")
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, sep, value = part.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise GasError(f"malformed budget {part!r}: write NAME=VALUE, e.g. flops=1G or latency=20ms")
            pairs.append((name, value.strip()))
    return pairs


def _parse_value(name: str, value: float | str) -> float:
    """A positive finite number from `1G`, `8M`, `20ms`, `500/s` or a plain number."""
    kind = BUDGET_METRICS[name][2]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        number = _parse_text(name, str(value).strip(), kind)
    if not math.isfinite(number) or number <= 0:
        raise GasError(f"budget {name}={value} must be a positive finite number")
    if kind == "fraction" and number > 1:
        raise GasError(f"budget {name}={value} is a top-1 accuracy: a fraction in (0, 1], e.g. 0.85 or 85%")
    return number


def _parse_text(name: str, text: str, kind: str) -> float:
    if kind == "fraction":
        match = re.fullmatch(_NUMBER + r"\s*(%?)", text)
        hint, scale = "a fraction such as 0.85 or 85%", lambda m: 0.01 if m.group(2) else 1.0
    elif kind == "time":
        match = re.fullmatch(_NUMBER + r"\s*(ms|us|s)", text)
        hint, scale = "a time such as 20ms, 500us or 0.02s", lambda m: TIME_SUFFIXES[m.group(2)]
    elif kind == "rate":
        match = re.fullmatch(_NUMBER + r"\s*([KMGT]?)(?:\s*/\s*s)?", text, flags=re.IGNORECASE)
        hint, scale = "images per second such as 500/s or 1K/s", lambda m: SI_SUFFIXES[m.group(2).upper()]
    else:
        match = re.fullmatch(_NUMBER + r"\s*([KMGT]?)", text, flags=re.IGNORECASE)
        hint, scale = "a count such as 1G, 8M, 500K or 2.5e9", lambda m: SI_SUFFIXES[m.group(2).upper()]
    if not match:
        raise GasError(f"malformed budget value {name}={text!r}: expected {hint}")
    return float(match.group(1)) * scale(match)


def format_budget(name: str, limit: float) -> str:
    """`flops` 1e9 -> '1G'; latency 20 -> '20ms'; throughput 500 -> '500/s'."""
    kind = BUDGET_METRICS[name][2]
    if kind == "time":
        return f"{limit:g}ms"
    if kind == "fraction":
        return f"{limit:g}"
    for suffix in ("T", "G", "M", "K"):
        if limit >= SI_SUFFIXES[suffix]:
            text = f"{limit / SI_SUFFIXES[suffix]:g}{suffix}"
            return text + "/s" if kind == "rate" else text
    return f"{limit:g}" + ("/s" if kind == "rate" else "")


class PricedSpace(Protocol):
    """What a budget check needs of a search space (every `SearchSpace` is one)."""

    name: str

    def min_cost(self) -> Cost | None: ...


@dataclass(frozen=True)
class Budgets:
    """The hard limits of one search, with the checks the generator and the trials need."""

    limits: Mapping[str, float]
    top1_metric: str = "top1"  # the metric that estimates val top-1 (the accuracy evaluator's, e.g. val_top1)

    @property
    def analytic(self) -> dict[str, float]:
        return {k: v for k, v in self.limits.items() if k in ANALYTIC_METRICS}

    @property
    def measured(self) -> dict[str, float]:
        return {k: v for k, v in self.limits.items() if k not in ANALYTIC_METRICS}

    def check_reachable(self, space: PricedSpace) -> None:
        """GasError if an analytic budget is below the smallest blueprint the space can make."""
        smallest = space.min_cost()
        if smallest is None:
            return
        for name, limit in self.analytic.items():
            floor = _cost_value(smallest, name)
            if limit < floor:
                raise GasError(
                    f"budget {name}={format_budget(name, limit)} is impossible: the smallest "
                    f"{space.name} blueprint needs {name}={format_budget(name, floor)}"
                )

    def usage(self, cost: Cost) -> float:
        """Largest used fraction over the analytic budgets (1.0 = exactly at the tightest limit)."""
        fractions = [_cost_value(cost, name) / limit for name, limit in self.analytic.items()]
        return max(fractions, default=0.0)

    def analytic_violations(self, cost: Cost) -> dict[str, float]:
        """Relative excess per analytic budget (<= 0 means within budget)."""
        return {name: _cost_value(cost, name) / limit - 1.0 for name, limit in self.analytic.items()}

    def measured_violations(self, metrics: Mapping[str, float]) -> dict[str, float]:
        """Relative excess per measured budget whose metric is present in `metrics`."""
        violations = {}
        for name, limit in self.measured.items():
            key, upper, _ = BUDGET_METRICS[name]
            key = self.top1_metric if name == "top1" else key
            if key in metrics:
                value = float(metrics[key])
                violations[name] = value / limit - 1.0 if upper else 1.0 - value / limit
        return violations

    def describe(self) -> str:
        return ", ".join(f"{k}={format_budget(k, v)}" for k, v in self.limits.items()) or "none"


def _cost_value(cost: Cost, name: str) -> float:
    return float(cost.macs if name == "flops" else cost.params)
