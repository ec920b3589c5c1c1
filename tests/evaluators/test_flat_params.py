"""Flat parameter groups: bitwise the training of the per-parameter optimizer, old checkpoints load exactly."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from timm.optim import create_optimizer_v2

import gas
from evaluators.flat_params import (
    flat_optimizer_state,
    flatten_param_groups,
    zero_flat_grads,
)
from gas_kernel.errors import GasError

SPACE = gas.get_space("hiera", img_size=32, num_classes=10)


def _model_and_optimizer(seed: int = 0):
    torch.manual_seed(seed)
    model = SPACE.build(SPACE.random(3))
    return model, create_optimizer_v2(model, opt="adamw", lr=1e-2, weight_decay=0.05, foreach=True)


def _train(model, optimizer, steps: int, flats=None, start: int = 0) -> None:
    generator = torch.Generator().manual_seed(1)
    batches = [(torch.randn(8, 3, 32, 32, generator=generator), torch.randint(0, 10, (8,), generator=generator))
               for _ in range(start + steps)]
    for images, labels in batches[start:]:
        if flats is None:
            optimizer.zero_grad(set_to_none=True)
        else:
            zero_flat_grads(flats)
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()


def _same_weights(a, b) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_flat_groups_train_bitwise_like_one_tensor_per_parameter():
    reference, per_parameter = _model_and_optimizer()
    flat_model, optimizer = _model_and_optimizer()
    groups = [len(g["params"]) for g in optimizer.param_groups]
    flats = flatten_param_groups(optimizer)
    assert [len(g["params"]) for g in optimizer.param_groups] == [1, 1] and sum(groups) > 100
    assert _same_weights(reference, flat_model)  # flattening moves the weights, it does not change them
    _train(reference, per_parameter, 4)
    _train(flat_model, optimizer, 4, flats)
    assert _same_weights(reference, flat_model)
    storages = {flat.untyped_storage().data_ptr() for flat in flats}
    assert all(p.untyped_storage().data_ptr() in storages for p in flat_model.parameters())  # views, not copies


def test_a_per_parameter_checkpoint_continues_exactly_in_the_flat_optimizer():
    reference, per_parameter = _model_and_optimizer()
    _train(reference, per_parameter, 3)
    saved_model = copy.deepcopy(reference.state_dict())  # a checkpoint: not the live tensors
    saved_optimizer = copy.deepcopy(per_parameter.state_dict())
    _train(reference, per_parameter, 2, start=3)

    resumed, optimizer = _model_and_optimizer(seed=5)  # other initial weights: the checkpoint overrides them
    flats = flatten_param_groups(optimizer)
    resumed.load_state_dict(saved_model)
    optimizer.load_state_dict(flat_optimizer_state(saved_optimizer, optimizer))
    _train(resumed, optimizer, 2, flats, start=3)
    assert _same_weights(reference, resumed)
    flat_state = optimizer.state_dict()
    assert flat_optimizer_state(flat_state, optimizer) is flat_state  # already flat: unchanged


def test_flattening_needs_a_fresh_optimizer_and_a_complete_state():
    model, optimizer = _model_and_optimizer()
    _train(model, optimizer, 1)
    with pytest.raises(ValueError, match="has not stepped yet"):
        flatten_param_groups(optimizer)
    saved = optimizer.state_dict()
    del saved["state"][saved["param_groups"][1]["params"][0]]  # one parameter's moments lost
    _, fresh = _model_and_optimizer()
    flatten_param_groups(fresh)
    with pytest.raises(GasError, match="covers only some parameters"):
        flat_optimizer_state(saved, fresh)
