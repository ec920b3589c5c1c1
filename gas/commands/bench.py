"""`gas bench`: measure gas models and their peers side by side (params, GMACs, latency, throughput).

    gas bench turbovit_ref levit_128s --threads 2 --repeats 3 --out benchmarks/results

With no models it compares turbovit with FasterViT-0 and three fast peers (QUICK_MODELS, about a
minute on 2 threads); `--all` measures the full peer table (benchmarks/peers.py runs the same code
and writes the checked-in report). Timing is interleaved over the models, and every round reports
how long the rest will take; see gas.benchmarking.runner.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from gas.benchmarking import (
    ALL_MODELS,
    MALLOC_MODES,
    QUICK_MODELS,
    BenchSettings,
    check_device,
    markdown_report,
    resolve,
    run_benchmark,
    use_malloc,
    write_plots,
    write_report,
)
from gas_kernel.errors import GasError

DTYPES = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16,
          "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measured params, GMACs, latency, throughput and memory of models side by side",
        description="Benchmark gas models and timm/FasterViT peers in one process, interleaved: params, "
        "GMACs, batch-1 latency, throughput, peak memory and achieved GFLOP/s, with the machine.",
        epilog="examples:\n  gas bench turbovit turbovit_ref levit_128s --threads 2\n"
        "  gas bench --device cuda --dtype float16 --batch 1,256 --out benchmarks/results",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("models", nargs="*", metavar="MODEL",
                        help="gas presets, exported models (turbovit), faster_vit_*, timm names "
                        f"(default: {' '.join(QUICK_MODELS)})")
    parser.add_argument("--all", action="store_true", help=f"the full peer table ({len(ALL_MODELS)} models, minutes)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default: cpu)")
    parser.add_argument("--dtype", default="float32", help="float32, float16 or bfloat16; half types on CUDA only (default: float32)")
    parser.add_argument("--batch", default="1,32", metavar="L,T", help="latency batch and throughput batch (default: 1,32)")
    parser.add_argument("--threads", type=int, default=None, metavar="N", help="torch intra-op threads (default: torch's own count)")
    parser.add_argument("--repeats", type=int, default=5, metavar="N", help="interleaved rounds over all models (default: 5)")
    parser.add_argument("--malloc", choices=MALLOC_MODES, default="default",
                        help="retain: glibc keeps freed memory, as MALLOC_MMAP_MAX_=0 would (no page faults on "
                        "activations over 32 MiB; see gas.benchmarking.allocator) (default: default)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="write bench_<device>.{md,json,png} here (default: print the table only)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_device(args.device)
    latency_batch, throughput_batch = parse_batches(args.batch)
    settings = BenchSettings(
        device=args.device, dtype=parse_dtype(args.dtype, args.device), latency_batch=latency_batch,
        throughput_batch=throughput_batch, threads=args.threads, rounds=args.repeats,
    )
    use_malloc(args.malloc)
    candidates, unavailable = resolve(chosen_models(args.models, args.all), progress=_say)
    for skipped in unavailable:
        print(f"note: skipping {skipped.name}: {skipped.reason}", file=sys.stderr)
    if not candidates:
        raise GasError("none of the requested models can be built here (see the notes above)")
    result = run_benchmark(candidates, settings, unavailable, progress=_say)
    if args.out is None:
        print(markdown_report(result, "gas bench"))
        return 0
    stem = f"bench_{args.device.split(':')[0]}"
    md_path, json_path = write_report(result, args.out, stem, "gas bench")
    paths = [md_path, json_path, *write_plots(result, args.out, stem)]
    print(md_path.read_text())
    print("wrote " + ", ".join(map(str, paths)))
    return 0


def _say(message: str) -> None:
    """Progress (and its ETA) goes to stderr; the table to stdout."""
    print(message, file=sys.stderr)


def chosen_models(models: list[str], everything: bool) -> list[str]:
    """The names to measure: those given, or with --all the full table, else the quick set."""
    if models and everything:
        raise GasError("give model names or --all, not both")
    return list(models or (ALL_MODELS if everything else QUICK_MODELS))


def parse_batches(text: str) -> tuple[int, int]:
    """'1,32' -> (1, 32); a single value is used for both."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not 1 <= len(values) <= 2 or min(values) < 1:
        raise GasError(f"--batch {text!r}: give a latency batch and a throughput batch, e.g. --batch 1,32")
    return values[0], values[-1]


def parse_dtype(name: str, device: str) -> torch.dtype:
    if name not in DTYPES:
        raise GasError(f"--dtype {name!r}: use one of float32, float16, bfloat16")
    dtype = DTYPES[name]
    if dtype != torch.float32 and not device.startswith("cuda"):
        raise GasError(f"--dtype {name} is only benchmarked on CUDA; use --dtype float32 on the CPU")
    return dtype
