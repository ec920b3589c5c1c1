"""Keep freed CPU memory in the process heap, so forwards and backwards do not page-fault every call.

glibc hands every allocation above 128 KiB to `mmap` and gives it back with `munmap` when freed.
A CPU forward allocates and frees its activations on every call, so each call pays fresh page
faults; on a virtual machine those are slow and vary with the host, and they are the largest
source of spread in gas's CPU latency figures (hiera_tiny at batch 1: ~0.9M minor faults per 200
calls with glibc's defaults, ~0.12M with the heap kept, and a ~5% lower, tighter median).
A thread other than the main one is worse off still: its malloc arena maps and unmaps even more,
and a gas evaluation runs in its own thread (for its time limit), so one grad_norm evaluation of a
turbovit_ref-size model took 1.4x as long in that thread as in the main one (2.6 s against 1.7 s,
1.2M more page faults); with the heap kept both take 1.65 s.
This is the same fix as PyTorch's CPU tuning guide's "use jemalloc/tcmalloc", done in-process
with glibc's own `mallopt`, so no preloaded library or environment variable is needed.

The setting is process-wide and one-way (memory freed after it stays with the process), which is
what a latency measurement and an evaluation worker want; it is a no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["keep_heap"]

# mallopt parameters from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3

_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's ceiling on 64-bit: larger values are refused
_TRIM_THRESHOLD = 1 << 30  # keep up to 1 GiB of freed memory at the top of the heap
_TOP_PAD = 64 * 1024 * 1024  # grow the heap in 64 MiB steps rather than page by page


@functools.cache
def keep_heap() -> bool:
    """Serve allocations up to 32 MiB from the heap and stop trimming it; True where it took effect."""
    libc = _glibc()
    if libc is None:
        return False
    settings = ((_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX), (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD), (_M_TOP_PAD, _TOP_PAD))
    return all(libc.mallopt(param, value) == 1 for param, value in settings)


def _glibc() -> ctypes.CDLL | None:
    """The process's C library if it is glibc (the only one whose `mallopt` we know), else None."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # noqa: B018 - attribute lookup raises where this is not glibc
    except (OSError, AttributeError):
        return None
    libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    libc.mallopt.restype = ctypes.c_int
    return libc
