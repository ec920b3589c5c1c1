"""Measured latency and throughput: warm-up, many timed forwards, median and IQR.

Timing rules, because a latency figure is only worth what its conditions are:
  * `torch.inference_mode`, eval mode, a fixed thread count (restored afterwards);
  * warm-up calls first (allocator, oneDNN/cuDNN kernel choice, `torch.compile`);
  * freed CPU memory stays in the process heap (`evaluators.allocator.keep_heap`), so calls do not
    pay the host's page-fault cost, the largest source of spread on a virtual machine;
  * on CUDA every timed call is bracketed by `torch.cuda.synchronize()`;
  * the median of the repeats is reported with its interquartile range, and the result names
    the device, threads, dtype and batch it was taken on.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from evaluators.allocator import keep_heap
from evaluators.threads import thread_count
from gas_kernel.errors import GasError

__all__ = ["LatencyResult", "measure_latency", "measure_throughput"]


@dataclass(frozen=True)
class LatencyResult:
    """Per-call wall time of `model(batch)` in milliseconds, and the conditions it was taken under."""

    median_ms: float
    iqr_ms: float
    q1_ms: float
    q3_ms: float
    device: str
    threads: int
    dtype: str
    batch_size: int
    input_size: tuple[int, ...]
    repeats: int
    warmup: int
    channels_last: bool = False
    compiled: bool = False
    samples_ms: tuple[float, ...] = field(default=(), repr=False)

    @property
    def throughput_per_s(self) -> float:
        """Images per second at this batch size (batch / median time)."""
        return self.batch_size * 1000.0 / self.median_ms

    def to_dict(self) -> dict:
        return asdict(self)


def measure_latency(
    model: nn.Module,
    input_size: Sequence[int] = (3, 224, 224),
    batch_size: int = 1,
    device: str = "cpu",
    threads: int | None = None,
    *,
    warmup: int = 10,
    repeats: int = 50,
    dtype: torch.dtype = torch.float32,
    channels_last: bool = False,
    compile: bool = False,
) -> LatencyResult:
    """Time `repeats` forward passes of a `[batch_size, *input_size]` batch after `warmup` passes.

    The model is moved to `device`/`dtype` for the measurement and put back where it was (device,
    dtype, train/eval mode) afterwards.
    """
    _check_device(device)
    if batch_size < 1 or repeats < 1 or warmup < 0:
        raise GasError("batch_size and repeats must be at least 1 and warmup at least 0")
    first = next(model.parameters(), None)
    home = (first.device, first.dtype) if first is not None else (torch.device("cpu"), torch.float32)
    was_training = model.training
    keep_heap()
    with thread_count(threads) as used_threads:
        try:
            runner, x = _prepare(model, input_size, batch_size, device, dtype, channels_last, compile)
            samples = _time_calls(runner, x, device, warmup, repeats)
        finally:
            model.to(*home).train(was_training)
            if channels_last:
                model.to(memory_format=torch.contiguous_format)
    q1, median, q3 = np.percentile(samples, [25, 50, 75])
    return LatencyResult(
        median_ms=float(median),
        iqr_ms=float(q3 - q1),
        q1_ms=float(q1),
        q3_ms=float(q3),
        device=_device_name(device),
        threads=used_threads,
        dtype=str(dtype).removeprefix("torch."),
        batch_size=batch_size,
        input_size=tuple(input_size),
        repeats=repeats,
        warmup=warmup,
        channels_last=channels_last,
        compiled=compile,
        samples_ms=tuple(float(s) for s in samples),
    )


def measure_throughput(model: nn.Module, input_size: Sequence[int] = (3, 224, 224), batch_size: int = 32, **kwargs) -> LatencyResult:
    """`measure_latency` at a throughput batch; read `.throughput_per_s` (images per second)."""
    kwargs.setdefault("warmup", 3)
    kwargs.setdefault("repeats", 10)
    return measure_latency(model, input_size, batch_size, **kwargs)


def _prepare(model, input_size, batch_size, device, dtype, channels_last, compile):
    """The callable to time and its input, on the target device, dtype and memory format."""
    model.to(device=device, dtype=dtype).eval()
    x = torch.randn((batch_size, *input_size), device=device, dtype=dtype)  # [B, C, H, W]
    if channels_last:
        if x.dim() != 4:
            raise GasError("channels_last needs a 4-d [B, C, H, W] input")
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    runner = torch.compile(model) if compile else model
    return runner, x


def _time_calls(runner, x: torch.Tensor, device: str, warmup: int, repeats: int) -> np.ndarray:
    """Milliseconds of each of `repeats` calls, after `warmup` untimed calls."""
    cuda = device.startswith("cuda")
    with torch.inference_mode():
        for _ in range(warmup):
            runner(x)
        samples = np.empty(repeats)
        for i in range(repeats):
            if cuda:
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            runner(x)
            if cuda:
                torch.cuda.synchronize(device)
            samples[i] = (time.perf_counter() - start) * 1000.0
    return samples


def _check_device(device: str) -> None:
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GasError(f"device {device!r} requested but CUDA is not available; use device='cpu'")
    if not (device == "cpu" or device.startswith("cuda")):
        raise GasError(f"unsupported device {device!r}; use 'cpu' or 'cuda[:N]'")


def _device_name(device: str) -> str:
    """'cpu' or 'cuda:0 (NVIDIA H100 ...)': which hardware the figure belongs to."""
    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return "cpu"
