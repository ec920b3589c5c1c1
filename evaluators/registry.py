"""The evaluator registry: `@register_evaluator`, `get_evaluator(name)`, `list_evaluators(tier)`."""

from __future__ import annotations

from evaluators.base import Evaluator, Tier
from gas_kernel.errors import GasError

__all__ = ["get_evaluator", "list_evaluators", "register_evaluator"]

_REGISTRY: dict[str, Evaluator] = {}


def register_evaluator(evaluator: type[Evaluator] | Evaluator) -> type[Evaluator] | Evaluator:
    """Register an Evaluator class (usable as a decorator) or instance under its `name`."""
    instance = evaluator() if isinstance(evaluator, type) else evaluator
    if not instance.name:
        raise ValueError(f"{evaluator!r} has no name; set the class attribute `name`")
    _REGISTRY[instance.name] = instance
    return evaluator


def get_evaluator(name: str) -> Evaluator:
    """The registered evaluator called `name`; GasError listing the known names otherwise."""
    if name not in _REGISTRY:
        raise GasError(f"unknown evaluator {name!r}; known evaluators: {', '.join(list_evaluators())}")
    return _REGISTRY[name]


def list_evaluators(tier: Tier | None = None) -> list[str]:
    """Evaluator names, cheapest tier first (then by name); only `tier` when given."""
    chosen = [e for e in _REGISTRY.values() if tier is None or e.tier == tier]
    return [e.name for e in sorted(chosen, key=lambda e: (e.tier, e.name))]
