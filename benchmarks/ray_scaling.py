"""Ray scaling: the same proxy evaluations at concurrency 1 and 2, and gas + Ray overhead per trial.

    python benchmarks/ray_scaling.py [--blueprints 24] [--batch-size 16]

A fixed list of turbovit_ref-size blueprints (224 px, grad_norm proxy, >= 2 s each on one thread)
runs through gas's own Tune trainable (`gas.trial.tune_trainable`, one CPU and one torch thread per
trial) on gas's embedded Ray (`gas.tune.ray_session`, as `gas search` starts it), once with one trial
at a time and once with two, each run in fresh worker processes. The trainable returns
`gas_eval_s`, the evaluation's own time, so

    overhead per trial = (wall - sum(eval_s) / concurrency) / trials
    scaling efficiency = T1 / (2 * T2)

Each worker's first evaluation (first touch of its heap) is reported apart from the later ones.
The same evaluations in 1 and 2 warm plain processes (no Ray, no gas orchestration) give the
machine's own ceiling: on a shared 2-vCPU VM two single-threaded trials may not run at twice the
speed of one.
Writes benchmarks/results/ray_scaling.{json,md}; the load average is recorded with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from tabulate import tabulate

RESULTS = Path(__file__).resolve().parent / "results"


def blueprints(count: int) -> list[str]:
    """`count` distinct turbovit_ref variants (depth of stage 3 varied), as canonical JSON."""
    from search_spaces import get_space

    space = get_space("hiera")
    ref = space.preset("turbovit_ref")
    out = []
    for index in range(count):
        stages = [dict(s) for s in ref.model_dump()["stages"]]
        stages[2]["depth"] = max(1, stages[2]["depth"] - index % 4)
        out.append(type(ref).model_validate({**ref.model_dump(), "stages": stages}).canonical_json())
    return out


def run(configs: list[str], concurrency: int, batch_size: int, storage: Path) -> dict:
    """Wall time and per-trial evaluator times of one Tune run over `configs`."""
    from ray import tune

    import evaluators as ev
    from gas.trial import tune_trainable
    from search_spaces import get_space

    trainable = tune.with_parameters(tune_trainable, space=get_space("hiera"), evaluators=[ev.get_evaluator("grad_norm")],
                                     ctx=ev.EvalContext(threads=1, batch_size=batch_size))
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space={"number": 0, "blueprint": tune.grid_search(configs)},
        tune_config=tune.TuneConfig(max_concurrent_trials=concurrency, reuse_actors=True),
        run_config=tune.RunConfig(name=f"c{concurrency}", storage_path=str(storage), verbose=0, log_to_file=False),
    )
    start = time.perf_counter()
    results = tuner.fit()
    wall = time.perf_counter() - start
    done = sorted((r.metrics["timestamp"], r.metrics["pid"], r.metrics["gas_eval_s"])
                  for r in results if r.metrics and "gas_error" not in r.metrics)
    evals = [eval_s for _, _, eval_s in done]
    first, later = _first_and_later(done)
    overhead = (wall - sum(evals) / concurrency) / len(configs)
    return {"concurrency": concurrency, "trials": len(configs), "completed": len(evals), "wall_s": wall,
            "eval_s_mean": sum(evals) / max(1, len(evals)), "overhead_per_trial_s": overhead,
            "overhead_fraction": overhead * len(configs) / (wall * concurrency),
            "first_eval_s_mean": _mean(first), "later_eval_s_mean": _mean(later)}


def _first_and_later(done: list[tuple]) -> tuple[list[float], list[float]]:
    """Evaluation times of each worker's first trial, and of all the others.

    A worker's first evaluation is slow - its heap is touched for the first time, and page faults
    cost several times more in a Ray worker, whose other threads keep mapping memory - so it is
    reported apart from the steady state the rest of a search runs at.
    """
    seen: set[int] = set()
    first, later = [], []
    for _, pid, eval_s in done:  # in completion order
        (later if pid in seen else first).append(eval_s)
        seen.add(pid)
    return first, later


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _evaluate(args: tuple[str, int]) -> float:
    """One evaluation in a plain process (no Ray): the machine's own scaling ceiling."""
    import torch

    import evaluators as ev
    from gas.trial import evaluate_candidate
    from search_spaces import get_space

    torch.set_num_threads(1)
    space = get_space("hiera")
    start = time.perf_counter()
    evaluate_candidate(space, space.parse(args[0]), [ev.get_evaluator("grad_norm")],
                       ev.EvalContext(threads=1, batch_size=args[1]))
    return time.perf_counter() - start


def raw(configs: list[str], workers: int, batch_size: int) -> float:
    """Wall time of the same evaluations in `workers` plain processes (pool start-up excluded)."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_evaluate, [(configs[0], batch_size)] * workers))  # warm-up: imports
        start = time.perf_counter()
        list(pool.map(_evaluate, [(c, batch_size) for c in configs]))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blueprints", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    from gas.tune import ray_session

    load_before = os.getloadavg()
    storage = Path(f"/tmp/gas-ray-scaling-{os.getpid()}")
    configs = blueprints(args.blueprints)
    with ray_session(None):  # the embedded Ray exactly as `gas search` starts it
        run(configs[:2], 2, args.batch_size, storage)  # warm-up: imports and worker start-up in both slots
        one, two = run(configs, 1, args.batch_size, storage), run(configs, 2, args.batch_size, storage)
    raw1, raw2 = raw(configs, 1, args.batch_size), raw(configs, 2, args.batch_size)
    report = {"runs": [one, two], "scaling_efficiency": one["wall_s"] / (2 * two["wall_s"]),
              "raw_wall_s": [raw1, raw2], "raw_scaling_efficiency": raw1 / (2 * raw2),
              "load_before": load_before, "load_after": os.getloadavg(), "cpus": os.cpu_count(),
              "proxy": "grad_norm", "img_size": 224, "batch_size": args.batch_size}
    write(report)


def write(report: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ray_scaling.json").write_text(json.dumps(report, indent=2) + "\n")
    header = ["concurrency", "trials", "wall (s)", "eval per trial (s)", "first trial of a worker (s)",
              "later trials (s)", "overhead per trial (s)", "overhead share"]
    rows = [[r["concurrency"], f"{r['completed']}/{r['trials']}", f"{r['wall_s']:.1f}", f"{r['eval_s_mean']:.2f}",
             f"{r['first_eval_s_mean']:.2f}", f"{r['later_eval_s_mean']:.2f}", f"{r['overhead_per_trial_s']:.2f}",
             f"{100 * r['overhead_fraction']:.1f}%"] for r in report["runs"]]
    table = tabulate(rows, header, tablefmt="pipe", colalign=("right",) * len(header), disable_numparse=True)
    text = (f"# Ray scaling (grad_norm at 224 px, turbovit_ref-size blueprints, batch {report['batch_size']})\n\n"
            f"{report['cpus']} cores; load average before {report['load_before'][0]:.2f}, after {report['load_after'][0]:.2f}.\n\n"
            f"{table}\n\n"
            f"Scaling efficiency T1 / (2 T2): **{100 * report['scaling_efficiency']:.0f}%**. The same evaluations "
            f"in plain processes without Ray (the machine's ceiling): {report['raw_wall_s'][0]:.1f} s and "
            f"{report['raw_wall_s'][1]:.1f} s, efficiency {100 * report['raw_scaling_efficiency']:.0f}%.\n")
    (RESULTS / "ray_scaling.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
