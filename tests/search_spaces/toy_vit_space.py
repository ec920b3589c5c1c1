"""The tests' second search space, `toy_vit`: a plain one-stage ViT, registered from test code only.

It exists to prove the space interface: the search, the evaluators and `gas export` handle it
without a line of `gas/` knowing it. Importing this module registers it (as a plug-in would).
"""

from __future__ import annotations

import sys
from typing import Any

import toy_vit_model
from pydantic import Field, model_validator
from torch import nn

from gas_kernel.blueprint import Blueprint
from gas_kernel.cost import Cost
from search_spaces import ModelCode, SearchSpace, register_space

LAYER_NORM_MACS_PER_ELEMENT = 5  # fvcore's count, as in the hiera cost model


class ToyViTBlueprint(Blueprint):
    """`depth` blocks of width `dim` on `patch_size` x `patch_size` patches."""

    patch_size: int = Field(default=8, ge=1, le=32)
    dim: int = Field(default=32, ge=8, le=512)
    depth: int = Field(default=1, ge=1, le=8)
    heads: int = Field(default=2, ge=1, le=16)

    @model_validator(mode="after")
    def _check_shapes(self) -> ToyViTBlueprint:
        if self.img_size % self.patch_size:
            raise ValueError(f"img_size={self.img_size} must be a multiple of patch_size={self.patch_size}")
        if self.dim % self.heads:
            raise ValueError(f"heads={self.heads} must divide dim={self.dim}")
        return self

    def model_kwargs(self) -> dict[str, Any]:
        return self.model_dump()

    def describe(self) -> str:
        return f"{self.img_size}px p{self.patch_size}: {self.depth}x{self.dim}/{self.heads}h"


@register_space("toy_vit")
class ToyViTSpace(SearchSpace):
    """Plain ViTs for `img_size` x `img_size` inputs with `num_classes` outputs."""

    blueprint_type = ToyViTBlueprint
    model_code = ModelCode(
        module="toy_vit_model",
        constructor="ToyViT",
        title="a plain one-stage vision transformer",
        short_title="a plain ViT",
        about="A plain vision transformer with one stage, the second search space of the gas tests.",
    )

    def __init__(self, img_size: int = 32, num_classes: int = 10, in_chans: int = 3):
        self.shape = {"img_size": img_size, "num_classes": num_classes, "in_chans": in_chans}

    def sample(self, trial: Any) -> ToyViTBlueprint:
        return ToyViTBlueprint(
            patch_size=trial.suggest_categorical("patch_size", (4, 8)),
            dim=trial.suggest_int("dim", 16, 64, step=16),
            depth=trial.suggest_int("depth", 1, 2),
            heads=trial.suggest_categorical("heads", (1, 2)),
            **self.shape,
        )

    def build(self, blueprint: ToyViTBlueprint) -> nn.Module:
        """`model_code`'s class, taken from the module object: on the test's Ray workers this
        module arrives by value (see `ship_by_value`), and `toy_vit_model` is no importable name."""
        return toy_vit_model.ToyViT(**blueprint.model_kwargs()).eval()

    def cost(self, blueprint: ToyViTBlueprint) -> Cost:
        tokens, dim = (blueprint.img_size // blueprint.patch_size) ** 2, blueprint.dim
        patch_weights = blueprint.in_chans * blueprint.patch_size**2 * dim
        params = patch_weights + dim + tokens * dim + 2 * dim + dim * blueprint.num_classes + blueprint.num_classes
        macs = tokens * patch_weights + LAYER_NORM_MACS_PER_ELEMENT * dim + dim * blueprint.num_classes
        block_params = 2 * 2 * dim + (3 * dim * dim + 3 * dim) + (dim * dim + dim) + (8 * dim * dim + 5 * dim)
        block_macs = 2 * LAYER_NORM_MACS_PER_ELEMENT * tokens * dim + 12 * tokens * dim * dim + 2 * tokens**2 * dim
        return Cost(params=params + blueprint.depth * block_params, macs=macs + blueprint.depth * block_macs)

    def preset_names(self) -> list[str]:
        return ["toy_vit_tiny"]

    def preset(self, name: str) -> ToyViTBlueprint:
        if name != "toy_vit_tiny":
            raise KeyError(f"unknown preset {name!r}; known presets: toy_vit_tiny")
        return ToyViTBlueprint(patch_size=8, dim=32, depth=1, heads=2, **self.shape)


def ship_by_value() -> None:
    """Send this space and its model to Ray workers by value: tests/ is not on the workers' path."""
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.cloudpickle.register_pickle_by_value(toy_vit_model)
