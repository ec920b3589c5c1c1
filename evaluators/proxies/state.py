"""Helpers every proxy shares: leave the model exactly as found, pick layers, check the score.

A proxy is handed someone else's model (a search candidate, a user's timm model), so it must not
leave a trace: `preserved_state` snapshots weights, buffers, train/eval flags, `requires_grad`,
existing `.grad`s and hook tables, and puts all of them back however the proxy exits.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from evaluators.base import EvaluationError

__all__ = ["check_finite", "check_output", "check_parameters_finite", "preserved_state", "prunable_layers"]

_HOOK_TABLES = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


@contextmanager
def preserved_state(model: nn.Module) -> Iterator[nn.Module]:
    """Run a block that may change `model`, then restore weights, modes, grads and hooks."""
    state = {key: value.detach().clone() for key, value in model.state_dict(keep_vars=True).items()}
    modes = {module: module.training for module in model.modules()}
    params = list(model.parameters())
    requires_grad = [p.requires_grad for p in params]
    grads = [None if p.grad is None else p.grad.detach().clone() for p in params]
    hooks = {m: {t: dict(getattr(m, t, {})) for t in _HOOK_TABLES} for m in model.modules()}
    try:
        yield model
    finally:
        with torch.no_grad():
            model.load_state_dict(state)
        for module, training in modes.items():
            module.training = training
        for param, flag, grad in zip(params, requires_grad, grads):
            param.requires_grad_(flag)
            param.grad = grad
        _restore_hooks(hooks)


def _restore_hooks(hooks: dict[nn.Module, dict[str, dict]]) -> None:
    """Drop any hook a proxy registered and forgot, keeping the caller's own hooks."""
    for module, tables in hooks.items():
        for table, before in tables.items():
            current = getattr(module, table, None)
            if current is None:
                continue
            for key in [k for k in current if k not in before]:
                del current[key]


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of the Linear and Conv layers: the weights zero-cost proxies score."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, PRUNABLE)]


def check_parameters_finite(model: nn.Module) -> None:
    """EvaluationError naming the first parameter holding NaN or inf."""
    for name, param in model.named_parameters():
        if not torch.isfinite(param).all():
            raise EvaluationError(f"parameter {name} holds NaN or inf values")


def check_finite(proxy: str, score: float) -> float:
    """The score as a float, or EvaluationError when it is NaN or infinite."""
    value = float(score)
    if not math.isfinite(value):
        raise EvaluationError(f"proxy {proxy} gave a non-finite score ({value}); the candidate fails")
    return value


def check_output(proxy: str, output: torch.Tensor) -> torch.Tensor:
    """The model output, or EvaluationError when the forward pass produced NaN or inf."""
    if not torch.isfinite(output).all():
        raise EvaluationError(f"proxy {proxy}: the forward pass gave non-finite outputs (NaN or inf)")
    return output
