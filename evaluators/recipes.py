"""Training recipes: the fixed settings every candidate of one comparison is trained with.

A recipe is data, named, and recorded with every result it produced, so accuracies are only ever
compared under the same recipe. Two ship with gas:

- `short`: the search-time proxy (`--proxy train`): AdamW lr 1e-3, batch 64, warm-up 10% then cosine,
  label smoothing 0.1, crop (4-pixel zero padding) + horizontal flip. Few epochs, fast to start.
- `reference`: training to a plateau for the reference set and `gas train` (Fashion-MNIST-sized
  data at 32 px): batch 128, AdamW lr 2e-3, weight decay 0.05, warm-up 5% then cosine to 1% of
  the peak, label smoothing 0.1, crop (2-pixel padding) + flip. Larger batches keep a CPU core
  busy (GEMMs of 128 x tokens rows); the cosine's low end settles the weights, so no EMA (at ~80
  steps an epoch a 0.999 EMA would average a third of the run). Mixup, CutMix and EMA are options.

Optimizer, schedule, mixup/cutmix and EMA are timm's (`create_optimizer_v2`, `CosineLRScheduler`,
`Mixup`, `ModelEmaV3`), so a recipe reads like a timm training command.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from gas_kernel.errors import GasError

__all__ = ["RECIPES", "TrainConfig", "get_recipe"]


@dataclass(frozen=True)
class TrainConfig:
    """One recipe; change it only for every candidate at once."""

    name: str = "short"
    batch_size: int = 64
    opt: str = "adamw"
    lr: float = 1e-3
    min_lr_ratio: float = 0.0  # cosine decays to lr * min_lr_ratio
    weight_decay: float = 0.05
    warmup_fraction: float = 0.1  # of all optimizer steps
    label_smoothing: float = 0.1
    crop_padding: int = 4
    flip: bool = True
    mixup: float = 0.0  # timm Mixup alpha; 0 = off
    cutmix: float = 0.0  # timm CutMix alpha; 0 = off
    ema_decay: float = 0.0  # timm ModelEmaV3 decay; 0 = off
    amp: bool = True  # bfloat16 autocast on CUDA (ignored on CPU)
    eval_batch_size: int = 512
    train_images: int = 0  # a fixed class-balanced subset of the training split; 0 = all of it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


RECIPES: dict[str, TrainConfig] = {
    "short": TrainConfig(),
    "reference": TrainConfig(
        name="reference", batch_size=128, lr=2e-3, min_lr_ratio=0.01, warmup_fraction=0.05, crop_padding=2,
    ),
}


def get_recipe(name: str, **overrides: Any) -> TrainConfig:
    """The named recipe, with `overrides` (e.g. `mixup=0.8`) applied; GasError for unknown names."""
    if name not in RECIPES:
        raise GasError(f"unknown recipe {name!r}; known recipes: {', '.join(sorted(RECIPES))}")
    unknown = set(overrides) - set(TrainConfig.__dataclass_fields__)
    if unknown:
        raise GasError(f"unknown recipe setting(s) {', '.join(sorted(unknown))}")
    return replace(RECIPES[name], **overrides)
