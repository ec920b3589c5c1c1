"""Flat parameter groups: the optimizer updates one tensor per parameter group, not one per parameter.

A small hiera network has a few hundred parameter tensors (every block's norms, biases, q/k/v and
MLP weights), most of them tiny. torch's optimizers run their per-element arithmetic once per
tensor (on CPU even the "foreach" path loops over them in C++), so a few thousand kernel calls,
each a few microseconds of overhead, make up AdamW's step: 16% of a 1 MMAC blueprint's training
step here. Re-homing each group's parameters, and their gradients, as views into one contiguous
buffer turns the step into a dozen long vector operations. The per-element arithmetic is the same,
so training is bitwise identical (tests/evaluators/test_flat_params.py); the model keeps its own
parameters (views), so its state_dict, forward and any EMA copy are unchanged.

Backward keeps writing into the flat gradient buffer because autograd accumulates in place into a
parameter's existing `.grad`: gradients are therefore zeroed in place (`zero_flat_grads`), never
set to None.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gas_kernel.errors import GasError

__all__ = ["flat_optimizer_state", "flatten_param_groups", "zero_flat_grads"]


def flatten_param_groups(optimizer: torch.optim.Optimizer) -> list[nn.Parameter]:
    """Replace each param group's parameters by one flat parameter they are views of; returns the
    flat parameters. Call it before the first step (the optimizer must have no state yet)."""
    if optimizer.state:
        raise ValueError("flatten_param_groups needs an optimizer that has not stepped yet")
    flats = []
    for group in optimizer.param_groups:
        params = group["params"]
        if params:
            flats.append(_flatten(params))
            group["params"] = [flats[-1]]
    return flats


def _flatten(params: list[torch.Tensor]) -> nn.Parameter:
    first = params[0]
    values = torch.cat([p.detach().reshape(-1) for p in params])  # [total elements]
    grads = torch.zeros_like(values)  # [total elements]
    offset = 0
    for param in params:
        size = param.numel()
        param.data = values[offset:offset + size].view_as(param)  # the model's parameter, now a view
        param.grad = grads[offset:offset + size].view_as(param)  # backward accumulates into it in place
        offset += size
    flat = nn.Parameter(values, requires_grad=first.requires_grad)
    flat.grad = grads
    return flat


def zero_flat_grads(flats: list[nn.Parameter]) -> None:
    """Zero the gradients in place (setting them to None would cut the views backward writes to)."""
    for flat in flats:
        flat.grad.zero_()  # type: ignore[union-attr]


def flat_optimizer_state(saved: dict[str, Any], optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """A per-parameter optimizer state_dict (a checkpoint from before the flattening) as the flat
    optimizer's: each group's tensors concatenated in parameter order, exactly what the flat step
    would have accumulated. A state_dict that is already flat comes back unchanged."""
    groups = saved["param_groups"]
    if all(len(group["params"]) == len(current["params"]) for group, current in zip(groups, optimizer.param_groups)):
        return saved
    state, flat_groups = {}, []
    for index, group in enumerate(groups):
        per_param = [saved["state"].get(i) for i in group["params"]]
        if all(s is not None for s in per_param) and per_param:
            state[index] = {key: _joined([s[key] for s in per_param]) for key in per_param[0]}
        elif any(s is not None for s in per_param):
            raise GasError("the checkpoint's optimizer state covers only some parameters of a group; "
                           "delete the checkpoint to restart from epoch 0")
        flat_groups.append({**group, "params": [index]})
    return {"state": state, "param_groups": flat_groups}


def _joined(values: list[Any]) -> Any:
    """Per-parameter tensors concatenated flat; a scalar every parameter shares (the step) once."""
    if isinstance(values[0], torch.Tensor) and values[0].dim() > 0:
        return torch.cat([v.reshape(-1) for v in values])  # [total elements]
    return values[0]
