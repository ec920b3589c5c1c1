"""A description of the machine a measurement was taken on, for every report gas writes.

Timings mean nothing without the machine: reports carry the CPU model, core count, torch version
and thread count (and the GPU when one is used).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch

__all__ = ["describe_machine", "machine_line"]


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def describe_machine(device: str = "cpu") -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def machine_line(info: dict[str, Any] | None = None) -> str:
    """One line for a report header: 'Intel Xeon ..., 2 cores, torch 2.x, 2 threads'."""
    info = info or describe_machine()
    gpu = f", GPU {info['gpu']}" if "gpu" in info else ""
    return f"{info['cpu']}, {info['cores']} cores, torch {info['torch']}, {info['torch_threads']} threads{gpu}"
