"""Exact parameter count and MACs of a Hiera blueprint, and its cost features, without building it.

The counts mirror `model.py` layer by layer and fvcore's conventions (see `Cost`): a linear layer
on N tokens costs N * in * out, the patch conv H'W' * C_in * C_out * k^2, attention 2 * N_q * N_k * C
(q@k^T and attn@v), a LayerNorm 5 per element; biases, activations, softmax and pooling are free.

All blocks of a stage but the first are identical, so the walk visits one block shape per stage
and kind (`_block_shapes`, O(stages)), which is what lets the generator price tens of thousands of
proposals per second.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from gas_kernel.cost import Cost
from search_spaces.hiera.blueprint import HieraBlueprint

LAYER_NORM_MACS_PER_ELEMENT = 5  # fvcore's count for an affine LayerNorm


@dataclass(frozen=True)
class BlockShape:
    """One HieraBlock's sizes, and how many identical blocks have them."""

    dim_in: int
    dim_out: int
    hidden: int
    heads: int
    tokens_in: int
    tokens_out: int
    keys: int  # tokens each query attends to
    count: int

    @property
    def linear_macs(self) -> int:
        macs = self.tokens_in * self.dim_in * 3 * self.dim_out  # qkv
        macs += self.tokens_out * self.dim_out * self.dim_out  # attn.proj
        macs += 2 * self.tokens_out * self.dim_out * self.hidden  # mlp
        if self.dim_in != self.dim_out:  # residual projection, applied before Q-pooling
            macs += self.tokens_in * self.dim_in * self.dim_out
        return macs

    @property
    def attention_macs(self) -> int:
        return 2 * self.tokens_out * self.keys * self.dim_out  # q @ k^T and attn @ v over all heads

    @property
    def norm_macs(self) -> int:
        return LAYER_NORM_MACS_PER_ELEMENT * (self.tokens_in * self.dim_in + self.tokens_out * self.dim_out)

    @property
    def params(self) -> int:
        params = 2 * self.dim_in + 3 * self.dim_out * (self.dim_in + 1) + self.dim_out * (self.dim_out + 1)
        params += 2 * self.dim_out + self.hidden * (self.dim_out + 1) + self.dim_out * (self.hidden + 1)
        if self.dim_in != self.dim_out:
            params += self.dim_in * self.dim_out + self.dim_out
        return params

    @property
    def activations(self) -> int:
        """Elements the block's non-GEMM steps read or write: norms, qkv split, GELU, residuals."""
        return self.tokens_in * (self.dim_in + 3 * self.dim_out) + self.tokens_out * (4 * self.dim_out + 2 * self.hidden)

    @property
    def attention_problems(self) -> int:
        """Independent softmax(q k^T) v problems per image (heads x windows): each has a fixed cost."""
        return self.heads * (self.tokens_in // self.keys)  # mask units (keys each) or one global


def hiera_cost(bp: HieraBlueprint) -> Cost:
    stem_params, stem_macs = _stem_cost(bp)
    head_params, head_macs = _head_cost(bp.stages[-1].dim, bp.num_classes)
    params, macs = stem_params + head_params, stem_macs + head_macs
    for block in _block_shapes(bp):
        params += block.count * block.params
        macs += block.count * (block.linear_macs + block.attention_macs + block.norm_macs)
    return Cost(params=params, macs=macs)


def hiera_cost_features(bp: HieraBlueprint) -> dict[str, float]:
    """What drives a forward pass's time besides its MACs, per image (see `SearchSpace.cost_features`)."""
    blocks = list(_block_shapes(bp))
    stem_params, stem_macs = _stem_cost(bp)
    head_params, _ = _head_cost(bp.stages[-1].dim, bp.num_classes)
    return {
        "linear_macs": float(sum(b.count * b.linear_macs for b in blocks) + bp.stages[-1].dim * bp.num_classes),
        "attention_macs": float(sum(b.count * b.attention_macs for b in blocks)),
        "conv_macs": float(stem_macs),
        "activations": float(sum(b.count * b.activations for b in blocks) + bp.num_tokens * bp.stages[0].dim),
        "attention_problems": float(sum(b.count * b.attention_problems for b in blocks)),
        "params": float(sum(b.count * b.params for b in blocks) + stem_params + head_params),
        "blocks": float(sum(b.count for b in blocks)),
    }


def _block_shapes(bp: HieraBlueprint) -> Iterator[BlockShape]:
    """Every block shape in order: a stage's first block (takes the previous stage's width, tokens
    and attention type, maybe Q-pools), then its depth - 1 identical blocks."""
    flat_q = bp.q_stride * bp.q_stride
    window = bp.mask_unit_size * bp.mask_unit_size  # flattened mask unit at the current stage
    dim_in, tokens_in, prev_mua = bp.stages[0].dim, bp.num_tokens, bp.stages[0].mask_unit_attn
    for index, stage in enumerate(bp.stages):
        pools = index > 0 and index <= bp.q_pool
        if pools:
            window //= flat_q
        tokens = tokens_in // flat_q if pools else tokens_in
        keys = (flat_q if pools else 1) * window if prev_mua else tokens_in
        yield BlockShape(dim_in, stage.dim, stage.mlp_hidden, stage.heads, tokens_in, tokens, keys, 1)
        if stage.depth > 1:
            keys = window if stage.mask_unit_attn else tokens
            yield BlockShape(stage.dim, stage.dim, stage.mlp_hidden, stage.heads, tokens, tokens, keys, stage.depth - 1)
        dim_in, tokens_in, prev_mua = stage.dim, tokens, stage.mask_unit_attn


def _stem_cost(bp: HieraBlueprint) -> tuple[int, int]:
    """Patch embedding conv plus the absolute position embedding."""
    dim = bp.stages[0].dim
    kernel_weights = bp.in_chans * bp.patch_kernel * bp.patch_kernel * dim
    params = kernel_weights + dim + bp.num_tokens * dim
    return params, bp.num_tokens * kernel_weights


def _head_cost(dim: int, num_classes: int) -> tuple[int, int]:
    params, macs = 2 * dim, LAYER_NORM_MACS_PER_ELEMENT * dim
    if num_classes > 0:
        params += dim * num_classes + num_classes
        macs += dim * num_classes
    return params, macs
