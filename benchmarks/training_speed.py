"""Training speed on CPU: seconds per epoch and achieved GFLOP/s, before and after, side by side.

    python benchmarks/training_speed.py [--baseline e9d9796] [--rounds 3] [--data ../shared/data/cifar10-mini]
    python benchmarks/training_speed.py --report      # only rewrite the markdown from the JSON

Three blueprints of the `hiera` space at 32 px (about 1, 4 and 10 MMACs) train two epochs on the
CIFAR-10 subset with one thread, through `evaluators.train_and_evaluate`, the function both trees
share: once in a copy of the baseline commit (`git archive`, the training loop as it was) and once in
this checkout, interleaved round by round so both see the same machine load. Each measurement runs in
a fresh process; the second epoch's time is the figure (the first pays for first-touch allocations).
Rows: the `short` recipe (batch 64, what both trees default to) and, in this checkout, the `reference`
recipe (batch 128; an epoch is the same images and FLOPs, in fewer, larger steps).

Achieved GFLOP/s counts an epoch as 3 x 2 x MACs per training image (forward + backward) plus 2 x MACs
per validation image; the single-thread fp32 GEMM rate (1024^3) measured in the same run is the peak.
Writes benchmarks/results/training_speed.{md,json} (`--name` another name, e.g. for another baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
TARGET_MACS = (1e6, 4e6, 10e6)
MEASURE = """
import inspect, json, sys, torch
import gas
from evaluators import train_and_evaluate
space = gas.get_space("hiera")
bp = space.parse(sys.argv[1]) if hasattr(space, "parse") else gas.Blueprint.model_validate_json(sys.argv[1])
kwargs = {}
if sys.argv[3] != "default":
    from evaluators.recipes import get_recipe
    kwargs["config"] = get_recipe(sys.argv[3])
if "space" in inspect.signature(train_and_evaluate).parameters:  # the space builds the model since the layering
    kwargs["space"] = space
result = train_and_evaluate(bp, sys.argv[2], epochs=2, threads=1, **kwargs)
times = [h["train_s"] for h in result.history]
print(json.dumps({"epoch_s": [times[0], times[1] - times[0]], "val_top1": result.val_top1}))
"""


def blueprints() -> list:
    """The blueprints nearest 1, 4 and 10 MMACs among the first 2,000 seeds (always the same)."""
    import gas

    space = gas.get_space("hiera", img_size=32, num_classes=10)
    pool = [space.random(seed) for seed in range(2000)]
    return [min(pool, key=lambda bp: abs(space.cost(bp).macs - target)) for target in TARGET_MACS]


def baseline_tree(revision: str) -> Path:
    """A copy of the repository at `revision` in a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix=f"gas-{revision}-"))
    archive = subprocess.run(["git", "archive", revision], cwd=REPO, capture_output=True, check=True).stdout
    archive_path = folder / "tree.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(folder, filter="data")
    archive_path.unlink()
    return folder


def measure(tree: Path, blueprint, data: str, recipe: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", MEASURE, blueprint.model_dump_json(), data, recipe], cwd=tree,
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"measurement in {tree} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def gemm_peak_gflops(size: int = 1024, repeats: int = 10) -> float:
    import torch

    torch.set_num_threads(1)
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="e9d9796", help="commit of the 'before' training loop")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", default=str(REPO / ".." / "shared" / "data" / "cifar10-mini"))
    parser.add_argument("--name", default="training_speed", help="report file name (benchmarks/results/NAME.{md,json})")
    parser.add_argument("--report", action="store_true", help="only rewrite the markdown from NAME.json")
    args = parser.parse_args()
    if args.report:
        (RESULTS / f"{args.name}.md").write_text(markdown(json.loads((RESULTS / f"{args.name}.json").read_text())))
        print((RESULTS / f"{args.name}.md").read_text())
        return
    import gas
    from evaluators.data import load_data
    from evaluators.machine import describe_machine

    data = load_data(args.data)
    images = (len(data.train_y), len(data.val_y))
    space = gas.get_space("hiera", img_size=32, num_classes=10)
    before = baseline_tree(args.baseline)
    variants = [("before", before, "default"), ("after", REPO, "default"), ("after, reference recipe", REPO, "reference")]
    samples: dict[tuple[str, str], list[float]] = {}
    peaks, load = [], [os.getloadavg()[0]]
    for round_index in range(args.rounds):
        peaks.append(gemm_peak_gflops())
        for blueprint in blueprints():
            for label, tree, recipe in variants:
                result = measure(tree, blueprint, args.data, recipe)
                samples.setdefault((blueprint.arch_id, label), []).append(result["epoch_s"][1])
                print(f"round {round_index + 1} {blueprint.describe():<44} {label:<24} {result['epoch_s'][1]:.2f} s/epoch",
                      flush=True)
        load.append(os.getloadavg()[0])
    rows = []
    for blueprint in blueprints():
        macs = space.cost(blueprint).macs
        flops = 6 * macs * images[0] + 2 * macs * images[1]
        row = {"arch_id": blueprint.arch_id, "blueprint": blueprint.describe(), "mmacs": macs / 1e6}
        for label, _, _ in variants:
            seconds = statistics.median(samples[(blueprint.arch_id, label)])
            row[label] = {"epoch_s": seconds, "samples": samples[(blueprint.arch_id, label)], "gflops": flops / seconds / 1e9}
        row["speedup"] = row["before"]["epoch_s"] / row["after"]["epoch_s"]
        row["speedup_reference"] = row["before"]["epoch_s"] / row["after, reference recipe"]["epoch_s"]
        rows.append(row)
    report = {"baseline": args.baseline, "rounds": args.rounds, "data": args.data, "images": images,
              "gemm_peak_gflops": statistics.median(peaks), "load_avg": load, "machine": describe_machine(), "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"{args.name}.md").write_text(markdown(report))
    print(markdown(report))


def markdown(report: dict) -> str:
    from tabulate import tabulate

    peak = report["gemm_peak_gflops"]
    table = [(r["blueprint"], f"{r['mmacs']:.2f}",
              f"{r['before']['epoch_s']:.2f} ({r['before']['gflops']:.1f}, {100 * r['before']['gflops'] / peak:.0f}%)",
              f"{r['after']['epoch_s']:.2f} ({r['after']['gflops']:.1f}, {100 * r['after']['gflops'] / peak:.0f}%)",
              f"**{r['speedup']:.2f}x**",
              f"{r['after, reference recipe']['epoch_s']:.2f} ({r['after, reference recipe']['gflops']:.1f})",
              f"{r['speedup_reference']:.2f}x",
              f"{_floor_s(r, report):.2f} ({r['before']['epoch_s'] / _floor_s(r, report):.2f}x)") for r in report["rows"]]
    machine = report["machine"]
    return "\n".join([
        "# Training speed (CPU, one thread)", "",
        (f"`python benchmarks/training_speed.py --baseline {report['baseline']} --rounds {report['rounds']}`: {report['images'][0]} training + {report['images'][1]} validation images "
        f"({report['data']}), second epoch of two, median of {report['rounds']} interleaved rounds; before = commit "
        f"{report['baseline']}. Machine: {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']}; load average "
        f"{', '.join(f'{x:.1f}' for x in report['load_avg'])} during the run. Single-thread fp32 GEMM peak "
        f"{peak:.1f} GFLOP/s."), "",
        tabulate(table, headers=["blueprint", "MMACs", "before: s/epoch (GFLOP/s, % of peak)", "after (short recipe)",
                                 "speed-up", "after, reference recipe (batch 128)", "speed-up",
                                 "every FLOP at the GEMM peak: s/epoch (the most any speed-up can be)"],
                 tablefmt="github"), "",
        ("The last column is the floor: the epoch's FLOPs at the single-thread GEMM peak measured in the same "
         "run, as if the non-GEMM work (norms, activations, attention softmax, copies, the optimizer) took no "
         "time at all. Before / floor bounds any speed-up of the same training at the same precision."), ""])


def _floor_s(row: dict, report: dict) -> float:
    """Seconds an epoch would take with every FLOP at the GEMM peak."""
    return row["before"]["epoch_s"] * row["before"]["gflops"] / report["gemm_peak_gflops"]


if __name__ == "__main__":
    main()
