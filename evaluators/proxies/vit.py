"""DSS, the vision-transformer proxy of TF-TAS (Zhou et al., CVPR 2022).

Transformers differ from CNNs in where their capacity lives, so DSS scores the two kinds of layer
differently, on the synflow objective (float64 copy, |theta|, all-ones input, R = sum of outputs):
  * attention (MSA) Linear layers -> synaptic diversity  ||dR/dW||_nuc * ||W||_nuc
  * every other Linear layer      -> synaptic saliency   sum |W * dR/dW|
A Linear layer counts as attention when an enclosing module is an nn.MultiheadAttention or has
"attention" in its class name (Hiera's MaskUnitAttention, timm's Attention), so any ViT works.
"""

from __future__ import annotations

import torch
from torch import nn

from evaluators.proxies.gradient import synflow_backward

__all__ = ["attention_linears", "dss"]


def attention_linears(model: nn.Module) -> set[nn.Linear]:
    """The Linear layers that sit inside an attention module."""
    found: set[nn.Linear] = set()
    for module in model.modules():
        if isinstance(module, nn.MultiheadAttention) or "attention" in type(module).__name__.lower():
            found.update(m for m in module.modules() if isinstance(m, nn.Linear))
    return found


def dss(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Synaptic diversity of attention layers plus synaptic saliency of the other Linear layers."""
    net = synflow_backward(model, inputs, "dss")
    attention = attention_linears(net)
    score = 0.0
    for layer in (m for m in net.modules() if isinstance(m, nn.Linear) and m.weight.grad is not None):
        weight, grad = layer.weight.detach(), layer.weight.grad
        if layer in attention:
            score += float(torch.linalg.matrix_norm(grad, "nuc") * torch.linalg.matrix_norm(weight, "nuc"))
        else:
            score += float((weight * grad).abs().sum())
    return score
