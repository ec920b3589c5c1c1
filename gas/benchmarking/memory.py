"""Peak memory of one forward pass above what was resident before it.

CUDA: `torch.cuda.max_memory_allocated` after a reset, minus the memory allocated before the call
(so the weights are excluded and the figure is activations + workspace).

CPU: torch's CPU allocator has no peak counter, and the profiler's memory events are per-op and
hard to sum reliably, so this reads the process's peak resident set size (VmHWM) after resetting
it through `/proc/self/clear_refs` (Linux >= 4.0). Freed heap is handed back with `malloc_trim`
first, so memory cached by glibc from an earlier, bigger model does not hide this one's peak.
Elsewhere the CPU figure is None ("n/a" in reports).
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import torch
from torch import nn

__all__ = ["peak_forward_memory_mb"]

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_MB = 2**20


def peak_forward_memory_mb(model: nn.Module, batch: torch.Tensor) -> float | None:
    """MiB by which one `model(batch)` raised memory above its starting level (None: cannot tell)."""
    if batch.device.type == "cuda":
        return _cuda_peak_mb(model, batch)
    return _cpu_peak_rss_mb(model, batch)


def _cuda_peak_mb(model: nn.Module, batch: torch.Tensor) -> float:
    device = batch.device
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    with torch.inference_mode():
        model(batch)
    torch.cuda.synchronize(device)
    return (torch.cuda.max_memory_allocated(device) - before) / _MB


def _cpu_peak_rss_mb(model: nn.Module, batch: torch.Tensor) -> float | None:
    if not (_STATUS.is_file() and _CLEAR_REFS.exists()):
        return None
    _malloc_trim()
    try:
        before = _status_kib("VmRSS")
        _CLEAR_REFS.write_text("5")  # reset VmHWM to the current RSS
    except OSError:
        return None
    with torch.inference_mode():
        model(batch)
    return max(0.0, (_status_kib("VmHWM") - before) / 1024)


def _status_kib(key: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise OSError(f"{key} not in {_STATUS}")


def _malloc_trim() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
