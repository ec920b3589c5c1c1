"""Zero-cost accuracy proxies: score an untrained `nn.Module` from one batch (any model, not only Hiera).

`proxy_score(name, model, inputs, targets)` runs one proxy deterministically for a seed, leaves the
model exactly as it found it (weights, buffers, train/eval mode, grads, hooks) and turns a NaN or
infinite score into an EvaluationError that fails the candidate with a reason.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from evaluators.base import EvaluationError
from evaluators.proxies.activation import jacob_cov, naswot
from evaluators.proxies.baseline import macs, params
from evaluators.proxies.gradient import grad_norm, snip, synflow
from evaluators.proxies.state import (
    check_finite,
    check_parameters_finite,
    preserved_state,
)
from evaluators.proxies.vit import dss
from evaluators.proxies.zico import zico
from gas_kernel.errors import GasError, one_line

__all__ = ["BASELINES", "PROXIES", "ProxyFn", "list_proxies", "proxy_score"]

ProxyFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], float]

# Higher is better for every proxy here (jacob_cov is already negated by its definition).
PROXIES: dict[str, ProxyFn] = {
    "synflow": synflow,
    "naswot": naswot,
    "grad_norm": grad_norm,
    "snip": snip,
    "jacob_cov": jacob_cov,
    "zico": zico,
    "dss": dss,
    "params": params,
    "macs": macs,
}
BASELINES = ("params", "macs")


def list_proxies() -> list[str]:
    """Names accepted by `proxy_score` (the params/MACs baselines included)."""
    return list(PROXIES)


def proxy_score(
    name: str, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, *, seed: int = 0
) -> float:
    """The proxy `name` of `model` on the batch (`inputs` [B, C, H, W], integer `targets` [B]).

    Inputs are moved to the model's device. Raises GasError for an unknown name and
    EvaluationError when the model or the score is not finite.
    """
    if name not in PROXIES:
        raise GasError(f"unknown proxy {name!r}; known proxies: {', '.join(PROXIES)}")
    device = next((p.device for p in model.parameters()), inputs.device)
    inputs, targets = inputs.to(device), targets.to(device)
    check_parameters_finite(model)
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), preserved_state(model), torch.enable_grad():
        torch.manual_seed(seed)
        try:
            score = PROXIES[name](model, inputs, targets)
        except RuntimeError as error:
            raise EvaluationError(f"proxy {name} failed: {one_line(error)[:200]}") from error
    return check_finite(name, score)
