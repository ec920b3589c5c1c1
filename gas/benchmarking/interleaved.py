"""Time several callables in turn, round by round, so every one of them shares every moment's load.

The benchmarks compare kernels, model versions and deployment paths side by side on a shared
machine; timing one after the other would hand each a different load. Here every round calls each
callable once, and each one's median over the rounds is reported.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import torch

__all__ = ["interleaved_medians"]


def interleaved_medians(calls: Sequence[Callable[[], object]], rounds: int, warmup: int = 1) -> list[float]:
    """Median seconds per call of each of `calls` (in their order), under `torch.inference_mode`:
    `warmup` untimed calls of each, then `rounds` rounds that call each once in turn."""
    samples: list[list[float]] = [[] for _ in calls]
    with torch.inference_mode():
        for call in calls:
            for _ in range(warmup):
                call()
        for _ in range(rounds):
            for times, call in zip(samples, calls):
                started = time.perf_counter()
                call()
                times.append(time.perf_counter() - started)
    return [statistics.median(times) for times in samples]
