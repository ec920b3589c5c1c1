"""Are gas latency figures repeatable? Measure the same models several times and compare.

    python benchmarks/latency_repeat.py [--models turbovit_ref hiera_tiny] [--img-size 224]
                                        [--repeats 5] [--calls 50] [--threads 1] [--device cpu]

Each repeat is one full `gas.measure_latency` (warm-up, then --calls timed batch-1 forwards, median
and IQR). Repeats of the different models are interleaved so slow drift of a shared machine hits all
models alike. Reports every repeat's median and the max relative difference between repeats
(target: within 10%), and writes benchmarks/results/latency_repeat.{json,md} with the machine.
A bare GEMM is measured the same way as a control: the spread of the machine itself.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
from tabulate import tabulate

import gas
from evaluators.machine import describe_machine, machine_line

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 0.10
CONTROL = "matmul (control)"


class MatmulControl(torch.nn.Module):
    """A bare [2048 x 1024] @ [1024 x 1024] GEMM behind the same timer (its input is ignored).

    It has no allocations to speak of, no framework overhead and no data-dependent work, so the
    spread of its repeats is the machine's own drift, against which the models' spread is read.
    """

    rows, inner = 2048, 1024

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(self.rows, self.inner), requires_grad=False)
        self.b = torch.nn.Parameter(torch.randn(self.inner, self.inner), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a @ self.b

    @property
    def gmacs(self) -> float:
        return self.rows * self.inner * self.inner / 1e9


def measure(models: dict[str, torch.nn.Module], img_size: int, args: argparse.Namespace) -> dict[str, list]:
    """{model: [LatencyResult per repeat]}, interleaving models within each repeat."""
    results: dict[str, list] = {name: [] for name in models}
    for repeat in range(args.repeats):
        for name, model in models.items():
            result = gas.measure_latency(model, (3, img_size, img_size), batch_size=1, device=args.device,
                                         threads=args.threads, warmup=args.warmup, repeats=args.calls)
            results[name].append(result)
            print(f"repeat {repeat + 1}/{args.repeats} {name:<14} median {result.median_ms:8.2f} ms  IQR {result.iqr_ms:6.2f} ms")
    return results


def summarise(results: dict[str, list]) -> dict[str, dict]:
    summary = {}
    for name, repeats in results.items():
        medians = [r.median_ms for r in repeats]
        summary[name] = {
            "repeat_medians_ms": medians,
            "repeat_iqrs_ms": [r.iqr_ms for r in repeats],
            "median_of_medians_ms": statistics.median(medians),
            "max_rel_diff": (max(medians) - min(medians)) / min(medians),
        }
    return summary


def markdown(report: dict) -> str:
    lines = [
        "# Latency repeatability",
        "",
        (f"Batch 1, {report['img_size']}px, {report['device']}, {report['threads']} threads, float32, "
        f"`torch.inference_mode`; each repeat = {report['warmup']} warm-up + {report['calls']} timed calls "
        f"(median, IQR). Machine: {report['machine_line']}. {report['started']}; 1-min load average "
         f"{report['load_average_1min']['before']:.1f} before, {report['load_average_1min']['after']:.1f} after."),
        "",
        tabulate(
            [[name, f"{row['gmacs']:.2f}", ", ".join(f"{m:.1f}" for m in row["repeat_medians_ms"]),
              f"{row['median_of_medians_ms']:.1f}", f"{100 * row['max_rel_diff']:.1f}%",
              "yes" if row["max_rel_diff"] <= TARGET else "no"] for name, row in report["models"].items()],
            ["model", "GMACs", "repeat medians (ms)", "median (ms)", "max rel. diff", "within 10%"],
            tablefmt="pipe", colalign=("left", "right", "left", "right", "right", "center"), disable_numparse=True),
    ]
    lines += ["", ("Max rel. diff = (slowest repeat median - fastest) / fastest. The machine is shared; "
                   "other jobs running at the same time widen it. The control row is a bare GEMM behind the "
                   "same timer: its spread is the machine's own drift over the run."), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["turbovit_ref", "hiera_tiny"])
    parser.add_argument("--img-size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: a trial's thread count at "
                        "gas search's default --cpus-per-trial 1)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    space = gas.get_space("hiera", img_size=args.img_size)
    torch.manual_seed(0)
    models = {name: space.build(space.preset(name)) for name in args.models}
    models[CONTROL] = MatmulControl()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()[0]
    summary = summarise(measure(models, args.img_size, args))
    for name in summary:
        summary[name]["gmacs"] = models[name].gmacs if name == CONTROL else space.cost(space.preset(name)).gmacs
    machine = describe_machine(args.device)
    machine["torch_threads"] = args.threads
    report = {
        "img_size": args.img_size, "device": args.device, "threads": args.threads, "repeats": args.repeats,
        "calls": args.calls, "warmup": args.warmup, "started": started, "target_max_rel_diff": TARGET,
        "machine": machine, "machine_line": machine_line(machine), "models": summary,
        "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latency_repeat.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "latency_repeat.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
