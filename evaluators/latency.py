"""Measured latency and throughput: warm-up, many timed forwards, median and IQR.

Timing rules, because a latency figure is only worth what its conditions are:
  * `torch.inference_mode`, eval mode, a fixed thread count (restored afterwards);
  * warm-up calls first (allocator, oneDNN/cuDNN kernel choice, `torch.compile`);
  * freed CPU memory stays in the process heap (`evaluators.allocator.keep_heap`), so calls do not
    pay the host's page-fault cost, the largest source of spread on a virtual machine;
  * on CUDA every timed call is bracketed by `torch.cuda.synchronize()` (`device_clock`);
  * the median of the per-call times is reported with its interquartile range, and the result
    names the device, threads, dtype and batch it was taken on.

The calls are timed by the standard library's `timeit.Timer(...).repeat(repeats, number=1)`, the
loop `torch.utils.benchmark.Timer` is built on (garbage collection paused while timing, as there).
The torch Timer itself is not used: its `timeit` returns one mean after a warm-up of its own before
every block, and `blocked_autorange` picks its own block size, while gas reports the spread of
single calls and pools a fixed number of them over the interleaved rounds of `gas bench`; and
importing torch.utils.benchmark logs a warning on a machine without a CUDA runtime.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from torch import nn

from evaluators.allocator import keep_heap
from evaluators.device import check_device, device_clock, device_name
from evaluators.threads import thread_count
from gas_kernel.errors import GasError

__all__ = ["LatencyResult", "measure_latency", "measure_throughput"]


@dataclass(frozen=True)
class LatencyResult:
    """Per-call wall time of `model(batch)` in milliseconds, and the conditions it was taken under.

    `gas bench` pools the results of its interleaved rounds into one (`pooled`), so a single
    measurement and a benchmark row are the same type.
    """

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

    @classmethod
    def from_samples(cls, samples_ms: Sequence[float], **conditions: object) -> LatencyResult:
        """The median, quartiles and IQR of `samples_ms`, with the conditions they were taken under."""
        q1, median, q3 = np.percentile(np.asarray(samples_ms, dtype=float), [25, 50, 75])
        return cls(median_ms=float(median), iqr_ms=float(q3 - q1), q1_ms=float(q1), q3_ms=float(q3),
                   samples_ms=tuple(float(s) for s in samples_ms), **conditions)

    @classmethod
    def pooled(cls, results: Sequence[LatencyResult]) -> LatencyResult:
        """One result over the samples of several measurements taken under the same conditions."""
        if not results:
            raise GasError("no latency measurements to pool")
        samples = [s for result in results for s in result.samples_ms]
        pooled = cls.from_samples(samples, **_conditions(results[0]))
        return replace(pooled, repeats=len(samples), warmup=sum(r.warmup for r in results))

    @property
    def throughput_per_s(self) -> float:
        """Images per second at this batch size (batch / median time)."""
        return self.batch_size * 1000.0 / self.median_ms

    @property
    def throughput_iqr_per_s(self) -> float:
        """Interquartile range of the per-call images per second (batch / each call's time)."""
        q1, q3 = np.percentile(self.batch_size * 1000.0 / np.asarray(self.samples_ms), [25, 75])
        return float(q3 - q1)

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
    check_device(device)
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
    return LatencyResult.from_samples(
        samples, device=device_name(device), threads=used_threads, dtype=str(dtype).removeprefix("torch."),
        batch_size=batch_size, input_size=tuple(input_size), repeats=repeats, warmup=warmup,
        channels_last=channels_last, compiled=compile,
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


def _time_calls(runner: Callable, x: torch.Tensor, device: str, warmup: int, repeats: int) -> list[float]:
    """Milliseconds of each of `repeats` calls, after `warmup` untimed calls."""
    calls = timeit.Timer("runner(x)", timer=device_clock(device), globals={"runner": runner, "x": x})
    with torch.inference_mode():
        calls.timeit(warmup)
        return [seconds * 1000.0 for seconds in calls.repeat(repeat=repeats, number=1)]


def _conditions(result: LatencyResult) -> dict[str, object]:
    """The fields of `result` that describe how it was measured (all but the figures)."""
    figures = {"median_ms", "iqr_ms", "q1_ms", "q3_ms", "samples_ms"}
    return {k: v for k, v in asdict(result).items() if k not in figures}
