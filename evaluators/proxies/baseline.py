"""The baselines every proxy must beat: parameter count and MACs (bigger nets are often better)."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from evaluators.flops import traced_macs

__all__ = ["macs", "params"]


def params(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Number of parameters."""
    return float(sum(p.numel() for p in model.parameters()))


def macs(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """MACs of one image (fvcore trace, attention counted; 1 MAC = 1 fvcore flop)."""
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracing warnings say nothing about the count
        return float(traced_macs(model, inputs[:1]))
