"""The one Hiera implementation: exact parity with timm's Hiera, token layout, features."""

import pytest
import timm
import torch
import torch.nn.functional as F

import gas
from search_spaces.hiera import Hiera, HieraBlueprint, StageSpec
from search_spaces.hiera import model as hiera_model
from search_spaces.hiera.model import (
    _inference_kernel,
    _max_pool,
    _unit_attention_bmm,
    _unit_attention_one_query,
    reroll,
    unroll,
)
from search_spaces.hiera.presets import TIMM_NAMES

SPACE = gas.get_space("hiera")


def _timm_hiera(name: str) -> torch.nn.Module:
    """timm's model with its (slow, irrelevant here) weight init skipped."""
    return timm.create_model(TIMM_NAMES[name], weight_init="skip", fix_init=False).eval()


def _ours_with_weights(name: str, state_dict: dict) -> torch.nn.Module:
    """Our preset built without allocating, then given timm's tensors (strict)."""
    with torch.device("meta"):
        model = Hiera(**SPACE.preset(name).model_kwargs())
    model.load_state_dict(state_dict, strict=True, assign=True)
    return model.eval()


@pytest.mark.parametrize("name", sorted(TIMM_NAMES))
def test_preset_matches_timm_exactly(name):
    reference = _timm_hiera(name)
    state_dict = reference.state_dict()
    ours = _ours_with_weights(name, state_dict)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in reference.parameters())
    assert list(ours.state_dict()) == list(state_dict)
    batch = torch.randn(1 if name in ("hiera_large", "hiera_huge") else 2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        difference = (ours(batch) - reference(batch)).abs().max().item()
    assert difference < 1e-4


def test_built_preset_has_timm_parameter_count_and_loads_its_checkpoint():
    reference = _timm_hiera("hiera_tiny")
    ours = SPACE.build(SPACE.preset("hiera_tiny"))
    assert sum(p.numel() for p in ours.parameters()) == 27_910_216
    ours.load_state_dict(reference.state_dict(), strict=True)


def test_forward_intermediates_match_timm_feature_maps():
    reference = _timm_hiera("hiera_tiny")
    ours = _ours_with_weights("hiera_tiny", reference.state_dict())
    batch = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        final, features = ours.forward_intermediates(batch)
        expected = reference.forward_intermediates(batch, intermediates_only=True)
        final_features = ours.forward_features(batch)
    assert [tuple(f.shape) for f in features] == [(1, 96, 56, 56), (1, 192, 28, 28), (1, 384, 14, 14), (1, 768, 7, 7)]
    for got, want in zip(features, expected):
        assert torch.allclose(got, want, atol=1e-5)
    assert torch.equal(final, final_features)


def test_feature_info_reports_channels_and_reduction():
    model = SPACE.build(SPACE.preset("turbovit_ref"))
    assert [(f["num_chs"], f["reduction"]) for f in model.feature_info] == [(64, 4), (128, 8), (256, 16), (512, 32)]


@pytest.mark.parametrize("grid,levels", [(8, 3), (16, 2), (14, 1), (4, 0)])
def test_reroll_inverts_unroll(grid, levels):
    tokens = torch.arange(2 * grid * grid * 3, dtype=torch.float32).view(2, grid * grid, 3)  # [B, N, C]
    spatial = tokens.view(2, grid, grid, 3)  # [B, H, W, C]
    assert torch.equal(reroll(unroll(tokens, grid, 2, levels), levels, 2), spatial)


def test_unroll_puts_each_pooling_window_in_the_outer_slices():
    grid = 8
    tokens = torch.arange(grid * grid, dtype=torch.float32).view(1, grid * grid, 1)  # [1, N, 1]
    pooled = unroll(tokens, grid, 2, 3).view(1, 4, -1, 1).amax(dim=1)  # [1, N/4, 1]
    expected = torch.nn.functional.max_pool2d(tokens.view(1, 1, grid, grid), 2)  # [1, 1, 4, 4]
    assert torch.equal(reroll(pooled, 2, 2).flatten(), expected.flatten())


def test_random_blueprints_build_and_run_at_small_images():
    space = gas.get_space("hiera", img_size=32, num_classes=10)
    for seed in range(10):
        bp = space.random(seed)
        if space.cost(bp).params > 5e6:
            continue
        model = space.build(bp)
        with torch.inference_mode():
            logits = model(torch.randn(2, 3, 32, 32))
            features = model.forward_intermediates(torch.randn(2, 3, 32, 32), intermediates_only=True)
        assert logits.shape == (2, 10)
        assert [f.shape[1] for f in features] == [s.dim for s in bp.stages]
        assert [f.shape[-1] for f in features] == [32 // bp.reduction(i) for i in range(bp.num_stages)]


def test_pooling_without_width_change_pools_the_residual():
    bp = HieraBlueprint(
        img_size=32, num_classes=10, patch_kernel=3, patch_stride=2, patch_padding=1, mask_unit_size=2, q_pool=1,
        stages=[StageSpec(depth=1, dim=32, heads=1, mask_unit_attn=True), StageSpec(depth=2, dim=32, heads=1)],
    )
    model = gas.get_space("hiera").build(bp)
    final = model.forward_features(torch.randn(1, 3, 32, 32))
    assert final.shape == (1, 64, 32)  # 16x16 tokens pooled once to 8x8


def test_drop_path_is_active_in_training_only():
    bp = gas.get_space("hiera", img_size=32, num_classes=10, drop_path_rate=0.5).random(1)
    model = gas.get_space("hiera").build(bp)
    batch = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(batch), model(batch))
        model.train()
        torch.manual_seed(0)
        first = model(batch)
        torch.manual_seed(1)
        assert not torch.equal(first, model(batch))


def _mask_unit_pooling_blueprint() -> HieraBlueprint:
    """Two mask unit stages (the second pools its queries inside the units), then global attention."""
    return HieraBlueprint(
        img_size=64, num_classes=10, patch_kernel=7, patch_stride=4, patch_padding=3, mask_unit_size=4,
        q_pool=2, stages=(StageSpec(depth=1, dim=32, heads=2, mlp_ratio=2.0, mask_unit_attn=True),
                          StageSpec(depth=2, dim=48, heads=3, mlp_ratio=2.0, mask_unit_attn=True),
                          StageSpec(depth=1, dim=64, heads=4, mlp_ratio=2.0, mask_unit_attn=False)),
    )


def test_head_major_mask_unit_attention_is_bitwise_timm_order_in_outputs_and_gradients():
    """The copy-free path (qkv rows read head-major) and the `self.qkv(x)` path are the same function."""
    torch.manual_seed(0)
    model = SPACE.build(_mask_unit_pooling_blueprint())
    batch = torch.randn(3, 3, 64, 64)
    results = []
    for hooked in (False, True):
        model.zero_grad()
        handles = [b.attn.qkv.register_forward_hook(lambda *_: None) for b in model.blocks] if hooked else []
        logits = model(batch)
        logits.square().sum().backward()
        results.append((logits.detach(), [p.grad.clone() for p in model.parameters()]))
        for handle in handles:
            handle.remove()
    (fast_logits, fast_grads), (timm_logits, timm_grads) = results
    assert torch.equal(fast_logits, timm_logits)
    assert all(torch.allclose(a, b, rtol=0, atol=1e-6) for a, b in zip(fast_grads, timm_grads))


def test_a_wrapped_or_hooked_qkv_sees_its_own_call():
    """LoRA wrappers, quantized Linears and forward hooks replace or watch `attn.qkv`: they must be called."""
    model = SPACE.build(_mask_unit_pooling_blueprint()).eval()
    calls = []
    model.blocks[0].attn.qkv.register_forward_hook(lambda module, inputs, output: calls.append(output.shape))
    model(torch.randn(1, 3, 64, 64))
    assert calls == [torch.Size([1, 256, 96])]


@pytest.mark.parametrize(("keys", "queries", "units", "head_dim"), [(4, 4, 1176, 32), (16, 4, 98, 64), (64, 16, 49, 64), (4, 1, 30, 32)])
def test_unit_attention_by_batched_matmuls_is_sdpa(keys, queries, units, head_dim):
    """The CPU inference path computes SDPA's attention, per unit, within float rounding."""
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(3, t, units, head_dim, generator=generator) for t in (queries, keys, keys))
    expected = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))  # [B, U, T', d]
    got = _unit_attention_bmm(q, k, v)
    assert got.shape == (3, queries, units, head_dim)
    assert torch.allclose(got, expected.transpose(1, 2), rtol=0, atol=2e-6)


@pytest.mark.parametrize(("keys", "units", "head_dim"), [(4, 2940, 32), (4, 784, 64), (9, 30, 16)])
def test_unit_attention_for_one_query_is_sdpa(keys, units, head_dim):
    """Units Q-pooled to one query: the elementwise kernel computes SDPA's attention within float rounding,
    on strided views like the model's."""
    generator = torch.Generator().manual_seed(0)
    q, k, v = torch.randn(2, keys, units, 3, head_dim, generator=generator).unbind(3)  # each [B, T, U, d], strided
    q = q[:, :1]  # [B, 1, U, d]
    expected = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))  # [B, U, 1, d]
    got = _unit_attention_one_query(q, k, v)
    assert got.shape == (2, 1, units, head_dim)
    assert torch.allclose(got, expected.transpose(1, 2), rtol=0, atol=2e-6)


def test_inference_kernel_by_queries_size_and_dtype():
    def units(batch, queries, keys, units, dtype=torch.float32):
        return torch.zeros(batch, queries, units, 32, dtype=dtype), torch.zeros(batch, keys, units, 32, dtype=dtype)

    assert _inference_kernel(*units(32, 4, 4, 1176)) == "bmm"
    assert _inference_kernel(*units(7, 1, 4, 2940)) == "one_query"  # Q-pooled to one query per unit
    assert _inference_kernel(*units(32, 1, 4, 2940)) == "sdpa"  # its products would take 48 MiB
    assert _inference_kernel(*units(6, 64, 64, 49)) == "bmm"  # 1.2M scores
    assert _inference_kernel(*units(32, 64, 64, 49)) == "sdpa"  # 6.4M scores
    assert _inference_kernel(*units(1, 4, 4, 1176, torch.bfloat16)) == "sdpa"
    assert _inference_kernel(*units(1, 1, 4, 1176, torch.bfloat16)) == "sdpa"


def test_q_pooling_by_running_maximum_is_bitwise_amax():
    """Strided query views in CPU inference take pairwise maxima: the same values, bit for bit."""
    qkv = torch.randn(2, 4, 5, 6, 3, 8)  # [B, q_stride, T/q, U, (q, k, v), d]
    queries = qkv[..., 0, :]  # [B, q_stride, T/q, U, d], strided
    with torch.inference_mode():
        pooled = _max_pool(queries, dim=1)
    assert torch.equal(pooled, queries.amax(dim=1))


def test_inplace_gelu_in_inference_matches_and_spares_a_hooked_fc1_output():
    """CPU inference applies GELU in place to fc1's output, only where no hook may be holding that output."""
    torch.manual_seed(0)
    mlp = hiera_model.Mlp(16, 32).eval()
    tokens = torch.randn(2, 5, 16)
    with torch.inference_mode():
        inplace = mlp(tokens)
        captured = []
        mlp.fc1.register_forward_hook(lambda module, inputs, output: captured.append(output))
        hooked = mlp(tokens)
    assert torch.equal(inplace, mlp(tokens).detach())
    assert torch.equal(hooked, inplace)
    assert torch.equal(captured[0], mlp.fc1(tokens).detach())  # still fc1's output, not its GELU


def _sdpa_calls(model: torch.nn.Module, batch: torch.Tensor) -> int:
    calls = []
    sdpa = F.scaled_dot_product_attention
    F.scaled_dot_product_attention = lambda *args, **kwargs: calls.append(1) or sdpa(*args, **kwargs)
    try:
        model(batch)
    finally:
        F.scaled_dot_product_attention = sdpa
    return len(calls)


def test_inference_takes_its_own_kernels_for_mask_units_and_matches_training_path():
    """Stage 1's 2x2 units (4 queries) take the batched matmuls in inference; stage 2's block (pooled
    to one query per unit) and stage 3's first (still in those one-token units) the elementwise kernel;
    stage 3's global attention takes SDPA, as does all of training."""
    torch.manual_seed(0)
    blueprint = HieraBlueprint(
        img_size=64, num_classes=10, patch_kernel=7, patch_stride=4, patch_padding=3, mask_unit_size=2,
        q_pool=1, stages=(StageSpec(depth=1, dim=32, heads=2, mlp_ratio=2.0, mask_unit_attn=True),
                          StageSpec(depth=1, dim=48, heads=3, mlp_ratio=2.0, mask_unit_attn=True),
                          StageSpec(depth=2, dim=64, heads=4, mlp_ratio=2.0, mask_unit_attn=False)),
    )
    model = SPACE.build(blueprint).eval()
    batch = torch.randn(2, 3, 64, 64)
    assert _sdpa_calls(model, batch) == 4
    with torch.inference_mode():
        assert _sdpa_calls(model, batch) == 1
        inference = model(batch)
    assert torch.allclose(inference, model(batch).detach(), rtol=0, atol=1e-5)


def test_cpu_inference_in_chunks_of_images_whose_widest_activation_fits_32_mib(monkeypatch):
    model = SPACE.build(_mask_unit_pooling_blueprint()).eval()
    # widest activation: stage 2's first qkv, 256 tokens (before its pooling) x 3 * 48
    assert model._images_per_chunk(torch.zeros(1)) == 32 * 2**20 // (256 * 144 * 4)
    batch = torch.randn(5, 3, 64, 64)
    with torch.inference_mode():
        whole = model(batch)
        monkeypatch.setattr(hiera_model, "_MAX_CHUNK_BYTES", 2 * 256 * 144 * 4)  # 2 images per chunk
        assert model._images_per_chunk(batch) == 2
        calls = []
        model.blocks[0].register_forward_pre_hook(lambda module, inputs: calls.append(len(inputs[0])))
        chunked = model(batch)
    assert calls == [2, 2, 1]
    assert torch.equal(chunked, whole)


def test_chunking_survives_a_wrapped_qkv():
    """A LoRA-style wrapper has no `out_features`: the widest activation was read when the model was built."""
    model = SPACE.build(_mask_unit_pooling_blueprint()).eval()
    model.blocks[0].attn.qkv = torch.nn.Sequential(model.blocks[0].attn.qkv)
    with torch.inference_mode():
        assert model(torch.randn(2, 3, 64, 64)).shape == (2, 10)
    assert model.widest_activation == 256 * 144
