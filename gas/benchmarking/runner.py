"""Interleaved measurement of many models in one process.

Every model is first priced (params, fvcore MACs at batch 1 with attention counted) and warmed up.
Then the timing runs in rounds: each round visits every model once (starting one model later each
round), timing a few batch-1 calls and one throughput-batch call. Machine drift - thermal state,
other processes, frequency scaling - therefore lands on all models alike instead of on whichever
model happened to run last. The timer is `evaluators.measure_latency` (inference mode, fixed
threads, CUDA synchronised); this module only schedules it and pools the samples.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch

from evaluators.device import check_device
from evaluators.flops import traced_macs
from evaluators.latency import LatencyResult, measure_latency
from evaluators.machine import describe_machine
from evaluators.threads import thread_count
from gas.benchmarking.allocator import malloc_mode
from gas.benchmarking.memory import peak_forward_memory_mb
from gas.benchmarking.peak import FLOPS_PER_MAC, matmul_peak_gflops
from gas.benchmarking.published import published_top1
from gas.benchmarking.results import BenchResult, BenchRow
from gas.benchmarking.zoo import Candidate, Unavailable
from gas_kernel.errors import GasError

__all__ = ["CONVENTIONS", "BenchSettings", "format_seconds", "run_benchmark"]

CONVENTIONS = {
    "gmacs": "fvcore trace at batch 1, scaled_dot_product_attention counted; 1 MAC = 1 'flop' (fvcore/timm tables)",
    "achieved_gflops": f"{FLOPS_PER_MAC} * MACs * batch / median seconds (1 MAC = {FLOPS_PER_MAC} FLOPs here)",
    "matmul_peak": "best of (median of 5 timed 2048x2048 torch.mm) taken before and after every round; "
    "2 * n^3 FLOPs; same device/dtype/threads",
    "peak_memory": "rise of peak RSS (CPU) or max_memory_allocated (CUDA) over one throughput-batch forward",
    "latency": "median and IQR of per-call ms at the latency batch, pooled over interleaved rounds",
    "throughput": "median and IQR of per-call images/s at the throughput batch, pooled over rounds",
}


@dataclass(frozen=True)
class BenchSettings:
    """Conditions and effort of a benchmark run (defaults: CPU, fp32, batch 1 and 32)."""

    device: str = "cpu"
    dtype: torch.dtype = torch.float32
    latency_batch: int = 1
    throughput_batch: int = 32
    threads: int | None = None
    rounds: int = 5
    warmup: int = 2
    latency_budget_ms: float = 250.0
    max_latency_calls: int = 10
    measure_memory: bool = True
    peak_matmul_size: int = 2048


def run_benchmark(
    candidates: list[Candidate],
    settings: BenchSettings = BenchSettings(),
    unavailable: list[Unavailable] | None = None,
    progress: Callable[[str], None] | None = None,
) -> BenchResult:
    """Price, warm up and time `candidates` interleaved; one row per candidate."""
    _check_settings(settings)
    say = progress or (lambda message: None)
    start, load_start = time.perf_counter(), _load_average()
    with thread_count(settings.threads) as threads:
        peaks = [_peak(settings, say)]
        costs = {c.name: _price(c) for c in candidates}
        for c in candidates:
            c.model.to(device=settings.device, dtype=settings.dtype).eval()
        plan = {c.name: _calibrate(c, settings) for c in candidates}
        calls = {name: count for name, (count, _) in plan.items()}
        estimate_s = settings.rounds * sum(round_ms for _, round_ms in plan.values()) / 1000
        say(f"timing {len(candidates)} models in {settings.rounds} interleaved rounds, about {format_seconds(estimate_s)}")

        def after_round(message: str) -> None:
            say(message)
            peaks.append(_peak(settings, say))

        samples = _interleaved_rounds(candidates, settings, calls, after_round)
        memory = {c.name: _memory(c, settings) for c in candidates}
    peak = max(peaks)
    rows = [_row(c, costs[c.name], samples[c.name], memory[c.name], peak, settings) for c in candidates]
    return BenchResult(
        rows=rows,
        unavailable=[{"name": u.name, "reason": u.reason} for u in unavailable or []],
        machine=describe_machine(settings.device) | {"torch_threads": threads, "load_average": [load_start, _load_average()],
                                                     "malloc": malloc_mode()},
        device=settings.device,
        dtype=_dtype_name(settings.dtype),
        threads=threads,
        matmul_peak_gflops=peak,
        matmul_peak_samples=peaks,
        rounds=settings.rounds,
        seconds=time.perf_counter() - start,
        conventions=dict(CONVENTIONS),
    )


def _check_settings(settings: BenchSettings) -> None:
    check_device(settings.device)
    if min(settings.latency_batch, settings.throughput_batch, settings.rounds) < 1:
        raise GasError("batch sizes and rounds must be at least 1")


def _peak(settings: BenchSettings, say: Callable[[str], None]) -> float:
    """One matmul-peak measurement; taken before the first and after every round, the best one counts."""
    gflops = matmul_peak_gflops(settings.device, settings.dtype, settings.peak_matmul_size)
    say(f"matmul {gflops:.1f} GFLOP/s ({settings.device}, {_dtype_name(settings.dtype)})")
    return gflops


def _price(candidate: Candidate) -> tuple[int, int]:
    """(params, MACs at batch 1), traced on CPU in fp32 once per candidate and kept on it."""
    if candidate.cost is None:
        candidate.model.to(device="cpu", dtype=torch.float32)
        params = sum(p.numel() for p in candidate.model.parameters())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            macs = traced_macs(candidate.model, torch.zeros(1, *candidate.input_size))
        candidate.cost = (params, macs)
    return candidate.cost


def _calibrate(candidate: Candidate, settings: BenchSettings) -> tuple[int, float]:
    """Warm the model up: (batch-1 calls per round so that a round costs about the budget, the
    estimated ms of the model's share of one round).

    The (slow) throughput-batch warm-up call is made once per candidate and settings: a second
    run of the same built models in this process finds them warm already, and then its time is
    estimated from the latency batch's (linear in the batch: an overestimate).
    """
    first = _time(candidate, settings, settings.latency_batch, repeats=1, warmup=settings.warmup).median_ms
    throughput_ms = first * settings.throughput_batch / settings.latency_batch
    if candidate.warmed != settings:
        throughput_ms = _time(candidate, settings, settings.throughput_batch, repeats=1, warmup=0).median_ms
        candidate.warmed = settings
    calls = int(min(settings.max_latency_calls, max(2, settings.latency_budget_ms // max(first, 1e-3))))
    return calls, (calls + 1) * first + throughput_ms  # + 1: the warm-up call before each model's turn


def _interleaved_rounds(candidates, settings, calls, say) -> dict[str, dict[str, LatencyResult]]:
    """Per model: its latency- and throughput-batch timings, pooled over rounds that visit every model in turn."""
    rounds = {c.name: {"latency": [], "throughput": []} for c in candidates}
    started = time.perf_counter()
    for round_index in range(settings.rounds):
        shift = round_index % len(candidates)
        for c in candidates[shift:] + candidates[:shift]:
            rounds[c.name]["latency"].append(_time(c, settings, settings.latency_batch, calls[c.name], warmup=1))
            rounds[c.name]["throughput"].append(_time(c, settings, settings.throughput_batch, 1, warmup=0))
        done, left = round_index + 1, settings.rounds - round_index - 1
        eta = (time.perf_counter() - started) / done * left
        say(f"round {done}/{settings.rounds} done" + (f", about {format_seconds(eta)} left" if left else ""))
    return {name: {kind: LatencyResult.pooled(results) for kind, results in timings.items()}
            for name, timings in rounds.items()}


def format_seconds(seconds: float) -> str:
    """An ETA as people say it: '40 s', '3 min 20 s'."""
    seconds = max(1, round(seconds))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


def _time(candidate: Candidate, settings: BenchSettings, batch: int, repeats: int, warmup: int) -> LatencyResult:
    return measure_latency(
        candidate.model, candidate.input_size, batch, settings.device, settings.threads,
        warmup=warmup, repeats=repeats, dtype=settings.dtype,
    )


def _memory(candidate: Candidate, settings: BenchSettings) -> float | None:
    if not settings.measure_memory:
        return None
    batch = torch.randn(settings.throughput_batch, *candidate.input_size, device=settings.device, dtype=settings.dtype)
    return peak_forward_memory_mb(candidate.model, batch)


def _row(candidate, cost, timings, memory, peak, settings) -> BenchRow:
    params, macs = cost
    latency, throughput = timings["latency"], timings["throughput"]
    achieved_latency = FLOPS_PER_MAC * macs * latency.throughput_per_s / 1e9
    achieved_throughput = FLOPS_PER_MAC * macs * throughput.throughput_per_s / 1e9
    published = published_top1(candidate.name, made_by_gas=candidate.origin.startswith("gas"))
    return BenchRow(
        name=candidate.name, origin=candidate.origin, note=candidate.note, resolution=candidate.input_size[-1],
        params=params, macs=macs, latency=latency, throughput=throughput, peak_memory_mb=memory,
        achieved_gflops_latency=achieved_latency, achieved_gflops_throughput=achieved_throughput,
        peak_fraction_latency=achieved_latency / peak, peak_fraction_throughput=achieved_throughput / peak,
        top1=published.top1, top1_source=published.source,
    )


def _load_average() -> float | None:
    """1-minute load average (other processes competing for the cores skew CPU timings)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
