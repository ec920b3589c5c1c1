"""The device an evaluation runs on: 'cpu' or 'cuda[:N]', checked before any model is moved, named
in results, and the clock that times work on it."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from gas_kernel.errors import GasError

__all__ = ["check_device", "device_clock", "device_name"]


def check_device(device: str) -> None:
    """GasError unless `device` is 'cpu', or 'cuda[:N]' on a machine where CUDA is available."""
    if not (device == "cpu" or device.startswith("cuda")):
        raise GasError(f"unsupported device {device!r}; use cpu or cuda[:N]")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GasError(f"device {device!r} requested but CUDA is not available on this machine; use cpu")


def device_name(device: str) -> str:
    """'cpu' or 'cuda:0 (NVIDIA H100 ...)': which hardware a figure belongs to."""
    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return "cpu"


def device_clock(device: str) -> Callable[[], float]:
    """A `time.perf_counter` that first waits for the device's queued work (CUDA runs asynchronously),
    for `timeit.Timer(timer=...)`; the plain clock on the CPU."""
    if not device.startswith("cuda"):
        return time.perf_counter
    target = torch.device(device)

    def synchronised() -> float:
        torch.cuda.synchronize(target)
        return time.perf_counter()

    return synchronised
