"""The blueprint of the hiera space: a hierarchical ViT from mask unit attention and Q-pooling.

A `HieraBlueprint` says everything needed to build a Hiera-style network (mask unit attention,
Q-pooling, free per-stage widths) and nothing else; it meets the kernel's blueprint contract
(frozen, exact JSON round-trips, a stable `arch_id`).

Validation errors always name the offending field (`q_pool`, `stages.2.heads`, ...) and say how
to fix it, because blueprints come from users' JSON files as well as from the generator.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from gas_kernel.blueprint import Blueprint

__all__ = ["HieraBlueprint", "StageSpec"]


class StageSpec(BaseModel):
    """One stage: `depth` blocks at width `dim` with `heads` attention heads."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    depth: int = Field(ge=1, le=64, description="number of blocks in the stage")
    dim: int = Field(ge=1, le=8192, description="channel width of the stage")
    heads: int = Field(ge=1, le=512, description="attention heads; must divide dim")
    mlp_ratio: float = Field(default=4.0, gt=0, le=16, description="MLP hidden width / dim")
    mask_unit_attn: bool = Field(
        default=False, description="attention inside mask units (True) or global attention (False)"
    )

    @model_validator(mode="after")
    def _check_heads_and_mlp(self) -> StageSpec:
        if self.dim % self.heads:
            raise _field_error(("heads",), f"heads={self.heads} must divide dim={self.dim}", self.heads)
        if int(self.dim * self.mlp_ratio) < 1:
            raise _field_error(("mlp_ratio",), "dim * mlp_ratio must be at least 1", self.mlp_ratio)
        return self

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    @property
    def mlp_hidden(self) -> int:
        """Hidden width of the MLP, rounded down exactly as the model does."""
        return int(self.dim * self.mlp_ratio)


class HieraBlueprint(Blueprint):
    """A hierarchical ViT built from mask unit attention and Q-pooling (square images).

    Geometry follows Hiera: a strided conv patch embedding gives a `img_size // patch_stride` token
    grid, tokens are "unrolled" `len(stages) - 1` times by `q_stride` so that Q-pooling is a max over
    a contiguous slice, and the first `q_pool` stage transitions pool queries by `q_stride` per side.
    A mask unit is a `mask_unit_size` x `mask_unit_size` square of tokens at stage 1 and shrinks by
    `q_stride` per side at every pooling. (`img_size`, `in_chans` and `num_classes` come from the
    kernel's `Blueprint`.)
    """

    patch_kernel: int = Field(default=7, ge=1, le=32)
    patch_stride: int = Field(default=4, ge=1, le=32)
    patch_padding: int = Field(default=3, ge=0, le=32)
    mask_unit_size: int = Field(default=8, ge=1, le=256, description="side of a mask unit in tokens")
    q_stride: int = Field(default=2, ge=2, le=4, description="Q-pooling stride per side")
    q_pool: int = Field(default=3, ge=0, description="number of stage transitions that pool")
    stages: tuple[StageSpec, ...] = Field(min_length=1, max_length=8)
    drop_path_rate: float = Field(default=0.0, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _check_geometry(self) -> HieraBlueprint:
        for check in (_check_q_pool, _check_patch_embed, _check_unroll, _check_mask_units):
            check(self)
        return self

    # ---- derived geometry -------------------------------------------------------------------
    @property
    def num_stages(self) -> int:
        return len(self.stages)

    @property
    def grid_size(self) -> int:
        """Side of the token grid right after the patch embedding."""
        return self.img_size // self.patch_stride

    @property
    def num_tokens(self) -> int:
        return self.grid_size**2

    @property
    def depth(self) -> int:
        return sum(stage.depth for stage in self.stages)

    @property
    def mask_unit_levels(self) -> int:
        """How many q_stride unrolls make up one mask unit (mask_unit_size = q_stride**levels)."""
        return _integer_log(self.mask_unit_size, self.q_stride)

    def pools_before(self, stage: int) -> int:
        """Number of Q-poolings applied before the blocks of `stage` (0-based) run."""
        return min(stage, self.q_pool)

    def tokens_in_stage(self, stage: int) -> int:
        return self.num_tokens // (self.q_stride**2) ** self.pools_before(stage)

    def reduction(self, stage: int) -> int:
        """Input pixels per feature-map pixel at the output of `stage`."""
        return self.patch_stride * self.q_stride ** self.pools_before(stage)

    # ---- the blueprint contract --------------------------------------------------------------
    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the model constructor (`Hiera(**bp.model_kwargs())`)."""
        return {
            "img_size": self.img_size,
            "in_chans": self.in_chans,
            "num_classes": self.num_classes,
            "embed_dims": tuple(s.dim for s in self.stages),
            "num_heads": tuple(s.heads for s in self.stages),
            "depths": tuple(s.depth for s in self.stages),
            "mlp_ratios": tuple(s.mlp_ratio for s in self.stages),
            "mask_unit_attn": tuple(s.mask_unit_attn for s in self.stages),
            "q_pool": self.q_pool,
            "q_stride": self.q_stride,
            "mask_unit_size": self.mask_unit_size,
            "patch_kernel": self.patch_kernel,
            "patch_stride": self.patch_stride,
            "patch_padding": self.patch_padding,
            "drop_path_rate": self.drop_path_rate,
        }

    def describe(self) -> str:
        """One line a person can read: stages as depth x dim/heads, with mask unit stages marked."""
        stages = " | ".join(
            f"{s.depth}x{s.dim}/{s.heads}h{'*' if s.mask_unit_attn else ''}" for s in self.stages
        )
        return f"{self.img_size}px p{self.patch_stride} mu{self.mask_unit_size} qp{self.q_pool}: {stages}"


# ---- validation rules (each names its field) -----------------------------------------------
def _check_q_pool(bp: HieraBlueprint) -> None:
    if bp.q_pool >= bp.num_stages:
        raise _field_error(
            ("q_pool",),
            f"q_pool={bp.q_pool} must be smaller than the number of stages ({bp.num_stages})",
            bp.q_pool,
        )


def _check_patch_embed(bp: HieraBlueprint) -> None:
    if bp.img_size % bp.patch_stride:
        raise _field_error(
            ("img_size",),
            f"img_size={bp.img_size} must be a multiple of patch_stride={bp.patch_stride}",
            bp.img_size,
        )
    conv_out = (bp.img_size + 2 * bp.patch_padding - bp.patch_kernel) // bp.patch_stride + 1
    if conv_out != bp.grid_size:
        raise _field_error(
            ("patch_padding",),
            f"patch embedding gives a {conv_out}x{conv_out} grid, expected img_size/patch_stride="
            f"{bp.grid_size}; use patch_padding=(patch_kernel - patch_stride + 1) // 2",
            bp.patch_padding,
        )


def _check_unroll(bp: HieraBlueprint) -> None:
    unroll = bp.q_stride ** (bp.num_stages - 1)
    if bp.grid_size % unroll:
        raise _field_error(
            ("img_size",),
            f"token grid {bp.grid_size} (img_size/patch_stride) must be divisible by "
            f"q_stride**(stages-1)={unroll}; pick img_size as a multiple of {bp.patch_stride * unroll}",
            bp.img_size,
        )


def _check_mask_units(bp: HieraBlueprint) -> None:
    levels = bp.mask_unit_levels
    if levels < 0 or levels > bp.num_stages - 1:
        raise _field_error(
            ("mask_unit_size",),
            f"mask_unit_size={bp.mask_unit_size} must be q_stride**k with 0 <= k <= stages-1 "
            f"(q_stride={bp.q_stride}, {bp.num_stages} stages)",
            bp.mask_unit_size,
        )
    for index, stage in enumerate(bp.stages):
        # A mask-unit stage also drives the first block of the next stage (Hiera lags the flag).
        pools_seen = bp.pools_before(min(index + 1, bp.num_stages - 1))
        if stage.mask_unit_attn and pools_seen > levels:
            raise _field_error(
                ("stages", index, "mask_unit_attn"),
                f"stage {index} uses mask unit attention but {pools_seen} Q-poolings shrink a "
                f"{bp.mask_unit_size}x{bp.mask_unit_size} mask unit below one token; "
                "use a larger mask_unit_size or global attention",
                stage.mask_unit_attn,
            )


def _integer_log(value: int, base: int) -> int:
    """k with base**k == value, or -1 if value is not a power of base."""
    power, k = 1, 0
    while power < value:
        power, k = power * base, k + 1
    return k if power == value else -1


def _field_error(loc: tuple[str | int, ...], message: str, value: Any) -> ValidationError:
    """A ValidationError located at `loc`, so the message names the field to fix."""
    detail = InitErrorDetails(
        type=PydanticCustomError("blueprint", message), loc=loc, input=value
    )
    return ValidationError.from_exception_data("HieraBlueprint", [detail])
