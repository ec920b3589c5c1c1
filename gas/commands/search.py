"""`gas search`: search a space under budgets, or `--resume NAME` a run that stopped."""

from __future__ import annotations

import argparse
import shlex
import sys

from gas_kernel.errors import GasError
from search_spaces import DEFAULT_SPACE


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "search",
        help="search for blueprints under budgets (Optuna generator, Ray Tune evaluation)",
        description="Generate and evaluate blueprints under hard budgets; results go to runs/<name>/.",
    )
    parser.add_argument("--space", default=DEFAULT_SPACE, help=f"search space (default: {DEFAULT_SPACE})")
    parser.add_argument("--budget", action="append", default=[], metavar="NAME=VALUE",
                        help="flops=1G (MACs), params=8M, latency=20ms, throughput=500/s; repeat or comma-separate")
    parser.add_argument("--objective", default="proxy", help="proxy, or proxy plus macs|params|latency, e.g. proxy,macs")
    parser.add_argument("--proxy", help="accuracy proxy evaluator (default: evaluators.DEFAULT_PROXY)")
    parser.add_argument("--sampler", default="tpe", help="tpe (default), nsga2 or random")
    parser.add_argument("--trials", type=int, help="evaluations in total (default 50; on --resume: as before)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run", help="run name (default: <space>-<budgets>-<date>-<time>)")
    parser.add_argument("--runs-dir", help="where runs live (default: $GAS_RUNS_DIR or ./runs)")
    parser.add_argument("--storage", help="Optuna storage URL, or journal:///shared/study.log (default: sqlite in the run dir)")
    parser.add_argument("--address", help="Ray cluster: auto, HOST:PORT or ray://HOST:10001 (default: $RAY_ADDRESS, "
                        "else an embedded local Ray)")
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    parser.add_argument("--gpus-per-trial", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, help="trials at once (default: cluster CPUs / cpus per trial)")
    parser.add_argument("--trial-timeout", type=float, metavar="SECONDS", help="fail a trial that runs longer")
    parser.add_argument("--max-retries", type=int, default=1, help="re-runs of a trial whose worker died (default 1)")
    parser.add_argument("--scheduler", default="fifo", choices=("fifo", "asha"),
                        help="asha: stop weak training trials early (with --proxy train)")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs of --proxy train (default 1)")
    parser.add_argument("--prescreen", metavar="PROXY", help="score this zero-cost proxy first; train only the best")
    parser.add_argument("--prescreen-keep", type=float, default=0.5, help="fraction the prescreen trains (default 0.5)")
    parser.add_argument("--data", help="ImageFolder root: proxies score a real batch instead of noise")
    parser.add_argument("--batch-size", type=int, help="proxy batch size (default: the evaluators')")
    parser.add_argument("--img-size", type=int, default=224)
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--band", type=float, default=0.6, help="lowest budget use a proposal aims for (0..1)")
    parser.add_argument("--resume", metavar="NAME", help="continue the named run (its settings are kept)")
    parser.add_argument("--no-progress", action="store_true", help="no live progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gas.orchestrate import resume, search
    from gas.report import pareto_table
    from gas.runs import run_space

    if args.trials is not None and args.trials < 1:
        raise GasError(f"--trials {args.trials} must be at least 1")
    if args.resume is not None:
        result = resume(args.resume, runs_dir=args.runs_dir, trials=args.trials, address=args.address,
                        progress=not args.no_progress)
    else:
        result = search(
            space=args.space, budgets=args.budget, trials=args.trials or 50, objectives=args.objective,
            proxy=args.proxy, sampler=args.sampler, seed=args.seed, run=args.run, runs_dir=args.runs_dir,
            storage=args.storage, address=args.address, cpus_per_trial=args.cpus_per_trial,
            gpus_per_trial=args.gpus_per_trial, concurrency=args.concurrency, trial_timeout=args.trial_timeout,
            max_retries=args.max_retries, scheduler=args.scheduler, epochs=args.epochs, prescreen=args.prescreen,
            prescreen_keep=args.prescreen_keep, data=args.data,
            batch_size=args.batch_size, space_options={"img_size": args.img_size, "num_classes": args.num_classes},
            band=args.band, progress=not args.no_progress, command=shlex.join(["gas", *sys.argv[1:]]),
        )
    print(f"run {result.name}: {result.evaluations} evaluated, {len(result.pareto)} in the Pareto set -> {result.run_dir}")
    if result.pareto:
        print(pareto_table(result.pareto, result.objectives.keys, run_space(result.run_dir)))
    return 0
