"""Proxies leave the model as they found it, are deterministic, and fail cleanly on NaN."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import gas
from evaluators import EvaluationError
from gas_kernel.errors import GasError

HOOK_TABLES = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


def _snapshot(model: nn.Module) -> dict:
    return {
        "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "modes": [m.training for m in model.modules()],
        "grads": [p.grad for p in model.parameters()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
    }


def _assert_unchanged(model: nn.Module, before: dict) -> None:
    after = model.state_dict()
    assert after.keys() == before["state"].keys()
    for key, value in before["state"].items():
        assert after[key].dtype == value.dtype and torch.equal(after[key], value), key
    assert [m.training for m in model.modules()] == before["modes"]
    assert all(p.grad is None for p in model.parameters())
    assert [p.requires_grad for p in model.parameters()] == before["requires_grad"]
    for module in model.modules():
        for table in HOOK_TABLES:
            assert not getattr(module, table), f"{type(module).__name__}.{table} leaked a hook"


@pytest.mark.parametrize("name", gas.list_proxies())
@pytest.mark.parametrize("train_mode", [True, False])
def test_proxy_restores_weights_buffers_mode_grads_and_hooks(name, train_mode, tiny_cnn, image_batch):
    tiny_cnn.train(train_mode)
    before = _snapshot(tiny_cnn)
    gas.proxy_score(name, tiny_cnn, *image_batch)
    _assert_unchanged(tiny_cnn, before)


@pytest.mark.parametrize("name", gas.list_proxies())
def test_proxy_is_deterministic_for_a_seed(name, tiny_cnn, image_batch):
    first = gas.proxy_score(name, tiny_cnn, *image_batch, seed=3)
    assert gas.proxy_score(name, tiny_cnn, *image_batch, seed=3) == first


def test_existing_grads_and_user_hooks_survive(tiny_cnn, image_batch):
    tiny_cnn.fc.weight.grad = torch.full_like(tiny_cnn.fc.weight, 7.0)
    calls = []
    tiny_cnn.fc.register_forward_hook(lambda *args: calls.append(1))
    gas.proxy_score("grad_norm", tiny_cnn, *image_batch)
    assert torch.equal(tiny_cnn.fc.weight.grad, torch.full_like(tiny_cnn.fc.weight, 7.0))
    assert len(tiny_cnn.fc._forward_hooks) == 1
    assert tiny_cnn.conv.bias.grad is None


@pytest.mark.parametrize("name", gas.list_proxies())
def test_nan_weights_fail_the_candidate_with_a_reason(name, tiny_cnn, image_batch):
    with torch.no_grad():
        tiny_cnn.conv.weight[0, 0, 0, 0] = float("nan")
    with pytest.raises(EvaluationError, match="conv.weight holds NaN"):
        gas.proxy_score(name, tiny_cnn, *image_batch)


class NaNOutput(nn.Module):
    """Finite weights, but a forward that produces NaN (log of a negative number)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(-self.act(self.fc(x)) - 1.0)


@pytest.mark.parametrize("name", ["synflow", "naswot", "grad_norm", "snip", "jacob_cov", "zico", "dss"])
def test_nan_scores_fail_the_candidate(name):
    with pytest.raises(EvaluationError, match="non-finite"):
        gas.proxy_score(name, NaNOutput(), torch.randn(6, 4), torch.zeros(6, dtype=torch.long))


def test_unknown_proxy_lists_the_known_ones(tiny_cnn, image_batch):
    with pytest.raises(GasError, match="known proxies: synflow"):
        gas.proxy_score("accuracy_oracle", tiny_cnn, *image_batch)


@pytest.fixture(scope="module")
def tiny_hiera():
    space = gas.get_space("hiera", img_size=32, num_classes=10)
    blueprint = next(bp for bp in map(space.random, range(100)) if space.cost(bp).macs < 5e6)  # a few ms a pass
    torch.manual_seed(0)
    return space.build(blueprint), blueprint


@pytest.mark.parametrize("name", gas.list_proxies())
def test_every_proxy_runs_on_a_tiny_hiera_blueprint(name, tiny_hiera):
    model, _ = tiny_hiera
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(4, 3, 32, 32, generator=generator), torch.randint(0, 10, (4,), generator=generator)
    before = _snapshot(model)
    score = gas.proxy_score(name, model, x, y)
    assert math.isfinite(score)
    _assert_unchanged(model, before)
