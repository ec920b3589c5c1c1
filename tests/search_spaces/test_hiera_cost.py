"""Analytic cost vs the built model: params exactly, MACs within 0.5% of fvcore with attention."""

import warnings

import pytest
import torch
from fvcore.nn import FlopCountAnalysis

import gas
from evaluators.flops import traced_macs

MAC_TOLERANCE = 0.005


def _measured(space, bp) -> tuple[int, int]:
    model = space.build(bp)
    params = sum(p.numel() for p in model.parameters())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        macs = traced_macs(model, torch.zeros(1, bp.in_chans, bp.img_size, bp.img_size))
    return params, macs


def _small_random_blueprints(space, count: int, max_params: float = 8e6):
    """The first `count` random blueprints small enough to build quickly in a test."""
    found, seed = [], 0
    while len(found) < count:
        bp = space.random(seed)
        if space.cost(bp).params <= max_params:
            found.append(bp)
        seed += 1
    return found


@pytest.mark.parametrize("name", ["hiera_tiny", "hiera_small", "hiera_base", "hiera_base_plus", "turbovit_ref"])
def test_preset_cost_matches_model_and_fvcore(name):
    space = gas.get_space("hiera")
    bp = space.preset(name)
    params, macs = _measured(space, bp)
    cost = space.cost(bp)
    assert cost.params == params
    assert abs(cost.macs - macs) <= MAC_TOLERANCE * macs


@pytest.mark.parametrize("name", ["hiera_large", "hiera_huge"])
def test_large_preset_cost_matches_at_reduced_resolution(name):
    # Same code path as at 224 px (the formula is per stage); 64 px keeps the trace fast.
    space = gas.get_space("hiera", img_size=64)
    bp = space.preset(name)
    params, macs = _measured(space, bp)
    assert space.cost(bp).params == params
    assert abs(space.cost(bp).macs - macs) <= MAC_TOLERANCE * macs


def test_published_figures_of_the_presets():
    # timm's table: Hiera-T 27.9M params / 4.9 GMACs; TurboViT reference ~13.5M / 2.43 GMACs.
    space = gas.get_space("hiera")
    tiny, turbo = space.cost(space.preset("hiera_tiny")), space.cost(space.preset("turbovit_ref"))
    assert tiny.params == 27_910_216 and round(tiny.gmacs, 1) == 4.9
    assert turbo.params == 13_449_512 and round(turbo.gmacs, 2) == 2.43


@pytest.mark.parametrize("img_size,count", [(32, 70), (64, 30)])
def test_random_blueprints_cost_matches_model_and_fvcore(img_size, count):
    space = gas.get_space("hiera", img_size=img_size, num_classes=10)
    for bp in _small_random_blueprints(space, count):
        params, macs = _measured(space, bp)
        cost = space.cost(bp)
        assert cost.params == params, bp.describe()
        assert abs(cost.macs - macs) <= MAC_TOLERANCE * macs, bp.describe()


def test_plain_fvcore_misses_attention_and_traced_macs_restores_it():
    space = gas.get_space("hiera")
    bp = space.preset("hiera_tiny")
    model = space.build(bp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = FlopCountAnalysis(model, torch.zeros(1, 3, 224, 224)).total()
    attention = traced_macs(model, torch.zeros(1, 3, 224, 224)) - plain
    assert attention == 260_488_704  # sum over blocks of 2 * N_q * N_k * C
    assert 0.05 < attention / plain < 0.06


def _hooked_counts(model: torch.nn.Module, pixels: torch.Tensor) -> dict[str, int]:
    """Linear-layer MACs, patch-conv MACs and SDPA calls/problems, counted on a real forward."""
    counts = {"linear": 0, "conv": 0, "problems": 0}

    def on_linear(module, inputs, output):
        counts["linear"] += inputs[0].numel() * module.out_features

    def on_conv(module, inputs, output):
        counts["conv"] += output.numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1]

    sdpa = torch.nn.functional.scaled_dot_product_attention

    def counting_sdpa(q, k, v, *args, **kwargs):
        counts["problems"] += q.numel() // (q.shape[-2] * q.shape[-1])  # batch x heads x windows
        return sdpa(q, k, v, *args, **kwargs)

    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            module.register_forward_hook(on_linear)
        elif isinstance(module, torch.nn.Conv2d):
            module.register_forward_hook(on_conv)
    torch.nn.functional.scaled_dot_product_attention = counting_sdpa
    try:
        model(pixels)  # with autograd on, every attention problem goes through SDPA
    finally:
        torch.nn.functional.scaled_dot_product_attention = sdpa
    return counts


def test_cost_features_count_what_the_forward_pass_does():
    space = gas.get_space("hiera", img_size=64)
    for bp in _small_random_blueprints(space, 6, max_params=2e6):
        features = space.cost_features(bp)
        model = space.build(bp)
        counts = _hooked_counts(model, torch.zeros(1, bp.in_chans, bp.img_size, bp.img_size))
        assert features["linear_macs"] == counts["linear"], bp
        assert features["conv_macs"] == counts["conv"], bp
        assert features["attention_problems"] == counts["problems"], bp
        assert features["params"] == space.cost(bp).params
        assert features["blocks"] == len(model.blocks)
