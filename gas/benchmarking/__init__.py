"""Measured side-by-side comparison of gas models and their peers (`gas bench`, benchmarks/peers.py).

    candidates, skipped = resolve(["turbovit_ref", "levit_128s"])
    result = run_benchmark(candidates, BenchSettings(threads=2), skipped)
    write_report(result, Path("out"), "bench_cpu", "Peers"); write_plots(result, Path("out"), "bench_cpu")

One concept per module: `zoo` (names -> built models), `published` (cited top-1), `peak` (matmul
yardstick), `allocator` (glibc told to keep freed memory), `memory` (peak memory of a forward), `interleaved` (callables timed in turn), `runner` (interleaved timing -> rows), `results`
(row types), `pareto`, `ranking` (run-to-run stability), `claims` (TurboViT paper ratios),
`report` (markdown/JSON) and `plots` (PNG).
"""

from evaluators.device import check_device
from gas.benchmarking.allocator import (
    MALLOC_MODES,
    malloc_mode,
    retain_freed_memory,
    use_malloc,
)
from gas.benchmarking.claims import PAPER_CLAIMS, claim_ratios, subject_name
from gas.benchmarking.interleaved import interleaved_medians
from gas.benchmarking.pareto import pareto_mask
from gas.benchmarking.peak import FLOPS_PER_MAC, matmul_peak_gflops
from gas.benchmarking.plots import write_plots
from gas.benchmarking.published import published_top1
from gas.benchmarking.ranking import compare_runs, kendall_tau
from gas.benchmarking.report import markdown_report, markdown_table, write_report
from gas.benchmarking.results import BenchResult, BenchRow
from gas.benchmarking.runner import BenchSettings, run_benchmark
from gas.benchmarking.zoo import (
    ALL_MODELS,
    QUICK_MODELS,
    Candidate,
    Unavailable,
    build_candidate,
    resolve,
)

__all__ = [
    "ALL_MODELS",
    "FLOPS_PER_MAC",
    "MALLOC_MODES",
    "PAPER_CLAIMS",
    "QUICK_MODELS",
    "BenchResult",
    "BenchRow",
    "BenchSettings",
    "Candidate",
    "Unavailable",
    "build_candidate",
    "check_device",
    "claim_ratios",
    "compare_runs",
    "interleaved_medians",
    "kendall_tau",
    "malloc_mode",
    "markdown_report",
    "markdown_table",
    "matmul_peak_gflops",
    "pareto_mask",
    "published_top1",
    "resolve",
    "retain_freed_memory",
    "run_benchmark",
    "subject_name",
    "use_malloc",
    "write_plots",
    "write_report",
]
