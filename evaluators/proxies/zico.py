"""ZiCo (Li et al., ICLR 2023): gradients that are large and consistent across batches predict accuracy.

For each Linear/Conv layer, with per-split weight gradients G_s (s = 1..S):
    score += log( sum_w mean_s|G_s[w]| / std_s(G_s[w]) )   over weights with nonzero std,
the population std (ddof=0) of the reference code (github.com/SLDGroup/ZiCo).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from evaluators.base import EvaluationError
from evaluators.proxies.state import check_output, prunable_layers

__all__ = ["zico"]

SPLITS = 2  # mini-batches whose gradients are compared, as in the paper


def zico(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Sum over layers of log(sum(mean |grad| / std grad)) across `SPLITS` mini-batches."""
    if inputs.shape[0] < SPLITS:
        raise EvaluationError(f"zico needs a batch of at least {SPLITS} images, got {inputs.shape[0]}")
    layers = prunable_layers(model)
    per_split = _split_gradients(model, layers, inputs, targets)
    score = 0.0
    for grads in zip(*per_split):
        stacked = torch.stack(grads).double()  # [S, numel]
        std = stacked.std(dim=0, unbiased=False)  # [numel]
        nonzero = std != 0
        total = (stacked.abs().mean(dim=0)[nonzero] / std[nonzero]).sum()
        if total != 0:
            score += float(torch.log(total))
    return score


def _split_gradients(
    model: nn.Module, layers: list[tuple[str, nn.Module]], inputs: torch.Tensor, targets: torch.Tensor
) -> list[list[torch.Tensor]]:
    """Flattened weight gradients of each layer, one list per mini-batch split."""
    model.train()
    result = []
    for x, y in zip(inputs.chunk(SPLITS), targets.chunk(SPLITS)):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(check_output("zico", model(x)), y).backward()
        result.append(
            [
                m.weight.grad.detach().flatten() if m.weight.grad is not None else torch.zeros(m.weight.numel())
                for _, m in layers
            ]
        )
    return result
