"""What every search space provides, and the small helpers spaces share.

A space turns Optuna trials into blueprints (define-by-run, NNI-style labelled dimensions), builds
them, prices them analytically, and says what an export copies. It owns everything it knows: its
blueprint type, its model code, its presets. The search and the exports only talk to this
interface, so a new space is a new subpackage registered with `@register_space`, and `gas/` does
not change.
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import optuna
from torch import nn

from gas_kernel.blueprint import Blueprint
from gas_kernel.cost import Cost
from search_spaces.model_code import ModelCode

__all__ = ["RandomTrial", "SearchSpace"]


class RandomTrial:
    """Answers Optuna's `suggest_*` calls uniformly at random, without a study.

    Lets `space.random(seed)` reuse the exact define-by-run code that Optuna drives, at a fraction
    of the cost of creating a study per sample.
    """

    def __init__(self, seed: int | None = None):
        self._rng = np.random.default_rng(seed)
        self.params: dict[str, Any] = {}

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        value = low + step * int(self._rng.integers(0, (high - low) // step + 1))
        self.params[name] = value
        return value

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False) -> float:
        value = float(self._rng.uniform(low, high))
        self.params[name] = value
        return value

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        value = choices[int(self._rng.integers(0, len(choices)))]
        self.params[name] = value
        return value


class SearchSpace(abc.ABC):
    """A family of blueprints with its sampler, builder, analytic cost model and model code.

    Subclasses set `blueprint_type` (their subclass of the kernel's `Blueprint`) and `model_code`
    (the module and class of their one model implementation); `register_space` checks both. Their
    constructors take the options `img_size` and `num_classes` (`gas search --img-size`, presets
    exported at a size) with defaults, so `get_space(name)` alone gives a usable space.
    """

    name: str = ""
    blueprint_type: ClassVar[type[Blueprint]]
    model_code: ClassVar[ModelCode]

    @abc.abstractmethod
    def sample(self, trial: optuna.Trial | RandomTrial) -> Blueprint:
        """Draw a valid blueprint through the trial's `suggest_*` calls (define-by-run)."""

    def build(self, blueprint: Blueprint) -> nn.Module:
        """The model the blueprint describes, in eval mode.

        It is `model_code`'s class, the very code an export copies, so the evaluated model and the
        exported file are one implementation.
        """
        module = importlib.import_module(self.model_code.module)
        return getattr(module, self.model_code.constructor)(**blueprint.model_kwargs()).eval()

    def parse(self, data: Blueprint | Mapping[str, Any] | str | bytes) -> Blueprint:
        """The space's blueprint from its JSON text or dict, as runs and exports store it.

        Blueprints of another type or with unknown fields raise a ValidationError naming the field.
        """
        if isinstance(data, self.blueprint_type):
            return data
        if isinstance(data, (str, bytes)):
            return self.blueprint_type.model_validate_json(data)
        if isinstance(data, Blueprint):
            data = data.model_dump()
        return self.blueprint_type.model_validate(data)

    @abc.abstractmethod
    def cost(self, blueprint: Blueprint) -> Cost:
        """Exact params and MACs without building anything."""

    def cost_features(self, blueprint: Blueprint) -> dict[str, float]:
        """Analytic features of the blueprint's forward time, per image, without building it.

        A learned latency model (`evaluators.latency_model`) fits non-negative rates to them, so
        each should be a quantity whose time adds up: MACs by operator kind, elements moved, ops.
        MACs terms are named `macs` or `*_macs`: their sum is what the model's first guess (one
        rate, from a single timing) scales. This default knows only the totals; spaces that can
        say more override it.
        """
        cost = self.cost(blueprint)
        return {"macs": float(cost.macs), "params": float(cost.params)}

    @abc.abstractmethod
    def preset_names(self) -> list[str]:
        """Names accepted by `preset`."""

    @abc.abstractmethod
    def preset(self, name: str) -> Blueprint:
        """A named reference blueprint; KeyError listing the known names otherwise."""

    def width_choices(self) -> Sequence[int] | None:
        """Width scales accepted by `with_width`, smallest first; None if the space has no width knob.

        The generator uses them to place a sampled structure inside a budget band instead of
        letting the width wander far below (wasted budget) or above (infeasible) the budget.
        """
        return None

    def sample_structure(self, trial: optuna.Trial | RandomTrial) -> Any:
        """Everything but the width scale; spaces with `width_choices` must override it."""
        raise NotImplementedError(f"space {self.name!r} does not separate structure from width")

    def with_width(self, structure: Any, width: int) -> Blueprint:
        """The blueprint of `structure` at width scale `width`; see `sample_structure`."""
        raise NotImplementedError(f"space {self.name!r} does not separate structure from width")

    def min_cost(self) -> Cost | None:
        """Lower bounds of params and MACs over the whole space (each minimised separately).

        Budgets below these cannot be met by any blueprint, so a search fails before any work.
        None means the space cannot tell; budgets are then only checked per proposal.
        """
        return None

    def random(self, seed: int | None = None) -> Blueprint:
        """A valid blueprint drawn uniformly over the space's dimensions."""
        return self.sample(RandomTrial(seed))

    def freeze(self, params: dict[str, Any]) -> Blueprint:
        """The blueprint a finished trial's `{label: value}` params describe."""
        return self.sample(optuna.trial.FixedTrial(params))
