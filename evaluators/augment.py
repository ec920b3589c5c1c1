"""Batch augmentation on uint8 image tensors, vectorised (no per-image Python loop).

Random crop after zero padding, then random horizontal flip, both as one gather: each image's rows
and columns are index ranges shifted by its offset (and reversed when flipped). Drawn from an
explicit generator so an epoch's augmentation is a function of (seed, epoch) alone, which is what
lets `gas train --resume` continue bit-for-bit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["crop_flip"]


def crop_flip(images: torch.Tensor, padding: int, flip: bool, generator: torch.Generator | None = None) -> torch.Tensor:
    """Randomly shifted (by up to `padding` pixels) and optionally mirrored copies of a [B, C, H, W] batch."""
    batch, channels, height, width = images.shape
    offsets = torch.randint(0, 2 * padding + 1, (2, batch), generator=generator).to(images.device)
    mirrored = (torch.rand(batch, generator=generator) < 0.5).to(images.device) if flip else None
    padded = F.pad(images, (padding,) * 4) if padding else images  # [B, C, H+2p, W+2p]
    rows = offsets[0, :, None] + torch.arange(height, device=images.device)  # [B, H]
    cols = offsets[1, :, None] + torch.arange(width, device=images.device)  # [B, W]
    if mirrored is not None:
        cols = torch.where(mirrored[:, None], cols.flip(1), cols)
    index_b = torch.arange(batch, device=images.device)[:, None, None, None]  # [B, 1, 1, 1]
    index_c = torch.arange(channels, device=images.device)[None, :, None, None]  # [1, C, 1, 1]
    return padded[index_b, index_c, rows[:, None, :, None], cols[:, None, None, :]]  # [B, C, H, W]
