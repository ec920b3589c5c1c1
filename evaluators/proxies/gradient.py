"""Gradient-saliency proxies: grad_norm, snip (Abdelfattah et al. 2021) and synflow (Tanaka et al. 2020).

All three score the weights of the Linear/Conv layers (the "prunable" layers of the pruning-at-init
literature these proxies come from); biases, norms and embeddings are left out, as in the reference
implementation (github.com/SamsungLabs/zero-cost-nas).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from evaluators.proxies.state import check_output, prunable_layers

__all__ = ["grad_norm", "snip", "synflow", "synflow_backward"]


def _loss_backward(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> None:
    """Cross-entropy gradient of the batch in train mode, from zeroed grads."""
    model.train()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(check_output("grad_norm/snip", model(inputs)), targets).backward()


def grad_norm(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Sum over layers of the L2 norm of the loss gradient of the layer weight."""
    _loss_backward(model, inputs, targets)
    return sum(float(m.weight.grad.norm()) for _, m in prunable_layers(model) if m.weight.grad is not None)


def snip(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Connection sensitivity: sum of |theta * dL/dtheta| over layer weights."""
    _loss_backward(model, inputs, targets)
    return sum(
        float((m.weight.detach() * m.weight.grad).abs().sum())
        for _, m in prunable_layers(model)
        if m.weight.grad is not None
    )


def synflow_backward(model: nn.Module, inputs: torch.Tensor, name: str) -> nn.Module:
    """A float64 |theta| copy of `model` holding dR/dtheta for R = sum(f(1)) on one all-ones input.

    The copy leaves the caller's model untouched; float64 keeps deep products from overflowing.
    Shared by synflow and DSS, which score the same gradients differently.
    """
    net = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        for param in net.parameters():
            param.abs_()
    net.zero_grad(set_to_none=True)
    ones = torch.ones((1, *inputs.shape[1:]), dtype=torch.float64, device=inputs.device)
    check_output(name, net(ones)).sum().backward()
    return net


def synflow(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Synaptic flow: sum |theta * dR/dtheta| with R = sum(f_|theta|(1)), data-free.

    Runs on a float64 copy with every parameter replaced by its absolute value (the copy keeps the
    caller's model untouched and float64 keeps deep products from overflowing), in eval mode, on a
    single all-ones input of the batch's shape.
    """
    net = synflow_backward(model, inputs, "synflow")
    return sum(
        float((m.weight.detach() * m.weight.grad).abs().sum())
        for _, m in prunable_layers(net)
        if m.weight.grad is not None
    )
