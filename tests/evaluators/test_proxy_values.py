"""Each proxy against a value worked out by hand or by an independent computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import gas


def _linear_net(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 3, bias=False), nn.Linear(3, 2, bias=False))


def _softmax_grad(weight: np.ndarray, bias: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dL/dW of mean cross-entropy for logits x W^T + b: (softmax - onehot)^T x / B."""
    logits = x @ weight.T + bias
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return p.T @ x / len(y)


def _linear_model_batch(batch: int = 8):
    torch.manual_seed(3)
    model = nn.Linear(4, 3)
    x, y = torch.randn(batch, 4), torch.randint(0, 3, (batch,))
    w, b = model.weight.detach().double().numpy(), model.bias.detach().double().numpy()
    return model, x, y, w, b


def test_synflow_of_two_layer_linear_net_matches_hand_sum():
    net = _linear_net()
    a, m = (layer.weight.detach().abs().double().numpy() for layer in net)  # |W1| [3, 4], |W2| [2, 3]
    # R = 1^T |W2| |W1| 1;  dR/dW1_ij = colsum(|W2|)_i;  dR/dW2_ki = rowsum(|W1|)_i
    grad_w1 = np.outer(m.sum(axis=0), np.ones(4))
    grad_w2 = np.outer(np.ones(2), a.sum(axis=1))
    expected = (a * grad_w1).sum() + (m * grad_w2).sum()
    x = torch.randn(5, 4)
    assert gas.proxy_score("synflow", net, x, torch.zeros(5, dtype=torch.long)) == pytest.approx(expected, rel=1e-9)
    # A linear net is homogeneous: each layer's theta * dR/dtheta sums to R itself.
    assert expected == pytest.approx(2 * np.ones(2) @ m @ a @ np.ones(4))


def test_grad_norm_of_linear_model_matches_closed_form_gradient():
    model, x, y, w, b = _linear_model_batch()
    grad = _softmax_grad(w, b, x.double().numpy(), y.numpy())
    assert gas.proxy_score("grad_norm", model, x, y) == pytest.approx(np.linalg.norm(grad), rel=1e-5)


def test_snip_of_linear_model_matches_closed_form_gradient():
    model, x, y, w, b = _linear_model_batch()
    grad = _softmax_grad(w, b, x.double().numpy(), y.numpy())
    assert gas.proxy_score("snip", model, x, y) == pytest.approx(np.abs(w * grad).sum(), rel=1e-5)


def test_naswot_of_known_activation_patterns_is_log_det_by_hand():
    # Codes (x > 0): (1,0,1), (1,1,0), (0,0,1) -> K = units where two images agree
    x = torch.tensor([[1.0, -1.0, 2.0], [3.0, 1.0, -1.0], [-1.0, -2.0, 1.0]])
    kernel = np.array([[3, 1, 2], [1, 3, 0], [2, 0, 3]])  # det = 27 - 3 - 12 = 12
    assert np.linalg.det(kernel) == pytest.approx(12.0)
    score = gas.proxy_score("naswot", nn.Sequential(nn.ReLU()), x, torch.zeros(3, dtype=torch.long))
    assert score == pytest.approx(math.log(12.0))


def test_naswot_sums_kernels_over_activation_layers():
    x = torch.tensor([[1.0, -1.0, 2.0], [3.0, 1.0, -1.0], [-1.0, -2.0, 1.0]])
    # Two ReLUs see the same codes (ReLU keeps the sign pattern of positives), so K doubles: det * 2^3.
    score = gas.proxy_score("naswot", nn.Sequential(nn.ReLU(), nn.ReLU()), x, torch.zeros(3, dtype=torch.long))
    assert score == pytest.approx(math.log(12.0 * 8))


def test_jacob_cov_matches_independent_jacobian_computation():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
    x = torch.randn(4, 6)
    rows = [torch.autograd.functional.jacobian(lambda v: model(v).sum(), x[i]).numpy() for i in range(4)]
    eigenvalues = np.linalg.eigvalsh(np.corrcoef(np.stack(rows).astype(np.float64)))
    expected = -np.sum(np.log(eigenvalues + 1e-5) + 1.0 / (eigenvalues + 1e-5))
    assert gas.proxy_score("jacob_cov", model, x, torch.zeros(4, dtype=torch.long)) == pytest.approx(expected, rel=1e-4)


def test_zico_of_linear_model_matches_per_split_closed_form():
    model, x, y, w, b = _linear_model_batch(batch=8)
    xs, ys = x.double().numpy(), y.numpy()
    grads = np.stack([_softmax_grad(w, b, xs[i : i + 4], ys[i : i + 4]).ravel() for i in (0, 4)])  # [2, 12]
    std = grads.std(axis=0)
    nonzero = std != 0
    expected = np.log((np.abs(grads).mean(axis=0)[nonzero] / std[nonzero]).sum())
    assert gas.proxy_score("zico", model, x, y) == pytest.approx(expected, rel=1e-4)


class TinyAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(4, 4, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.qkv(x)


def test_dss_uses_nuclear_norms_for_attention_and_saliency_elsewhere():
    torch.manual_seed(0)
    net = nn.Sequential(TinyAttention(), nn.Linear(4, 2, bias=False))
    a = net[0].qkv.weight.detach().abs().double().numpy()  # [4, 4]
    m = net[1].weight.detach().abs().double().numpy()  # [2, 4]
    grad_a = np.outer(m.sum(axis=0), np.ones(4))  # dR/dA for R = 1^T |M| |A| 1
    grad_m = np.outer(np.ones(2), a.sum(axis=1))
    nuc = lambda t: np.linalg.norm(t, "nuc")
    expected = nuc(grad_a) * nuc(a) + (m * grad_m).sum()
    assert gas.proxy_score("dss", net, torch.randn(3, 4), torch.zeros(3, dtype=torch.long)) == pytest.approx(expected, rel=1e-9)


def test_params_and_macs_baselines_of_a_linear_layer():
    model = nn.Linear(4, 3)
    x, y = torch.randn(5, 4), torch.zeros(5, dtype=torch.long)
    assert gas.proxy_score("params", model, x, y) == 4 * 3 + 3
    assert gas.proxy_score("macs", model, x, y) == 4 * 3  # one image, bias adds are not MACs
