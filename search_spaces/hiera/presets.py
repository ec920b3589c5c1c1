"""Reference blueprints: timm's Hiera variants and the TurboViT reference design point.

Each preset is stored as the keyword arguments of `make_blueprint`, so the table below reads like
timm's `hiera_*_224` registrations.
"""

from __future__ import annotations

from typing import Any

from search_spaces.hiera.blueprint import HieraBlueprint, StageSpec

# name -> (embed_dim, first-stage heads, depths); all double width and heads at each stage.
_HIERA = {
    "hiera_tiny": (96, 1, (1, 2, 7, 2)),
    "hiera_small": (96, 1, (1, 2, 11, 2)),
    "hiera_base": (96, 1, (2, 3, 16, 3)),
    "hiera_base_plus": (112, 2, (2, 3, 16, 3)),
    "hiera_large": (144, 2, (2, 6, 36, 4)),
    "hiera_huge": (256, 4, (2, 6, 36, 4)),
    # TurboViT (arXiv 2308.11421) design point: width 64 doubling, 1 head doubling, depth in stage 3.
    "turbovit_ref": (64, 1, (1, 2, 8, 2)),
}

TIMM_NAMES = {name: f"{name}_224" for name in _HIERA if name.startswith("hiera_")}


def preset_names() -> list[str]:
    return list(_HIERA)


def make_blueprint(
    embed_dim: int,
    heads: int,
    depths: tuple[int, ...],
    mask_unit_stages: int = 2,
    mlp_ratio: float = 4.0,
    **overrides: Any,
) -> HieraBlueprint:
    """Hiera's doubling scheme: stage i has width embed_dim * 2**i and heads * 2**i."""
    stages = tuple(
        StageSpec(
            depth=depth,
            dim=embed_dim * 2**i,
            heads=heads * 2**i,
            mlp_ratio=mlp_ratio,
            mask_unit_attn=i < mask_unit_stages,
        )
        for i, depth in enumerate(depths)
    )
    return HieraBlueprint(stages=stages, q_pool=len(depths) - 1, **overrides)


def preset(name: str, **overrides: Any) -> HieraBlueprint:
    """The named preset; overrides (img_size, num_classes, in_chans, ...) go to the blueprint."""
    if name not in _HIERA:
        raise KeyError(f"unknown preset {name!r}; known presets: {', '.join(_HIERA)}")
    embed_dim, heads, depths = _HIERA[name]
    return make_blueprint(embed_dim, heads, depths, **overrides)
