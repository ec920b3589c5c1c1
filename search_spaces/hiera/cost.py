"""Exact parameter count and MACs of a Hiera blueprint, without building the model.

The counts mirror `model.py` layer by layer and fvcore's conventions (see `Cost`): a linear layer
on N tokens costs N * in * out, the patch conv H'W' * C_in * C_out * k^2, attention 2 * N_q * N_k * C
(q@k^T and attn@v), a LayerNorm 5 per element; biases, activations, softmax and pooling are free.

All blocks of a stage but the first are identical, so the cost is computed per stage in O(stages),
which is what lets the generator price tens of thousands of proposals per second.
"""

from __future__ import annotations

from gas_kernel.cost import Cost
from search_spaces.hiera.blueprint import HieraBlueprint

LAYER_NORM_MACS_PER_ELEMENT = 5  # fvcore's count for an affine LayerNorm


def hiera_cost(bp: HieraBlueprint) -> Cost:
    stem_params, stem_macs = _stem_cost(bp)
    params, macs = stem_params, stem_macs
    flat_q = bp.q_stride * bp.q_stride
    window = bp.mask_unit_size * bp.mask_unit_size  # flattened mask unit at the current stage
    dim_in, tokens_in, prev_mua = bp.stages[0].dim, bp.num_tokens, bp.stages[0].mask_unit_attn
    for index, stage in enumerate(bp.stages):
        pools = index > 0 and index <= bp.q_pool
        if pools:
            window //= flat_q
        tokens = tokens_in // flat_q if pools else tokens_in
        # First block: takes the previous stage's width and tokens, and its attention type.
        keys = (flat_q if pools else 1) * window if prev_mua else tokens_in
        p, m = _block_cost(dim_in, stage.dim, stage.mlp_hidden, tokens_in, tokens, keys)
        params, macs = params + p, macs + m
        if stage.depth > 1:
            keys = window if stage.mask_unit_attn else tokens
            p, m = _block_cost(stage.dim, stage.dim, stage.mlp_hidden, tokens, tokens, keys)
            params, macs = params + (stage.depth - 1) * p, macs + (stage.depth - 1) * m
        dim_in, tokens_in, prev_mua = stage.dim, tokens, stage.mask_unit_attn
    head_params, head_macs = _head_cost(dim_in, bp.num_classes)
    return Cost(params=params + head_params, macs=macs + head_macs)


def _stem_cost(bp: HieraBlueprint) -> tuple[int, int]:
    """Patch embedding conv plus the absolute position embedding."""
    dim = bp.stages[0].dim
    kernel_weights = bp.in_chans * bp.patch_kernel * bp.patch_kernel * dim
    params = kernel_weights + dim + bp.num_tokens * dim
    return params, bp.num_tokens * kernel_weights


def _block_cost(
    dim_in: int, dim_out: int, hidden: int, tokens_in: int, tokens_out: int, keys: int
) -> tuple[int, int]:
    """One HieraBlock; `keys` is how many tokens each query attends to."""
    params = 2 * dim_in + 3 * dim_out * (dim_in + 1) + dim_out * (dim_out + 1) + 2 * dim_out
    params += hidden * (dim_out + 1) + dim_out * (hidden + 1)
    macs = LAYER_NORM_MACS_PER_ELEMENT * (tokens_in * dim_in + tokens_out * dim_out)
    macs += tokens_in * dim_in * 3 * dim_out  # qkv
    macs += 2 * tokens_out * keys * dim_out  # q @ k^T and attn @ v over all heads
    macs += tokens_out * dim_out * dim_out  # attn.proj
    macs += 2 * tokens_out * dim_out * hidden  # mlp
    if dim_in != dim_out:  # residual projection, applied before Q-pooling
        params += dim_in * dim_out + dim_out
        macs += tokens_in * dim_in * dim_out
    return params, macs


def _head_cost(dim: int, num_classes: int) -> tuple[int, int]:
    params, macs = 2 * dim, LAYER_NORM_MACS_PER_ELEMENT * dim
    if num_classes > 0:
        params += dim * num_classes + num_classes
        macs += dim * num_classes
    return params, macs
