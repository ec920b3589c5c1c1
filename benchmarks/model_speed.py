"""Model code speed: the exported TurboViTs' forward pass before and after a change to model.py.

    python benchmarks/model_speed.py [--baseline COMMIT] [--threads 2] [--rounds 15] [--malloc retain]

Every export copies `search_spaces/hiera/model.py`, so its efficiency is every TurboViT's. This
loads the `Hiera` class from `--baseline`'s model.py (`git show`) and from this checkout, builds
each checked-in export with both (same weights), checks the outputs agree, and times them
interleaved call by call in one process (batch 1 and 32, fp32, `torch.inference_mode`), so both
see the same machine load. Achieved GFLOP/s = 2 x MACs x batch / median seconds, against the
2048^3 matmul peak measured before and after (`gas.benchmarking.peak`). With `--malloc retain`
glibc keeps freed memory (`gas.benchmarking.allocator`): by default it may trim the heap after
every chunk of a batch and page-fault it back, differently from one process (and one model
instance) to the next, which can hide a few-% code change at batch 32. Writes
benchmarks/results/model_speed{,_retain}.{md,json}.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import types
from functools import partial
from pathlib import Path

import torch
from tabulate import tabulate

from evaluators.flops import traced_macs
from evaluators.machine import describe_machine
from gas.benchmarking import (
    FLOPS_PER_MAC,
    MALLOC_MODES,
    interleaved_medians,
    matmul_peak_gflops,
    use_malloc,
)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
MODEL_FILE = "search_spaces/hiera/model.py"
EXPORTS = ("turbovit", "turbovit_12m", "turbovit_ref")


def model_module(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # noqa: S102 - the repository's own model code
    return module


def export_args(name: str) -> dict:
    """The constructor arguments of a checked-in export (its MODEL_ARGS)."""
    return dict(importlib.import_module(f"generated_archs.{name}").MODEL_ARGS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="0bd0726", help="commit whose model.py is 'before'")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=15, help="timed calls per model at batch 32 (x4 at batch 1)")
    parser.add_argument("--malloc", choices=MALLOC_MODES, default="default",
                        help="retain: glibc keeps freed memory (writes model_speed_retain.*)")
    args = parser.parse_args()
    use_malloc(args.malloc)
    torch.set_num_threads(args.threads)
    stem = "model_speed" + ("_retain" if args.malloc == "retain" else "")

    old = model_module(subprocess.check_output(["git", "-C", str(REPO), "show", f"{args.baseline}:{MODEL_FILE}"], text=True), "before")
    new = model_module((REPO / MODEL_FILE).read_text(), "after")
    load_before = os.getloadavg()[0]
    peaks = [matmul_peak_gflops()]
    rows = []
    for name in EXPORTS:
        model_args = export_args(name)
        before = old.Hiera(**model_args).eval()
        after = new.Hiera(**model_args).eval()
        after.load_state_dict(before.state_dict())
        probe = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
        with torch.inference_mode():
            difference = (before(probe) - after(probe)).abs().max().item()
        macs = traced_macs(after, torch.zeros(1, 3, 224, 224))
        for batch in (1, 32):
            x = torch.randn(batch, 3, 224, 224)
            t_before, t_after = interleaved_medians([partial(before, x), partial(after, x)],
                                                    args.rounds * (4 if batch == 1 else 1), warmup=3)
            rows.append({"model": name, "batch": batch, "gmacs": macs / 1e9, "before_ms": 1e3 * t_before,
                         "after_ms": 1e3 * t_after, "speedup": t_before / t_after,
                         "before_gflops": FLOPS_PER_MAC * macs * batch / t_before / 1e9,
                         "after_gflops": FLOPS_PER_MAC * macs * batch / t_after / 1e9, "max_abs_diff": difference})
            print(rows[-1], flush=True)
    peaks.append(matmul_peak_gflops())
    peak = max(peaks)
    report = {"baseline": args.baseline, "threads": args.threads, "malloc": args.malloc, "machine": describe_machine(), "peak_gflops": peaks,
              "load_average": [load_before, os.getloadavg()[0]], "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    table = [[r["model"], r["batch"], f"{r['gmacs']:.3f}", f"{r['before_ms']:.2f}", f"{r['after_ms']:.2f}",
              f"{r['speedup']:.3f}x", f"{r['before_gflops']:.1f} ({r['before_gflops'] / peak:.0%})",
              f"{r['after_gflops']:.1f} ({r['after_gflops'] / peak:.0%})", f"{r['max_abs_diff']:.1e}"] for r in rows]
    machine = report["machine"]
    text = "\n".join([
        "# Model code speed: model.py before and after",
        "",
        (f"Machine: {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']}; fp32, {args.threads} threads, "
        f"`torch.inference_mode`, glibc malloc {'retaining freed memory' if args.malloc == 'retain' else 'default'}; "
        f"before = `{MODEL_FILE}` at {args.baseline}, after = this checkout; calls interleaved "
        f"one by one in one process. Matmul peak (2048^3 `torch.mm`) {peaks[0]:.1f} / {peaks[1]:.1f} GFLOP/s "
        f"before / after the timings; 1-min load average {load_before:.2f} / {report['load_average'][1]:.2f}."),
        "",
        tabulate(table, ["export", "batch", "GMACs", "before ms", "after ms", "speed-up", "before GFLOP/s (% peak)",
                         "after GFLOP/s (% peak)", "max |logit diff|"], tablefmt="github"),
        "",
    ])
    (RESULTS / f"{stem}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
