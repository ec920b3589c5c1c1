"""Activation and input-Jacobian proxies: NASWOT (Mellor et al. 2021) and jacob_cov (Mellor et al. 2020).

Both ask how differently the untrained network treats the images of one batch: distinct images
should give distinct ReLU/GELU on-off patterns (NASWOT) and weakly correlated input Jacobians
(jacob_cov).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from evaluators.base import EvaluationError
from evaluators.proxies.state import check_output

__all__ = ["ACTIVATIONS", "jacob_cov", "naswot"]

ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.LeakyReLU, nn.ELU, nn.Hardswish, nn.Mish)
JACOB_COV_K = 1e-5  # eigenvalue offset of the reference implementation


def naswot(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """log|det K| with K_ij = number of activation units where images i and j agree on/off.

    Every activation module's input is binarised (x > 0) per image; K sums c c^T + (1-c)(1-c)^T
    over all activation modules (float64, so counts stay exact).
    """
    batch = inputs.shape[0]
    kernel = torch.zeros(batch, batch, dtype=torch.float64)

    def accumulate(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        codes = (args[0].detach().reshape(batch, -1) > 0).double().cpu()  # [B, units]
        kernel.add_(codes @ codes.T + (1 - codes) @ (1 - codes).T)

    layers = [m for m in model.modules() if isinstance(m, ACTIVATIONS)]
    if not layers:
        raise EvaluationError("naswot needs activation modules (nn.ReLU, nn.GELU, ...); the model has none")
    handles = [m.register_forward_hook(accumulate) for m in layers]
    try:
        model.train()
        with torch.no_grad():
            check_output("naswot", model(inputs))
    finally:
        for handle in handles:
            handle.remove()
    return float(torch.linalg.slogdet(kernel).logabsdet)


def jacob_cov(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """-sum(log(v + k) + 1/(v + k)) over eigenvalues v of the correlation of per-image input Jacobians.

    The per-image Jacobian is d(sum of outputs)/d(input), as in the reference implementation.
    """
    model.train()
    model.zero_grad(set_to_none=True)
    x = inputs.detach().clone().requires_grad_(True)
    output = check_output("jacob_cov", model(x))
    output.backward(torch.ones_like(output))
    jacobians = x.grad.reshape(x.shape[0], -1).double().cpu().numpy()  # [B, C*H*W]
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.corrcoef(jacobians)
    if not np.isfinite(corr).all():
        raise EvaluationError("jacob_cov: input Jacobians are constant or non-finite, correlation undefined")
    eigenvalues = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(eigenvalues + JACOB_COV_K) + 1.0 / (eigenvalues + JACOB_COV_K)))
