"""What a search optimises: an accuracy proxy (up), optionally with a cost (latency, MACs, params) down.

`--objective proxy` is single-objective; `--objective proxy,macs` or `proxy,latency` keeps a Pareto
set. Each objective names the metric key a trial reports and the Optuna direction it points to.

`Objectives` is the one place that knows which way a metric points and so which trial is "best":
the progress line, the run's views and plots, the search result and `gas export best` all ask it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from gas_kernel.errors import GasError

__all__ = ["OBJECTIVE_NAMES", "Objectives", "parse_objectives"]

# objective -> (metric key, maximise?); "proxy" is resolved to the proxy evaluator's main metric
COST_OBJECTIVES = {"macs": ("macs", False), "params": ("params", False), "latency": ("latency_ms", False)}
OBJECTIVE_NAMES = ("proxy", *COST_OBJECTIVES)
_COST_NAMES = {key: name for name, (key, _) in COST_OBJECTIVES.items()}  # metric key -> objective name
_DIRECTIONS = {"maximize": True, "max": True, "minimize": False, "min": False}

Item = TypeVar("Item")


def parse_objectives(spec: str | Sequence[str]) -> tuple[str, ...]:
    """`"proxy,macs"` or `["proxy", "macs"]` -> `("proxy", "macs")`, validated."""
    parts = spec.split(",") if isinstance(spec, str) else [p for s in spec for p in s.split(",")]
    names = tuple(p.strip().lower() for p in parts if p.strip())
    unknown = [n for n in names if n not in OBJECTIVE_NAMES]
    if not names or unknown:
        raise GasError(
            f"unknown objective {', '.join(unknown) or '(empty)'}; use proxy, optionally with "
            f"{', '.join(COST_OBJECTIVES)}, e.g. --objective proxy,macs"
        )
    if "proxy" not in names or len(set(names)) != len(names):
        raise GasError(f"objectives {','.join(names)} must include 'proxy' once, e.g. proxy or proxy,latency")
    return names


@dataclass(frozen=True)
class Objectives:
    """Objective names bound to metric keys and directions (`proxy_key` from the proxy evaluator)."""

    names: tuple[str, ...]
    proxy_key: str
    proxy_higher_is_better: bool = True

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.proxy_key if n == "proxy" else COST_OBJECTIVES[n][0] for n in self.names)

    @property
    def directions(self) -> list[str]:
        return ["maximize" if self.maximises(k) else "minimize" for k in self.keys]

    @property
    def trades_analytic_cost(self) -> bool:
        """True when MACs or params is itself an objective, so small models are wanted too."""
        return "macs" in self.names or "params" in self.names

    @property
    def needs_latency(self) -> bool:
        return "latency" in self.names

    @property
    def primary_key(self) -> str:
        """The metric "best" means unless told otherwise: the accuracy proxy (else the first objective)."""
        if not self.names:
            raise GasError("no objectives are known, so there is no best value")
        return self.proxy_key if "proxy" in self.names else self.keys[0]

    def maximises(self, key: str) -> bool:
        """Whether a larger value of metric `key` is better: the proxy's own direction; costs go down."""
        if "proxy" in self.names and key == self.proxy_key:
            return self.proxy_higher_is_better
        if key in _COST_NAMES:
            return COST_OBJECTIVES[_COST_NAMES[key]][1]
        raise GasError(f"no direction is known for metric {key!r}; the objectives are {', '.join(self.keys)}")

    def better(self, value: float, than: float | None, key: str | None = None) -> bool:
        """True when `value` of metric `key` (default: the primary) beats `than` (None: nothing yet)."""
        if than is None:
            return True
        return value > than if self.maximises(key or self.primary_key) else value < than

    def best(self, items: Iterable[Item], value: Callable[[Item], float], key: str | None = None) -> Item | None:
        """The item whose `value` is best for metric `key` (default: the primary); ties go to the earliest."""
        sign = 1.0 if self.maximises(key or self.primary_key) else -1.0
        return max(items, key=lambda item: sign * value(item), default=None)

    def running_best(self, values: Iterable[float], key: str | None = None) -> list[float]:
        """The best value so far after each of `values` (a history plot's "best so far" line)."""
        running: list[float] = []
        for value in values:
            running.append(value if not running or self.better(value, running[-1], key) else running[-1])
        return running

    def header(self) -> list[dict[str, str]]:
        """The objectives as pareto.json lists them: `{"name": <metric key>, "direction": ...}`."""
        return [{"name": k, "direction": d} for k, d in zip(self.keys, self.directions)]

    @classmethod
    def from_header(cls, items: Iterable[Any]) -> Objectives:
        """Objectives read back from pareto.json: `{"name", "direction"}` dicts, `"name:direction"`
        strings or plain names. A plain name is a cost when it is a cost metric (macs, params,
        latency_ms) and otherwise the accuracy proxy, which is maximised unless a direction says not."""
        names, proxy_key, proxy_up = [], "", True
        for key, maximise in (_header_item(item) for item in items):
            if key in _COST_NAMES and maximise is not True:
                names.append(_COST_NAMES[key])
            elif proxy_key:
                raise GasError(f"pareto.json lists two accuracy objectives ({proxy_key}, {key}); gas keeps one")
            else:
                names, proxy_key, proxy_up = [*names, "proxy"], key, maximise is not False
        return cls(tuple(names), proxy_key=proxy_key, proxy_higher_is_better=proxy_up)

    def values(self, metrics: Mapping[str, float]) -> list[float]:
        """The objective values of a trial's metrics, in order; KeyError names a missing metric."""
        missing = [k for k in self.keys if k not in metrics]
        if missing:
            raise KeyError(f"trial metrics lack {', '.join(missing)}")
        return [float(metrics[k]) for k in self.keys]


def _header_item(item: Any) -> tuple[str, bool | None]:
    """(metric key, maximise?) of one pareto.json objective; None when it states no direction."""
    if isinstance(item, Mapping) and "name" in item:
        name, direction = str(item["name"]), str(item.get("direction") or "")
    else:
        name, _, direction = str(item).partition(":")
    if direction and direction.lower() not in _DIRECTIONS:
        raise GasError(f"objective {name!r} has unknown direction {direction!r} in pareto.json")
    return name, _DIRECTIONS[direction.lower()] if direction else None
