"""Multi-fidelity: full short training of every candidate vs ASHA, same trials and seed.

    python benchmarks/multi_fidelity.py [--trials 12] [--epochs 4] [--data /work/shared/data/cifar10-mini]

Two searches over the hiera space at 32 px (10 classes, flops <= 10M) with the train evaluator as
the accuracy objective, the random sampler and one seed, so both see the same candidates: once with
every candidate trained for E epochs (fifo), once with `--scheduler asha` stopping weak ones after 1
or 2 epochs. Reports the total training epochs each spent and the best val top-1 each found.
Writes benchmarks/results/multi_fidelity.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

RESULTS = Path(__file__).resolve().parent / "results"


def one(scheduler: str, args: argparse.Namespace, runs_dir: Path) -> dict:
    """Run one search; its total epochs, best val top-1, stopped count and wall time."""
    from gas.orchestrate import search

    start = time.perf_counter()
    result = search(space="hiera", space_options={"img_size": 32, "num_classes": 10}, budgets={"flops": "10M"},
                    trials=args.trials, proxy="train", epochs=args.epochs, data=args.data, sampler="random",
                    seed=args.seed, scheduler=scheduler, run=scheduler, runs_dir=runs_dir, progress=False,
                    concurrency=2)
    wall = time.perf_counter() - start
    records = [json.loads(line) for line in (result.run_dir / "trials.jsonl").read_text().splitlines()]
    trained = [r for r in records if r["status"] == "evaluated"]
    return {"scheduler": scheduler, "trials": len(trained), "wall_s": wall,
            "total_epochs": sum(r["metrics"]["epochs"] for r in trained),
            "stopped_early": sum(1 for r in trained if r["metrics"].get("stopped_early")),
            "best_val_top1": max((r["metrics"]["val_top1"] for r in trained), default=None),
            "arch_ids": sorted(r["arch_id"] for r in trained)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default="/work/shared/data/cifar10-mini")
    args = parser.parse_args()
    load_before = os.getloadavg()
    runs_dir = Path(tempfile.mkdtemp(prefix="gas-mf-"))
    full, asha = one("fifo", args, runs_dir), one("asha", args, runs_dir)
    report = {"full": full, "asha": asha, "same_candidates": full["arch_ids"] == asha["arch_ids"],
              "epochs_saved": 1 - asha["total_epochs"] / full["total_epochs"], "load_before": load_before,
              "load_after": os.getloadavg(), "trials": args.trials, "epochs": args.epochs, "seed": args.seed}
    write(report)


def write(report: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "multi_fidelity.json").write_text(json.dumps(report, indent=2) + "\n")
    rows = [[r["scheduler"], r["trials"], f"{r['total_epochs']:.1f}", r["stopped_early"], f"{r['best_val_top1']:.4f}",
             f"{r['wall_s']:.0f}"] for r in (report["full"], report["asha"])]
    table = tabulate(rows, ["scheduler", "trials", "total epochs", "stopped early", "best val top-1", "wall (s)"],
                     tablefmt="pipe", colalign=("left",) + ("right",) * 5, disable_numparse=True)
    text = (f"# Multi-fidelity: full training vs ASHA ({report['trials']} trials, {report['epochs']} epochs, "
            f"seed {report['seed']}, cifar10-mini 32 px)\n\n"
            f"Load average before {report['load_before'][0]:.2f}, after {report['load_after'][0]:.2f}; "
            f"same candidates in both runs: {report['same_candidates']}.\n\n"
            f"{table}\n\n"
            f"ASHA trained **{100 * report['epochs_saved']:.0f}% fewer epochs**.\n")
    (RESULTS / "multi_fidelity.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
