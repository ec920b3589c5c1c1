"""TurboViT against its peers: measured params, GMACs, latency, throughput and memory, side by side.

    python benchmarks/peers.py [--runs 2] [--threads 2] [--repeats 3] [--models a b ...] [--malloc retain]

Measures every model in one process, interleaved (gas.benchmarking), on the CPU and, when CUDA is
available, on the GPU in fp32 and bf16/fp16. Writes benchmarks/results/peers_cpu.{json,md,*.png}
(peers_cpu_<N>thread.* for a --threads other than 2, peers_cpu_retain.* with `--malloc retain`: glibc
keeping freed memory, gas.benchmarking.allocator; peers_cuda.* beside them), with the ratios of gas's TurboViT to FasterViT-0 and
MobileViTv2-2.0 next to the paper's claims (3.21x, 3.18x, 2.47x, 3.4x). With --runs 2 the whole
measurement is repeated and the report says whether the latency ranking held (Kendall tau).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from tabulate import tabulate

from gas.benchmarking import (
    ALL_MODELS,
    MALLOC_MODES,
    BenchResult,
    BenchSettings,
    compare_runs,
    resolve,
    run_benchmark,
    use_malloc,
    write_plots,
    write_report,
)

RESULTS = Path(__file__).resolve().parent / "results"
CUDA_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure(candidates, unavailable, settings: BenchSettings, runs: int, stem: str, title: str) -> list[BenchResult]:
    """`runs` complete interleaved benchmarks of the same built models; the report is rewritten after each."""
    results = []
    for run in range(runs):
        log(f"run {run + 1}/{runs} on {settings.device} ({str(settings.dtype).removeprefix('torch.')})")
        results.append(run_benchmark(candidates, settings, unavailable, progress=log))
        report(results, stem, title)
    return results


def stability_section(results: list[BenchResult]) -> tuple[list[str], dict]:
    """Markdown and JSON comparing the batch-1 latency ranking of run 1 with each later run."""
    if len(results) < 2:
        return ["## Ranking stability", "", "Single run (use --runs 2 to check the ranking).", ""], {}
    latency = [{row.name: row.latency.median_ms for row in r.rows} for r in results]
    throughput = [{row.name: row.throughput.throughput_per_s for row in r.rows} for r in results]  # tau ignores direction
    data = {"latency": [compare_runs(latency[0], other) for other in latency[1:]],
            "throughput": [compare_runs(throughput[0], other) for other in throughput[1:]]}
    header = ["run", "measure", "Kendall tau vs run 1", "identical ranking", "agrees on every pair more than ... apart",
              "max spread of a model"]
    rows = [[index, measure, f"{c['kendall_tau']:.3f}", "yes" if c["identical_ranking"] else "no",
             f"{100 * c['ranking_resolution']:.1f}%", f"{100 * c['max_relative_spread']:.0f}%"]
            for measure, comparisons in data.items() for index, c in enumerate(comparisons, start=2)]
    lines = ["## Ranking stability across runs", "", tabulate(rows, header, tablefmt="github", disable_numparse=True)]
    lines += ["", ("Models closer than the resolution may swap places between runs; every pair further apart is "
              "ordered the same way in both (gas.benchmarking.ranking).")]
    per_run = [[name, *(f"{run.get(name, float('nan')):.2f}" for run in latency)]
               for name in sorted(latency[0], key=latency[0].get)]
    header = ["model", *(f"run {i + 1}" for i in range(len(results)))]
    lines += ["", "Batch-1 latency (ms) per run:", "", tabulate(per_run, header, tablefmt="github", disable_numparse=True)]
    return lines + [""], data


def report(results: list[BenchResult], stem: str, title: str) -> None:
    extra, stability = stability_section(results)
    later = [[row.__dict__ | {"latency": row.latency.__dict__, "throughput": row.throughput.__dict__} for row in r.rows]
             for r in results[1:]]
    md_path, json_path = write_report(results[0], RESULTS, stem, title, extra,
                                      {"stability": stability, "later_runs": later})
    pngs = write_plots(results[0], RESULTS, stem)
    print(md_path.read_text())
    log("wrote " + ", ".join(str(p) for p in [md_path, json_path, *pngs]))


DEFAULT_CPU_THREADS = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(ALL_MODELS))
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=DEFAULT_CPU_THREADS,
                        help=f"CPU threads (default {DEFAULT_CPU_THREADS}; other counts write peers_cpu_<N>thread.*)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds per run")
    parser.add_argument("--cpu-only", action="store_true")
    parser.add_argument("--malloc", choices=MALLOC_MODES, default="default",
                        help="retain: glibc keeps freed memory (writes peers_cpu_retain.*)")
    args = parser.parse_args()
    use_malloc(args.malloc)

    candidates, unavailable = resolve(args.models)
    for skipped in unavailable:
        log(f"note: skipping {skipped.name}: {skipped.reason}")
    cpu = BenchSettings(device="cpu", threads=args.threads, rounds=args.repeats)
    stem = "peers_cpu" if args.threads == DEFAULT_CPU_THREADS else f"peers_cpu_{args.threads}thread"
    stem += "_retain" if args.malloc == "retain" else ""
    measure(candidates, unavailable, cpu, args.runs, stem, "TurboViT against its peers (CPU)")
    if args.cpu_only or not torch.cuda.is_available():
        log("note: CUDA not available (or --cpu-only): peers_cuda.* not written")
        return
    for dtype in CUDA_DTYPES:
        name = str(dtype).removeprefix("torch.")
        gpu = BenchSettings(device="cuda", dtype=dtype, rounds=max(args.repeats, 10), latency_budget_ms=100.0)
        measure(candidates, unavailable, gpu, args.runs, f"peers_cuda_{name}", f"TurboViT against its peers (CUDA, {name})")


if __name__ == "__main__":
    main()
