"""gas.benchmarking.allocator: glibc keeps freed memory (fewer page faults, counted), the report says so,
and a C library that cannot do it is one error line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from bench_helpers import tiny_gas

from gas.benchmarking import (
    BenchSettings,
    allocator,
    markdown_report,
    run_benchmark,
)
from gas.cli import main

SETTINGS = BenchSettings(threads=1, rounds=1, throughput_batch=2, warmup=1, latency_budget_ms=1.0,
                         peak_matmul_size=64, measure_memory=False)

# Page faults of allocating and filling a 64 MiB tensor twice, after eight were made and freed (the
# retained heap needs a few rounds to hold a free block that fits torch's aligned request).
FAULTS_OF_REUSE = """
import resource, sys, torch
from gas.benchmarking import malloc_mode, retain_freed_memory
if sys.argv[1] == "retain":
    retain_freed_memory()
def fill():
    return torch.ones(16 * 2**20)  # 64 MiB, over glibc's largest mmap threshold (32 MiB)
for _ in range(8):
    fill()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
fill(); fill()
print(malloc_mode(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", FAULTS_OF_REUSE, mode], capture_output=True, text=True, check=True)
    reported, faults = out.stdout.split()
    return reported, int(faults)


def test_retained_memory_is_reused_without_page_faults():
    default_mode, default_faults = _faults("default")
    retain_mode, retain_faults = _faults("retain")
    assert (default_mode, retain_mode) == ("default", "retain")
    assert default_faults >= 2 * 64 * 2**20 // (2 * 2**20)  # a fresh mapping each time: at least a fault per huge page
    assert retain_faults * 10 < default_faults


def test_the_report_names_the_allocator_only_when_it_is_not_the_default(monkeypatch):
    default = markdown_report(run_benchmark([tiny_gas()], SETTINGS), "t")
    monkeypatch.setattr("gas.benchmarking.runner.malloc_mode", lambda: "retain")
    retained = run_benchmark([tiny_gas()], SETTINGS)
    assert retained.machine["malloc"] == "retain"
    assert "retaining freed memory" in markdown_report(retained, "t") and "retaining" not in default


def test_a_c_library_without_mallopt_is_one_error_line(monkeypatch, capsys):
    def no_glibc(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(allocator.ctypes, "CDLL", no_glibc)
    with pytest.raises(allocator.GasError, match="needs glibc"):
        allocator.retain_freed_memory()
    assert main(["bench", "turbovit_ref", "--malloc", "retain"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--malloc retain needs glibc" in err[0]
    assert allocator.malloc_mode() == "default"
