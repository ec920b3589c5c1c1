"""The `hiera` search space: its dimensions, sampler, blueprint type, model code and presets.

Dimensions (Optuna labels; those that depend on the stage count carry it, e.g. `q_pool_4st`, so
every label always has the same choices, as Optuna's samplers require):

    num_stages                      2 .. 5
    patch_stride_{S}st              strides whose token grid unrolls S-1 times at img_size
    q_pool_{S}st                    1 .. S-1 pooled stage transitions
    mask_unit_levels_{S}st          mask unit side = q_stride ** levels, 1 .. S-1
    head_dim                        16, 32, 48, 64 channels per head
    depth_s{i}                      blocks per stage; stage 2 (the third) may be deep
    dim_mul_s{i}                    width multiplier from stage i-1 to i: 1, 1.5, 2, 2.5
    mlp_ratio_s{i}                  2, 3, 4
    mask_unit_attn_s{i}             mask unit or global attention (asked only where a mask unit
                                    still holds more than one token, otherwise global)
    embed_dim                       32 .. 192 step 16: the width scale, sampled last

Every sample is valid by construction: the conditional choices above encode the geometry rules that
`HieraBlueprint` enforces, so no proposal is wasted on an invalid network.
"""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

from gas_kernel.cost import Cost
from gas_kernel.errors import GasError
from search_spaces import register_space
from search_spaces.base import SearchSpace
from search_spaces.hiera import presets
from search_spaces.hiera.blueprint import HieraBlueprint, StageSpec
from search_spaces.hiera.cost import hiera_cost, hiera_cost_features
from search_spaces.model_code import ModelCode

PATCH_STRIDES = (2, 4, 8)
HEAD_DIMS = (16, 32, 48, 64)
DIM_MULS = (1.0, 1.5, 2.0, 2.5)
MLP_RATIOS = (2.0, 3.0, 4.0)
DEPTH_RANGES = ((1, 3), (1, 4), (1, 16), (1, 4), (1, 4))  # by stage index
EMBED_DIM_RANGE = (32, 192, 16)  # low, high, step
Q_STRIDE = 2
MODEL_CODE = ModelCode(
    module="search_spaces.hiera.model",
    constructor="Hiera",
    title="a TurboViT-style hierarchical vision transformer",
    short_title="a TurboViT-style model",
    about="Mask unit attention and Q-pooling (Hiera, arXiv 2306.00989), with the stage layout found by "
    "generative architecture search (TurboViT, arXiv 2308.11421).",
    naming="module and parameter names follow timm's Hiera",
    overrides="num_classes=10, drop_path_rate=0.1",
)


def mask_unit_attn_allowed(stage: int, q_pool: int, levels: int) -> bool:
    """Whether mask unit attention is worth offering in `stage`.

    After min(stage, q_pool) poolings a mask unit of q_stride**levels tokens per side keeps
    q_stride**(levels - poolings) per side; at one token, "attention" only sees the token itself
    (no mixing at all), so such stages are offered global attention only. Blueprints may still
    ask for it (it is valid, just degenerate); the space does not propose it.
    """
    return min(stage, q_pool) < levels


@register_space("hiera")
class HieraSpace(SearchSpace):
    """Hiera-style networks for `img_size` x `img_size` inputs with `num_classes` outputs."""

    blueprint_type = HieraBlueprint
    model_code = MODEL_CODE

    def __init__(
        self,
        img_size: int = 224,
        num_classes: int = 1000,
        in_chans: int = 3,
        min_stages: int = 2,
        max_stages: int = 5,
        drop_path_rate: float = 0.0,
    ):
        self.img_size = img_size
        self.num_classes = num_classes
        self.in_chans = in_chans
        self.drop_path_rate = drop_path_rate
        stage_counts = [s for s in range(min_stages, max_stages + 1) if self._patch_strides(s)]
        if not stage_counts or min_stages < 2 or max_stages > len(DEPTH_RANGES):
            raise GasError(
                f"the hiera space has no valid network for img_size={img_size} with "
                f"{min_stages}..{max_stages} stages: stages must be within 2..5 and img_size divisible "
                f"by patch_stride * 2**(stages-1) for a patch stride in {PATCH_STRIDES}"
            )
        self.min_stages, self.max_stages = stage_counts[0], stage_counts[-1]

    # ---- sampling -------------------------------------------------------------------------------
    def sample(self, trial: Any) -> HieraBlueprint:
        structure = self.sample_structure(trial)
        embed_dim = trial.suggest_int("embed_dim", *EMBED_DIM_RANGE[:2], step=EMBED_DIM_RANGE[2])
        return self.with_width(structure, embed_dim)

    def sample_structure(self, trial: Any) -> dict[str, Any]:
        """Everything but the width scale: depths, ratios, attention types, geometry."""
        num_stages = trial.suggest_int("num_stages", self.min_stages, self.max_stages)
        tag = f"{num_stages}st"
        q_pool = trial.suggest_int(f"q_pool_{tag}", 1, num_stages - 1)
        levels = trial.suggest_int(f"mask_unit_levels_{tag}", 1, num_stages - 1)
        structure = {
            "num_stages": num_stages,
            "patch_stride": trial.suggest_categorical(f"patch_stride_{tag}", self._patch_strides(num_stages)),
            "q_pool": q_pool,
            "mask_unit_size": Q_STRIDE**levels,
            "head_dim": trial.suggest_categorical("head_dim", HEAD_DIMS),
            "stages": [],
        }
        for i in range(num_stages):
            structure["stages"].append(
                {
                    "depth": trial.suggest_int(f"depth_s{i}", *DEPTH_RANGES[i]),
                    "dim_mul": trial.suggest_categorical(f"dim_mul_s{i}", DIM_MULS) if i else 1.0,
                    "mlp_ratio": trial.suggest_categorical(f"mlp_ratio_s{i}", MLP_RATIOS),
                    "mask_unit_attn": mask_unit_attn_allowed(i, q_pool, levels)
                    and trial.suggest_categorical(f"mask_unit_attn_s{i}", (True, False)),
                }
            )
        return structure

    def with_width(self, structure: dict[str, Any], embed_dim: int) -> HieraBlueprint:
        """The blueprint of `structure` at width scale `embed_dim` (widths rounded to head_dim)."""
        head_dim, stages, dim = structure["head_dim"], [], float(embed_dim)
        for spec in structure["stages"]:
            dim *= spec["dim_mul"]
            width = max(head_dim, round(dim / head_dim) * head_dim)
            stages.append(
                StageSpec(
                    depth=spec["depth"],
                    dim=width,
                    heads=width // head_dim,
                    mlp_ratio=spec["mlp_ratio"],
                    mask_unit_attn=spec["mask_unit_attn"],
                )
            )
        stride = structure["patch_stride"]
        return HieraBlueprint(
            img_size=self.img_size,
            in_chans=self.in_chans,
            num_classes=self.num_classes,
            patch_kernel=2 * stride - 1,
            patch_stride=stride,
            patch_padding=stride - 1,
            mask_unit_size=structure["mask_unit_size"],
            q_stride=Q_STRIDE,
            q_pool=structure["q_pool"],
            stages=tuple(stages),
            drop_path_rate=self.drop_path_rate,
        )

    def width_choices(self) -> list[int]:
        """The `embed_dim` values `sample` can draw, smallest first."""
        low, high, step = EMBED_DIM_RANGE
        return list(range(low, high + 1, step))

    def min_cost(self) -> Cost:
        """Smallest params and MACs any blueprint of the space has (exact, by enumeration).

        Cost grows with depth, width multipliers, MLP ratio and embed_dim, so those sit at their
        minimum; the geometry choices (stages, patch stride, pooling, mask units, attention type)
        are enumerated, a few thousand analytic evaluations at most.
        """
        return _min_cost(self.img_size, self.num_classes, self.in_chans, self.min_stages, self.max_stages)

    def _smallest_structures(self):
        """Structures at minimal depth/width/MLP ratio for every geometry choice of the space."""
        for num_stages in range(self.min_stages, self.max_stages + 1):
            for stride, q_pool, levels in itertools.product(
                self._patch_strides(num_stages), range(1, num_stages), range(1, num_stages)
            ):
                allowed = [mask_unit_attn_allowed(i, q_pool, levels) for i in range(num_stages)]
                for attn in itertools.product((True, False), repeat=sum(allowed)):
                    flags = iter(attn)
                    yield {
                        "num_stages": num_stages,
                        "patch_stride": stride,
                        "q_pool": q_pool,
                        "mask_unit_size": Q_STRIDE**levels,
                        "head_dim": HEAD_DIMS[0],
                        "stages": [
                            {"depth": 1, "dim_mul": 1.0, "mlp_ratio": MLP_RATIOS[0],
                             "mask_unit_attn": ok and next(flags)}
                            for ok in allowed
                        ],
                    }

    def _patch_strides(self, num_stages: int) -> list[int]:
        """Patch strides whose token grid can be unrolled num_stages - 1 times."""
        unroll = Q_STRIDE ** (num_stages - 1)
        return [
            s for s in PATCH_STRIDES if self.img_size % s == 0 and (self.img_size // s) % unroll == 0
        ]

    # ---- pricing and presets ------------------------------------------------------------------
    def cost(self, blueprint: HieraBlueprint) -> Cost:
        return hiera_cost(blueprint)

    def cost_features(self, blueprint: HieraBlueprint) -> dict[str, float]:
        return hiera_cost_features(blueprint)

    def preset_names(self) -> list[str]:
        return presets.preset_names()

    def preset(self, name: str) -> HieraBlueprint:
        return presets.preset(
            name,
            img_size=self.img_size,
            num_classes=self.num_classes,
            in_chans=self.in_chans,
            drop_path_rate=self.drop_path_rate,
        )


@cache
def _min_cost(img_size: int, num_classes: int, in_chans: int, min_stages: int, max_stages: int) -> Cost:
    space = HieraSpace(img_size, num_classes, in_chans, min_stages, max_stages)
    costs = [hiera_cost(space.with_width(s, EMBED_DIM_RANGE[0])) for s in space._smallest_structures()]
    return Cost(params=min(c.params for c in costs), macs=min(c.macs for c in costs))


__all__ = ["HieraSpace"]
