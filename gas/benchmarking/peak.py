"""The machine's measured matmul peak, the yardstick for "achieved GFLOP/s".

A large square fp32 `torch.mm` (2048 x 2048 by default) on the same device, dtype and thread count
as the models. An n x n by n x n matmul is n**3 multiply-adds = 2 * n**3 FLOPs; model figures are
counted in MACs (fvcore/timm convention, 1 MAC = 1 "flop" in their tables), so a model's achieved
GFLOP/s is 2 * MACs * batch / seconds, which is what makes the fraction of this peak meaningful.
"""

from __future__ import annotations

import statistics
import timeit

import torch

from evaluators.device import device_clock

__all__ = ["FLOPS_PER_MAC", "matmul_peak_gflops"]

FLOPS_PER_MAC = 2


def matmul_peak_gflops(
    device: str = "cpu", dtype: torch.dtype = torch.float32, size: int = 2048, repeats: int = 5
) -> float:
    """Median GFLOP/s of `repeats` timed `size`-square matmuls after two warm-up calls."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    calls = timeit.Timer(lambda: torch.mm(a, b), timer=device_clock(device))
    with torch.inference_mode():
        calls.timeit(2)
        seconds = statistics.median(calls.repeat(repeat=repeats, number=1))
    return FLOPS_PER_MAC * size**3 / seconds / 1e9
