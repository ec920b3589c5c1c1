"""glibc malloc told to keep freed memory, so large activations stop costing page faults.

glibc serves every allocation above its mmap threshold (which never grows past 32 MiB on 64-bit)
with a fresh `mmap` and unmaps it on `free`. A CPU forward pass that makes activations larger than
that therefore touches new pages on every call: a page fault per 4 KiB, each zero-filled by the
kernel, and in a VM each fault is an exit to the hypervisor. On the 2-core VM of
benchmarks/results/peers_cpu*.md this setting raised the batch-32 throughput of convolutional peers
with large feature maps 1.5-3x (FastViT, MobileViTv2). gas's own models need it less: their CPU
inference runs a batch in chunks whose activations stay under 32 MiB (`Hiera.forward_features`),
so no block is mapped afresh; but glibc may still trim the heap after a chunk (its trim threshold,
twice the largest freed mapped block, sits near a chunk's footprint) and fault it back for the
next, from 0 to 70,000 faults per batch-32 TurboViT forward depending on the process (`strace`:
the heap grows and shrinks by about 62 MB per 7-image chunk). The model keeps its chunks' footprint
down (`_unit_attention_one_query` works key by key); this setting removes what is left.

`retain_freed_memory` is the same setting as starting the process with

    MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647 python ...

(no mmap'd blocks, and the heap is not given back to the kernel while less than 2 GiB of it is
free), the deployment form; jemalloc or tcmalloc through LD_PRELOAD, which Intel's PyTorch CPU
tuning guide recommends, reach the same end. The price: the process keeps its peak memory.
It is process-wide and cannot be undone, hence a benchmark option, not a model property.
"""

from __future__ import annotations

import ctypes
import ctypes.util

from gas_kernel.errors import GasError

__all__ = ["MALLOC_MODES", "malloc_mode", "retain_freed_memory", "use_malloc"]

MALLOC_MODES = ("default", "retain")
M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
M_MMAP_MAX = -4
TRIM_THRESHOLD_BYTES = 2**31 - 1  # mallopt takes an int: give the heap back only past 2 GiB free

_mode = "default"


def malloc_mode() -> str:
    """"retain" once `retain_freed_memory` ran in this process, else "default"."""
    return _mode


def use_malloc(mode: str) -> None:
    """Apply a `--malloc` choice (MALLOC_MODES): "retain" calls `retain_freed_memory`, "default" changes nothing."""
    if mode not in MALLOC_MODES:
        raise GasError(f"malloc mode must be one of {', '.join(MALLOC_MODES)}, got {mode!r}")
    if mode == "retain":
        retain_freed_memory()


def retain_freed_memory() -> None:
    """Make glibc keep freed memory in the heap (no mmap, no trimming) for the rest of the process."""
    global _mode
    libc = _glibc()
    if not (libc.mallopt(M_MMAP_MAX, 0) and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)):
        raise GasError("glibc refused mallopt(M_MMAP_MAX, 0) / mallopt(M_TRIM_THRESHOLD); --malloc retain unavailable")
    _mode = "retain"


def _glibc() -> ctypes.CDLL:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version.restype = ctypes.c_char_p
        libc.gnu_get_libc_version()
    except (OSError, AttributeError, TypeError) as error:
        raise GasError(f"--malloc retain needs glibc (the C library here is {name or 'unknown'}): {error}") from None
    return libc
