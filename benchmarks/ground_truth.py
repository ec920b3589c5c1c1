"""The trained reference set: hiera blueprints trained to a plateau, the yardstick of every accuracy signal.

    python benchmarks/ground_truth.py                      # train what is missing, two at a time, resumably
    python benchmarks/ground_truth.py --report             # only rewrite the report from the results so far
    python benchmarks/ground_truth.py --device cuda --concurrency 8 --address auto   # a GPU node or a cluster

A fixed, seeded sample of the `hiera` space at 32 px, 1 channel, 10 classes (Fashion-MNIST, padded
to 32 px; see evaluators/named_data.py):

* a **wide** slice of 32 blueprints spread over 0.3-5 MMACs (4 per log-spaced cost bin), and
* a **band** slice of 16 blueprints of 1.5-2.5 MMACs: what a search with `flops=2.5M` and the
  default 60% band compares, candidates of nearly equal cost;
* the first 8 of each slice are trained again with another seed (16 repeats): the seed-to-seed
  Kendall tau is the ceiling any accuracy signal can reach.

Each job is one `gas train` run (`gas.train_run.train`: reference recipe, a fixed class-balanced
10,000-image training subset, the full 10,000-image test set, 30 epochs) run as a Ray task of gas's
own Ray session with one CPU each (two at a time on a 2-core machine, as wide as the cluster
elsewhere). Checkpoints live in `--work` (default ~/.cache/gas/ground_truth), so an interrupted
job resumes after its last finished epoch; every finished job is appended to the checked-in
`benchmarks/results/ground_truth.jsonl` (blueprint, arch_id, costs, every epoch's val top-1,
seconds, machine, dataset, recipe), and jobs already there are never run again.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(os.environ.get("GAS_GROUND_TRUTH_RESULTS", Path(__file__).resolve().parent / "results"))
JSONL = RESULTS / "ground_truth.jsonl"  # $GAS_GROUND_TRUTH_RESULTS moves it (e.g. a snapshot checkout writing here)
SPACE_OPTIONS = {"img_size": 32, "in_chans": 1, "num_classes": 10}
DATA = "fashion-mnist"
RECIPE, TRAIN_IMAGES, EPOCHS = "reference", 10_000, 30
WIDE_RANGE_MACS, WIDE_BINS, WIDE_PER_BIN = (0.3e6, 5e6), 8, 4
BAND_MACS, BAND_SIZE = (1.5e6, 2.5e6), 16
REPEATS_PER_SLICE, REPEAT_SEED = 8, 1
WORK = "~/.cache/gas/ground_truth"  # checkpoints of every training (both seeds); a rerun resumes from them
BAND_FIRST_SEED = 1_000_000  # the band slice draws from seeds the wide slice never reaches


def reference_blueprints() -> list[tuple[str, Any]]:
    """(slice, blueprint) of the reference set, always the same: wide slice first, then the band.

    Each candidate is a random structure of the space (stage count, patch stride, pooling, mask
    units, depths, ratios, attention types) at a random width scale among those that put it in the
    wanted cost range, so narrow-and-deep and wide-and-shallow networks of one cost both occur.
    """
    import gas

    space = gas.get_space("hiera", **SPACE_OPTIONS)
    low, high = (math.log(v) for v in WIDE_RANGE_MACS)
    edges = [math.exp(low + (high - low) * i / WIDE_BINS) for i in range(WIDE_BINS + 1)]
    bins: list[list[Any]] = [[] for _ in range(WIDE_BINS)]
    seed = 0
    while any(len(b) < WIDE_PER_BIN for b in bins):
        index = min((i for i in range(WIDE_BINS) if len(bins[i]) < WIDE_PER_BIN), key=lambda i: len(bins[i]))
        blueprint = _in_cost_range(space, seed, edges[index], edges[index + 1])
        seed += 1
        if blueprint is not None:
            bins[index].append(blueprint)
    wide = [bp for group in zip(*bins) for bp in group]  # one per bin in turn: any prefix spans the costs
    band, seed = [], BAND_FIRST_SEED
    while len(band) < BAND_SIZE:
        blueprint, seed = _in_cost_range(space, seed, *BAND_MACS), seed + 1
        if blueprint is not None:
            band.append(blueprint)
    return [("wide", bp) for bp in wide] + [("band", bp) for bp in band]


def _in_cost_range(space: Any, seed: int, low: float, high: float) -> Any:
    """The structure of random seed `seed` at a seeded random width with MACs in [low, high], or None."""
    import random

    from search_spaces.base import RandomTrial

    structure = space.sample_structure(RandomTrial(seed))
    fitting = [bp for bp in (space.with_width(structure, w) for w in space.width_choices())
               if low <= space.cost(bp).macs <= high]
    return random.Random(seed).choice(fitting) if fitting else None


def jobs() -> list[dict[str, Any]]:
    """Every (blueprint, seed) to train, in an order whose every prefix is useful: both slices
    interleaved, each repeat right after its first seed."""
    blueprints = reference_blueprints()
    wide = [bp for s, bp in blueprints if s == "wide"]
    band = [bp for s, bp in blueprints if s == "band"]
    order = []
    for i in range(max(len(wide), len(band))):
        for slice_name, group in (("wide", wide), ("band", band)):
            if i < len(group):
                order.append({"slice": slice_name, "blueprint": group[i], "seed": 0})
                if i < REPEATS_PER_SLICE:
                    order.append({"slice": slice_name, "blueprint": group[i], "seed": REPEAT_SEED})
    return order


def done_keys(jsonl: Path = JSONL, epochs: int = EPOCHS, images: int = TRAIN_IMAGES) -> set[tuple[str, int]]:
    """(arch_id, seed) of every training already in `jsonl` with this schedule (epochs, training images)."""
    if not jsonl.is_file():
        return set()
    return {(r["arch_id"], r["seed"]) for r in map(json.loads, jsonl.read_text().splitlines())
            if (r["epochs"], r["train_images"]) == (epochs, images)}


def train_one(job: dict[str, Any], work: str, device: str, nice: int) -> dict[str, Any]:
    """One reference-recipe training (runs inside a Ray task); resumes from `work` when it was interrupted.

    `job`: blueprint, seed, slice (a label), and optionally epochs / train_images (default: the
    reference set's). The record keeps every epoch and `val_hits`, which test images the final
    weights classify right (packed bits, base64), so two models can be compared image by image.
    """
    import gas
    from evaluators.machine import describe_machine
    from gas.train_run import train

    if nice:
        os.nice(nice)
    blueprint, epochs, images = job["blueprint"], job.get("epochs", EPOCHS), job.get("train_images", TRAIN_IMAGES)
    out = Path(work) / f"{blueprint.arch_id}-s{job['seed']}{_schedule_tag(epochs, images)}"
    result = train(str(_blueprint_file(out, blueprint)), DATA, recipe=RECIPE, epochs=epochs, seed=job["seed"],
                   device=device, threads=1, out=out, resume=(out / "config.json").exists(),
                   recipe_overrides={"train_images": images}, progress=False)
    space = gas.get_space("hiera", **SPACE_OPTIONS)
    cost = space.cost(blueprint)
    config = json.loads((out / "config.json").read_text())
    return {"arch_id": blueprint.arch_id, "seed": job["seed"], "slice": job["slice"],
            "blueprint": blueprint.model_dump(mode="json"), "describe": blueprint.describe(),
            "params": cost.params, "macs": cost.macs, "final_val_top1": result.final["val_top1"],
            "final_val_top5": result.final["val_top5"],
            "val_top1": [h["val_top1"] for h in result.history], "train_loss": [h["train_loss"] for h in result.history],
            "epoch_s": [h["epoch_s"] for h in result.history], "train_s": sum(h["epoch_s"] for h in result.history),
            "dataset": config["data"], "train_images": images, "recipe": config["recipe"], "epochs": epochs,
            "device": device, "machine": describe_machine(device), **_val_hits(space, blueprint, out)}


def _schedule_tag(epochs: int, images: int) -> str:
    """The checkpoint folder's suffix for a schedule other than the reference set's (none for it)."""
    return "" if (epochs, images) == (EPOCHS, TRAIN_IMAGES) else f"-e{epochs}-n{images}"


def _val_hits(space: Any, blueprint: Any, out: Path) -> dict[str, Any]:
    """`val_hits`: base64 of the packed bits "test image i is classified right by the final weights
    in `out`", and `val_images`, how many bits."""
    import base64

    import numpy as np
    import torch

    from evaluators.data import load_data
    from evaluators.training import top1_hits

    model = space.build(blueprint)
    model.load_state_dict(torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=False)["model"])
    hits = top1_hits(model, load_data(DATA)).numpy()  # [test images] bool
    return {"val_hits": base64.b64encode(np.packbits(hits)).decode(), "val_images": int(hits.size)}


def unpack_hits(encoded: str, images: int) -> Any:
    """The bool array [images] that `_val_hits` packed."""
    import base64

    import numpy as np

    return np.unpackbits(np.frombuffer(base64.b64decode(encoded), dtype=np.uint8))[:images].astype(bool)


def _blueprint_file(out: Path, blueprint: Any) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "blueprint.json"
    path.write_text(blueprint.model_dump_json())
    return path


def run_jobs(pending: list[dict[str, Any]], jsonl: Path, args: argparse.Namespace) -> None:
    """Train `pending` jobs through Ray tasks of gas's Ray session (`args`: address, concurrency,
    gpus_per_job, work, device, nice), appending each record to `jsonl` as it finishes."""
    import ray

    from gas.tune import ray_session

    with ray_session(args.address) as session:
        task = ray.remote(num_cpus=1, num_gpus=args.gpus_per_job, max_retries=1)(train_one)
        width = args.concurrency or max(1, int(session.cpus))
        queue, running = list(pending), {}
        while queue or running:
            while queue and len(running) < width:
                job = queue.pop(0)
                running[task.remote(job, args.work, args.device, args.nice)] = job
            ready, _ = ray.wait(list(running), num_returns=1)
            job = running.pop(ready[0])
            try:
                record = ray.get(ready[0])
            except Exception as error:  # noqa: BLE001 - a failed training is reported, the rest goes on
                print(f"FAILED {job['blueprint'].arch_id} seed {job['seed']}: {str(error).splitlines()[-1][:200]}",
                      flush=True)
                continue
            jsonl.parent.mkdir(parents=True, exist_ok=True)
            with jsonl.open("a") as handle:
                handle.write(json.dumps(record, sort_keys=True) + "\n")
            print(f"done {record['arch_id']} s{record['seed']} ({record['slice']}, {record['macs'] / 1e6:.2f} MMACs): "
                  f"val top-1 {100 * record['final_val_top1']:.2f}% in {record['train_s'] / 60:.1f} min", flush=True)


def add_runner_options(parser: argparse.ArgumentParser, work: str) -> None:
    """The options of `run_jobs` (shared by every benchmark that trains with it)."""
    parser.add_argument("--work", default=str(Path(work).expanduser()), help="checkpoint folder (resumes from it)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--address", help="Ray cluster address (default: gas's embedded Ray)")
    parser.add_argument("--concurrency", type=int, help="jobs at once (default: the Ray cluster's CPUs)")
    parser.add_argument("--gpus-per-job", type=float, default=0.0)
    parser.add_argument("--nice", type=int, default=0, help="lower the training processes' priority by this")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="only write the report from the results so far")
    parser.add_argument("--list", action="store_true", help="print the jobs and their state, train nothing")
    add_runner_options(parser, WORK)
    parser.add_argument("--limit", type=int, default=0, help="run at most this many jobs, then stop")
    args = parser.parse_args()
    if args.list:
        done = done_keys()
        for job in jobs():
            state = "done" if (job["blueprint"].arch_id, job["seed"]) in done else "todo"
            print(f"{state}  {job['slice']:<4} s{job['seed']}  {job['blueprint'].arch_id}  {job['blueprint'].describe()}")
        return
    if not args.report:
        pending = [job for job in jobs() if (job["blueprint"].arch_id, job["seed"]) not in done_keys()]
        print(f"{len(pending)} reference trainings to run ({len(done_keys())} done)", flush=True)
        run_jobs(pending[: args.limit] if args.limit else pending, JSONL, args)
    from ground_truth_report import write_report

    write_report(JSONL, RESULTS)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
