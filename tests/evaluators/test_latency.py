"""measure_latency: what it reports and what it leaves behind (no timing thresholds)."""

from __future__ import annotations

import platform
import resource

import pytest
import torch

import gas
from evaluators import LatencyResult
from evaluators.allocator import keep_heap
from evaluators.latency import measure_throughput
from gas_kernel.errors import GasError


def test_latency_result_describes_its_conditions(tiny_cnn):
    result = gas.measure_latency(tiny_cnn, input_size=(3, 8, 8), batch_size=2, threads=1, warmup=1, repeats=5)
    assert isinstance(result, LatencyResult)
    assert result.median_ms > 0 and result.iqr_ms >= 0
    assert result.q1_ms <= result.median_ms <= result.q3_ms
    assert (result.device, result.threads, result.dtype, result.batch_size) == ("cpu", 1, "float32", 2)
    assert len(result.samples_ms) == 5 and result.input_size == (3, 8, 8)


def test_latency_restores_threads_mode_and_dtype(tiny_cnn):
    threads = torch.get_num_threads()
    tiny_cnn.train()
    gas.measure_latency(tiny_cnn, (3, 8, 8), threads=1, warmup=0, repeats=2, dtype=torch.float64, channels_last=True)
    assert torch.get_num_threads() == threads
    assert tiny_cnn.training
    assert tiny_cnn.conv.weight.dtype == torch.float32
    assert tiny_cnn.conv.weight.is_contiguous()


def test_throughput_is_batch_over_median(tiny_cnn):
    result = measure_throughput(tiny_cnn, (3, 8, 8), batch_size=4, warmup=0, repeats=3)
    assert result.throughput_per_s == pytest.approx(4 * 1000.0 / result.median_ms)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_without_cuda_is_a_user_error(tiny_cnn):
    with pytest.raises(GasError, match="CUDA is not available"):
        gas.measure_latency(tiny_cnn, (3, 8, 8), device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_latency_is_synchronised_and_labelled(tiny_cnn):
    result = gas.measure_latency(tiny_cnn, (3, 8, 8), device="cuda", warmup=2, repeats=5)
    assert result.device.startswith("cuda")
    assert next(tiny_cnn.parameters()).device.type == "cpu"


def test_bad_arguments_are_user_errors(tiny_cnn):
    with pytest.raises(GasError, match="threads"):
        gas.measure_latency(tiny_cnn, (3, 8, 8), threads=0)
    with pytest.raises(GasError, match="unsupported device"):
        gas.measure_latency(tiny_cnn, (3, 8, 8), device="tpu")



@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_keep_heap_reuses_freed_memory_without_page_faults():
    assert keep_heap()
    pages = 4 * 1024 * 1024 // resource.getpagesize()  # one 4 MiB tensor
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        torch.empty(pages * resource.getpagesize(), dtype=torch.uint8).fill_(1)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 3 * pages  # glibc's default mmap/munmap would fault every page every time: 50x
