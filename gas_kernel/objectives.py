"""What a search optimises: an accuracy proxy (up), optionally with a cost (latency, MACs, params) down.

`--objective proxy` is single-objective; `--objective proxy,macs` or `proxy,latency` keeps a Pareto
set. Each objective names the metric key a trial reports and the Optuna direction it points to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gas_kernel.errors import GasError

__all__ = ["OBJECTIVE_NAMES", "Objectives", "parse_objectives"]

# objective -> (metric key, maximise?); "proxy" is resolved to the proxy evaluator's main metric
COST_OBJECTIVES = {"macs": ("macs", False), "params": ("params", False), "latency": ("latency_ms", False)}
OBJECTIVE_NAMES = ("proxy", *COST_OBJECTIVES)


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
        return ["maximize" if self._maximise(n) else "minimize" for n in self.names]

    @property
    def trades_analytic_cost(self) -> bool:
        """True when MACs or params is itself an objective, so small models are wanted too."""
        return "macs" in self.names or "params" in self.names

    @property
    def needs_latency(self) -> bool:
        return "latency" in self.names

    def values(self, metrics: Mapping[str, float]) -> list[float]:
        """The objective values of a trial's metrics, in order; KeyError names a missing metric."""
        missing = [k for k in self.keys if k not in metrics]
        if missing:
            raise KeyError(f"trial metrics lack {', '.join(missing)}")
        return [float(metrics[k]) for k in self.keys]

    def _maximise(self, name: str) -> bool:
        return self.proxy_higher_is_better if name == "proxy" else COST_OBJECTIVES[name][1]
