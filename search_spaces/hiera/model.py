"""Hiera-style hierarchical vision transformer: mask unit attention and Q-pooling.

This is the one model implementation of gas: the search builds it, and `gas export` writes this
very code into the exported TurboViT file. So it imports only torch and reads top-down like a model
file: helpers, attention, block, head, model.

Module and parameter names follow timm's `timm/models/hiera.py` (patch_embed.proj, pos_embed,
blocks.N.{norm1,proj,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}, head.{norm,fc}), so timm Hiera
checkpoints load with strict=True into a matching configuration. Unlike timm's Hiera, every stage
has its own width, heads and MLP ratio.

Token layout (Hiera, arXiv 2306.00989): after the patch embedding the tokens are "unrolled": the
q_stride x q_stride sub-grid offsets of every level move outward, finest first, so that
  - Q-pooling is a max over the outermost q_stride**2 slices: x.view(B, q_stride**2, -1, C).amax(1)
  - a mask unit of q_stride**k x q_stride**k tokens is the set of tokens sharing the inner index,
    i.e. tokens t, t + W, t + 2W, ... for W mask units, so windowing is a reshape.
"""

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

LAYER_NORM_EPS = 1e-6  # timm's LayerNorm default; Hiera checkpoints are trained with it


def drop_path(x: torch.Tensor, drop_prob: float, training: bool) -> torch.Tensor:
    """Stochastic depth: zero whole samples of a residual branch with probability `drop_prob`."""
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1.0 - drop_prob
    mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep_prob)
    return x * mask / keep_prob


def unroll(x: torch.Tensor, grid_size: int, q_stride: int, levels: int) -> torch.Tensor:
    """Reorder [B, H*W, C] tokens so each level's q_stride x q_stride offsets are outermost."""
    B, _, C = x.shape
    size = grid_size
    x = x.view(B, 1, size, size, C)  # [B, outer=1, H, W, C]
    for _ in range(levels):
        size //= q_stride
        x = x.reshape(B, -1, size, q_stride, size, q_stride, C)  # [B, outer, h, sy, w, sx, C]
        x = x.permute(0, 1, 3, 5, 2, 4, 6)  # [B, outer, sy, sx, h, w, C]
    return x.reshape(B, -1, C)  # [B, H*W, C], finest offsets outermost


def reroll(x: torch.Tensor, levels: int, q_stride: int) -> torch.Tensor:
    """Undo the `levels` unroll levels still present in x: [B, N, C] -> spatial [B, H, W, C]."""
    B, N, C = x.shape
    size = math.isqrt(N // q_stride ** (2 * levels))  # side of the coarsest grid
    x = x.view(B, -1, size, size, C)  # [B, outer, h, w, C]
    for _ in range(levels):
        x = x.reshape(B, -1, q_stride, q_stride, size, size, C)  # [B, outer, sy, sx, h, w, C]
        x = x.permute(0, 1, 4, 2, 5, 3, 6)  # [B, outer, h, sy, w, sx, C]
        size *= q_stride
        x = x.reshape(B, -1, size, size, C)  # [B, outer, h*sy, w*sx, C]
    return x.view(B, size, size, C)  # [B, H, W, C]


def _head_major(rows: torch.Tensor, heads: int) -> torch.Tensor:
    """qkv weight rows (or bias) from timm's [(q, k, v), heads, head_dim] order to [heads, (q, k, v), head_dim].

    A copy of the (small) weight per call instead of copies of the (large) activations. The parameter
    keeps timm's layout, so checkpoints, optimizers and timm's EMA (which updates `state_dict()`
    tensors in place) see timm's tensors.
    """
    return rows.unflatten(0, (3, heads, -1)).transpose(0, 1).flatten(0, 2)  # [3*h*d, ...] -> [h*3*d, ...]


_MAX_BMM_SCORES = 2**21  # attention scores (the batch's units x queries x keys) written out at most: 8 MiB in fp32
_MAX_CHUNK_BYTES = 32 * 2**20  # glibc's largest mmap threshold: larger blocks are mapped (and page-faulted) afresh


def _eager_inference(x: torch.Tensor) -> bool:
    """A CPU forward pass with autograd off, not traced, compiled or exported: where the CPU-only
    shortcuts below apply (training, CUDA and graph capture keep one path for the whole batch)."""
    return (x.device.type == "cpu" and not torch.is_grad_enabled()
            and not (torch.jit.is_tracing() or torch.compiler.is_compiling()))


def _unit_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v within each mask unit: q [B, T', U, d], k and v [B, T, U, d] -> [B, T', U, d].

    U = units x heads independent problems of T (4-64) keys. SDPA's fused CPU kernel pays a fixed
    cost per problem, which dominates at these sizes, so fp32 CPU inference takes a kernel written
    for them: `_unit_attention_one_query` where a unit was Q-pooled to one query, else
    `_unit_attention_bmm`; not where they would write out too much (scores over 8 MiB: 8x8 units at
    large batch; SDPA never writes its scores out), where the fused kernel is as fast or faster
    (benchmarks/results/unit_attention.md).
    Training keeps SDPA (its backward is fused), as do CUDA and tracing, compiling or exporting (the
    batched matmuls loop over the batch).
    """
    kernel = _inference_kernel(q, k) if _eager_inference(q) else "sdpa"
    if kernel == "one_query":
        return _unit_attention_one_query(q, k, v)
    if kernel == "bmm":
        return _unit_attention_bmm(q, k, v)
    return F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)).transpose(1, 2)


def _inference_kernel(q: torch.Tensor, k: torch.Tensor) -> str:
    """Which kernel is fastest for these units in CPU inference: "one_query", "bmm" or "sdpa" (measured
    in fp32: SDPA's softmax accumulates half precision inputs in fp32, the written-out ones would not).
    The batched matmuls lose to the fused kernel once their scores outgrow the caches (over 8 MiB);
    the elementwise kernel runs on keys up to the chunk bound of 32 MiB (measured up to 10.5 MiB)."""
    if q.dtype != torch.float32:
        return "sdpa"
    if q.shape[1] == 1:
        return "one_query" if k.numel() * k.element_size() <= _MAX_CHUNK_BYTES else "sdpa"
    scores = q.numel() // q.shape[-1] * k.shape[1]
    return "bmm" if scores <= _MAX_BMM_SCORES else "sdpa"


def _scaled_softmax(scores: torch.Tensor, dim: int, head_dim: int) -> torch.Tensor:
    """softmax(scores / sqrt(head_dim)) over `dim`, written out for rows of a few keys (torch's softmax
    is slow on rows of 4), max-shifted as torch does; `scores` itself is left as it is."""
    attn = (scores - scores.amax(dim=dim, keepdim=True)).mul_(head_dim**-0.5).exp_()
    return attn.div_(attn.sum(dim=dim, keepdim=True))


def _unit_attention_bmm(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """`_unit_attention` as two batched matmuls per image, which read the strided views (nothing is
    copied), and a softmax over the tiny rows written out (torch's is slow for rows of 4)."""
    B, queries, units, head_dim = q.shape
    scores = q.new_empty(B, units, queries, k.shape[1])  # [B, U, T', T]
    for q_b, k_b, scores_b in zip(q, k, scores):
        torch.bmm(q_b.transpose(0, 1), k_b.permute(1, 2, 0), out=scores_b)  # [U, T', d] @ [U, d, T]
    attn = _scaled_softmax(scores, dim=-1, head_dim=head_dim)  # over each query's keys
    out = q.new_empty(B, units, queries, head_dim)  # [B, U, T', d]
    for attn_b, v_b, out_b in zip(attn, v, out):
        torch.bmm(attn_b, v_b.transpose(0, 1), out=out_b)  # [U, T', T] @ [U, T, d]
    return out.transpose(1, 2)  # [B, T', U, d]


def _unit_attention_one_query(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """`_unit_attention` for units Q-pooled to a single query (q [B, 1, U, d]) as elementwise products
    summed: per unit a matmul would be a matrix-vector product, and SDPA's per-problem cost is paid on
    problems of 4 keys (TurboViT's Q-pooling block: 1.5-2.3x faster, benchmarks/results/unit_attention.md).

    Key by key, so no temporary outgrows one key's [B, U, d]: products as large as k (10.5 MB in a
    7-image TurboViT chunk) lifted a chunk's heap footprint past glibc's trim threshold, which then
    gave the heap back after every chunk and page-faulted it in again (25-46k faults per batch-32
    forward against 0-19k).
    """
    query = q[:, 0]  # [B, U, d]
    scores = torch.stack([(key * query).sum(dim=-1, keepdim=True) for key in k.unbind(1)], dim=1)  # [B, T, U, 1]
    attn = _scaled_softmax(scores, dim=1, head_dim=q.shape[-1])  # over each unit's T keys
    out = v[:, :1] * attn[:, :1]  # [B, 1, U, d]
    for t in range(1, v.shape[1]):
        out.addcmul_(v[:, t : t + 1], attn[:, t : t + 1])
    return out


def _max_pool(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Q-pooling: the maximum over `dim` (the q_stride**2 outermost slices), bitwise `x.amax(dim)`.

    Pooled queries are strided views into the qkv output, where `amax` reduces slowly; in CPU
    inference a running `torch.maximum` over the slices reads them 1.6-1.7x faster in a chunk of a
    batch (benchmarks/results/unit_attention.md).
    """
    if x.is_contiguous() or not _eager_inference(x):
        return x.amax(dim=dim)
    slices = x.unbind(dim)
    pooled = torch.maximum(slices[0], slices[1])
    for other in slices[2:]:
        torch.maximum(pooled, other, out=pooled)
    return pooled


def _is_plain(module: nn.Module, kind: type[nn.Module]) -> bool:
    """A `kind` itself (not a subclass or wrapper) with no forward hooks: calling its functional form
    is calling it, and its output is a fresh tensor no one else holds."""
    return type(module) is kind and not (module._forward_hooks or module._forward_pre_hooks)


class PatchEmbed(nn.Module):
    """Strided convolution from pixels to a [B, tokens, dim] sequence."""

    def __init__(self, in_chans: int, dim: int, kernel: int, stride: int, padding: int):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=kernel, stride=stride, padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)  # [B, dim, H', W']
        return x.flatten(2).transpose(1, 2)  # [B, H'*W', dim]


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.fc1(x)  # [B, N, hidden]
        if _eager_inference(x) and _is_plain(self.fc1, nn.Linear) and _is_plain(self.act, nn.GELU):
            # CPU inference: GELU in place on fc1's fresh output, one pass less over the widest activation
            return self.fc2(torch.ops.aten.gelu_(hidden, approximate=self.act.approximate))
        return self.fc2(self.act(hidden))


class MaskUnitAttention(nn.Module):
    """Attention within mask units (or globally), optionally max-pooling the queries by q_stride.

    `window_size` is the flattened mask unit size *after* this block's pooling; `q_stride` is the
    flattened pooling factor (q_stride**2 for a square stride).
    """

    def __init__(
        self,
        dim: int,
        dim_out: int,
        heads: int,
        q_stride: int = 1,
        window_size: int = 0,
        use_mask_unit_attn: bool = False,
    ):
        super().__init__()
        self.dim_out = dim_out
        self.heads = heads
        self.head_dim = dim_out // heads
        self.q_stride = q_stride
        self.window_size = window_size
        self.use_mask_unit_attn = use_mask_unit_attn
        self.qkv = nn.Linear(dim, 3 * dim_out)
        self.proj = nn.Linear(dim_out, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_mask_unit_attn:
            x = self._mask_unit_attention(x)
        else:
            x = self._global_attention(x)
        return self.proj(x)

    def _mask_unit_attention(self, x: torch.Tensor) -> torch.Tensor:
        """Attention within each of the W mask units (token t belongs to unit t mod W)."""
        if _is_plain(self.qkv, nn.Linear):
            return self._mask_unit_attention_head_major(x)
        return self._mask_unit_attention_timm_order(x)

    def _mask_unit_attention_head_major(self, x: torch.Tensor) -> torch.Tensor:
        """Mask unit attention on strided views of one qkv output: q, k and v are never copied.

        The qkv rows are read head-major (`_head_major`), so a token's qkv is [h, (q, k, v), d] and
        the units' heads fold into one batch of W*h problems ([B, T, W*h, d] views) that SDPA or the
        batched matmuls read in place. In timm's row order each of q, k and v is a copy (with SDPA's
        output, 13% of TurboViT's batch-32 forward on a CPU, benchmarks/results/model_speed.md).
        """
        B, N, _ = x.shape
        windows = N // (self.q_stride * self.window_size)
        weight, bias = (_head_major(t, self.heads) for t in (self.qkv.weight, self.qkv.bias))
        qkv = F.linear(x, weight, bias).view(B, -1, windows * self.heads, 3, self.head_dim)  # [B, T, W*h, 3, d]
        q, k, v = qkv.unbind(3)  # each [B, T, W*h, d]
        if self.q_stride > 1:
            q = _max_pool(q.view(B, self.q_stride, -1, windows * self.heads, self.head_dim), dim=1)  # [B, T/q, W*h, d]
        x = _unit_attention(q, k, v)  # [B, T/q, W*h, d]
        return x.reshape(B, -1, self.dim_out)  # [B, T/q * W, h * d]

    def _mask_unit_attention_timm_order(self, x: torch.Tensor) -> torch.Tensor:
        """The same attention through `self.qkv(x)`, for a qkv that is not a plain nn.Linear (a
        LoRA wrapper, a quantized Linear) or that has forward hooks: they see their own call."""
        B, N, _ = x.shape
        windows = N // (self.q_stride * self.window_size)
        qkv = self.qkv(x).reshape(B, -1, windows, 3, self.heads, self.head_dim)  # [B, T, W, 3, h, d]
        q, k, v = qkv.permute(3, 0, 4, 2, 1, 5).unbind(0)  # each [B, h, W, T, d]
        if self.q_stride > 1:
            q = q.view(B, self.heads, windows, self.q_stride, -1, self.head_dim)  # [B, h, W, q, T/q, d]
            q = _max_pool(q, dim=3)  # [B, h, W, T/q, d]
        # SDPA's fused CPU kernel takes 4-d inputs only (5-d ones fall back to the unfused math path):
        # fold heads and windows into one batch of independent attention problems.
        q, k, v = (t.reshape(B, self.heads * windows, -1, self.head_dim) for t in (q, k, v))  # [B, h*W, T, d]
        x = _unit_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)).transpose(1, 2)  # [B, h*W, T/q, d]
        x = x.view(B, self.heads, windows, -1, self.head_dim)  # [B, h, W, T/q, d]
        return x.transpose(1, 3).reshape(B, -1, self.dim_out)  # [B, T/q * W, h * d]

    def _global_attention(self, x: torch.Tensor) -> torch.Tensor:
        B, N, _ = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, self.head_dim)  # [B, N, 3, h, d]
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each [B, h, N, d], strided views: SDPA reads them
        if self.q_stride > 1:
            q = _max_pool(q.view(B, self.heads, self.q_stride, -1, self.head_dim), dim=2)  # [B, h, N/q, d]
        x = F.scaled_dot_product_attention(q, k, v)  # [B, h, N/q, d]
        return x.transpose(1, 2).reshape(B, -1, self.dim_out)  # [B, N/q, h * d]


class HieraBlock(nn.Module):
    """Pre-norm transformer block; the residual is projected at a width change, max-pooled at a Q-pool."""

    def __init__(
        self,
        dim: int,
        dim_out: int,
        heads: int,
        mlp_ratio: float = 4.0,
        drop_path: float = 0.0,
        q_stride: int = 1,
        window_size: int = 0,
        use_mask_unit_attn: bool = False,
    ):
        super().__init__()
        self.dim = dim
        self.dim_out = dim_out
        self.drop_path = drop_path
        self.norm1 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.proj = nn.Linear(dim, dim_out) if dim != dim_out else None
        self.attn = MaskUnitAttention(dim, dim_out, heads, q_stride, window_size, use_mask_unit_attn)
        self.norm2 = nn.LayerNorm(dim_out, eps=LAYER_NORM_EPS)
        self.mlp = Mlp(dim_out, int(dim_out * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_norm = self.norm1(x)
        if self.proj is not None:
            x = self.proj(x_norm)  # [B, N, C']
        if self.attn.q_stride > 1:
            x = _max_pool(x.view(x.shape[0], self.attn.q_stride, -1, x.shape[-1]), dim=1)  # [B, N/q, C']
        x = x + drop_path(self.attn(x_norm), self.drop_path, self.training)
        x = x + drop_path(self.mlp(self.norm2(x)), self.drop_path, self.training)
        return x


class ClassifierHead(nn.Module):
    """Average-pool the tokens, normalise, classify (timm's ClNormMlpClassifierHead names)."""

    def __init__(self, dim: int, num_classes: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.fc = nn.Linear(dim, num_classes) if num_classes > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.norm(x.mean(dim=1))  # [B, N, C] -> [B, C]
        return x if pre_logits else self.fc(x)


class Hiera(nn.Module):
    """Hierarchical ViT with mask unit attention and Q-pooling; one width, heads, MLP per stage."""

    def __init__(
        self,
        img_size: int = 224,
        in_chans: int = 3,
        num_classes: int = 1000,
        embed_dims: Sequence[int] = (96, 192, 384, 768),
        num_heads: Sequence[int] = (1, 2, 4, 8),
        depths: Sequence[int] = (1, 2, 7, 2),
        mlp_ratios: Sequence[float] = (4.0, 4.0, 4.0, 4.0),
        mask_unit_attn: Sequence[bool] = (True, True, False, False),
        q_pool: int = 3,
        q_stride: int = 2,
        mask_unit_size: int = 8,
        patch_kernel: int = 7,
        patch_stride: int = 4,
        patch_padding: int = 3,
        drop_path_rate: float = 0.0,
    ):
        super().__init__()
        self.num_classes = num_classes
        self.q_stride = q_stride
        self.grid_size = img_size // patch_stride
        self.unroll_levels = len(depths) - 1
        self.stage_ends = [sum(depths[: i + 1]) - 1 for i in range(len(depths))]
        self.stage_pools = [min(i, q_pool) for i in range(len(depths))]  # poolings before stage i
        self.patch_embed = PatchEmbed(in_chans, embed_dims[0], patch_kernel, patch_stride, patch_padding)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid_size**2, embed_dims[0]))
        blocks = self._make_blocks(
            embed_dims, num_heads, depths, mlp_ratios, mask_unit_attn, q_pool, mask_unit_size, drop_path_rate
        )
        self.blocks = nn.ModuleList(blocks)
        self.num_features = embed_dims[-1]
        self.feature_info = [
            {"num_chs": dim, "reduction": patch_stride * q_stride**pools, "module": f"blocks.{end}"}
            for dim, pools, end in zip(embed_dims, self.stage_pools, self.stage_ends)
        ]
        self.head = ClassifierHead(embed_dims[-1], num_classes)
        self.widest_activation = self._widest_activation()
        self._init_weights()

    def _make_blocks(
        self,
        embed_dims: Sequence[int],
        num_heads: Sequence[int],
        depths: Sequence[int],
        mlp_ratios: Sequence[float],
        mask_unit_attn: Sequence[bool],
        q_pool: int,
        mask_unit_size: int,
        drop_path_rate: float,
    ) -> list[HieraBlock]:
        """Blocks in Hiera's order; the first block of a stage changes width and maybe pools.

        As in Hiera, the first block of a stage still uses the previous stage's attention type
        (mask unit or global), so global attention starts after the pooling, at lower resolution.
        """
        total = sum(depths)
        rates = [drop_path_rate * i / max(total - 1, 1) for i in range(total)]
        flat_q_stride = self.q_stride**2
        window = mask_unit_size**2
        blocks, dim, stage = [], embed_dims[0], 0
        for i in range(total):
            use_mask_unit_attn = mask_unit_attn[stage]
            pools_here = i - 1 in self.stage_ends and stage < q_pool
            if i - 1 in self.stage_ends:
                stage += 1
            if pools_here:
                window //= flat_q_stride
            blocks.append(
                HieraBlock(
                    dim=dim,
                    dim_out=embed_dims[stage],
                    heads=num_heads[stage],
                    mlp_ratio=mlp_ratios[stage],
                    drop_path=rates[i],
                    q_stride=flat_q_stride if pools_here else 1,
                    window_size=window,
                    use_mask_unit_attn=use_mask_unit_attn,
                )
            )
            dim = embed_dims[stage]
        return blocks

    def _init_weights(self) -> None:
        """timm's ViT init: truncated normal weights, zero biases, depth-rescaled residual outputs."""
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        for layer_id, block in enumerate(self.blocks, start=1):
            block.attn.proj.weight.data.div_(math.sqrt(2.0 * layer_id))
            block.mlp.fc2.weight.data.div_(math.sqrt(2.0 * layer_id))
        if isinstance(self.head.fc, nn.Linear):
            self.head.fc.weight.data.mul_(0.001)

    @torch.jit.ignore
    def no_weight_decay(self) -> set:
        return {"pos_embed"}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pixels [B, C, H, W] -> final tokens [B, N_last, C_last] (spatial order once fully pooled).

        CPU inference takes a large batch in chunks whose widest activation fits in 32 MiB: glibc
        maps every larger block afresh, so each call page-faults through it (1.29x for TurboViT at
        batch 32: `benchmarks/model_speed.py --baseline 7ee575c`). Every image goes through the same
        ops either way.
        """
        if _eager_inference(x):
            images = self._images_per_chunk(x)
            if images < x.shape[0]:
                return torch.cat([self._forward_features_at_once(chunk) for chunk in x.split(images)])
        return self._forward_features_at_once(x)

    def _images_per_chunk(self, x: torch.Tensor) -> int:
        """The most images whose widest activation stays within 32 MiB."""
        return max(1, _MAX_CHUNK_BYTES // (self.widest_activation * x.element_size()))

    def _widest_activation(self) -> int:
        """Elements per image of the widest activation of a forward pass: a qkv or MLP hidden layer.
        Read from the blocks as built, so a wrapped or quantized Linear later changes nothing."""
        tokens, widest = self.grid_size**2, 0
        for block in self.blocks:
            widest = max(widest, tokens * block.attn.qkv.out_features)
            tokens //= block.attn.q_stride
            widest = max(widest, tokens * block.mlp.fc1.out_features)
        return widest

    def _forward_features_at_once(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x) + self.pos_embed  # [B, N, C0]
        x = unroll(x, self.grid_size, self.q_stride, self.unroll_levels)  # [B, N, C0]
        for block in self.blocks:
            x = block(x)
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return self.head(x, pre_logits=pre_logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def forward_intermediates(
        self,
        x: torch.Tensor,
        indices: Sequence[int] | None = None,
        intermediates_only: bool = False,
    ) -> tuple[torch.Tensor, list[torch.Tensor]] | list[torch.Tensor]:
        """Per-stage feature maps [B, C_i, H_i, W_i] for the stages in `indices` (all by default)."""
        take = set(range(len(self.stage_ends)) if indices is None else indices)
        x = self.patch_embed(x) + self.pos_embed  # [B, N, C0]
        x = unroll(x, self.grid_size, self.q_stride, self.unroll_levels)  # [B, N, C0]
        intermediates = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.stage_ends and self.stage_ends.index(i) in take:
                stage = self.stage_ends.index(i)
                levels = self.unroll_levels - self.stage_pools[stage]
                spatial = reroll(x, levels, self.q_stride)  # [B, H_i, W_i, C_i]
                intermediates.append(spatial.permute(0, 3, 1, 2))  # [B, C_i, H_i, W_i]
        if intermediates_only:
            return intermediates
        return x, intermediates
