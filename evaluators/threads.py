"""A fixed torch thread count for the duration of a block (timings and training need one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from gas_kernel.errors import GasError

__all__ = ["thread_count"]


@contextmanager
def thread_count(threads: int | None) -> Iterator[int]:
    """Set torch's intra-op thread count inside the block (None keeps it); yields the count used."""
    previous = torch.get_num_threads()
    if threads is not None:
        if threads < 1:
            raise GasError(f"threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)
