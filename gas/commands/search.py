"""`gas search`: search a space under budgets, or `--resume NAME` a run that stopped.

The search options are generated from `gas.config.SearchConfig` (see `config_options`); only the
options that are not settings of a search (where runs live, resume, the progress bar) are here.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from gas.commands.config_options import add_config_options, given_options
from gas.config import option_flag
from gas_kernel.errors import GasError

EXAMPLES = """examples:
  gas search --budget flops=1G --trials 40
  gas search --budget flops=1G,params=12.7M,latency=27ms --objective proxy,latency --proxy synflow
  gas search --budget flops=1G --address auto --cpus-per-trial 2 --gpus-per-trial 1   # device auto -> cuda
  gas search --resume hiera-flops1G-20261121-1830 --trials 80"""
RESUMABLE = ("trials", "address")  # the settings a resume may change; the others are the run's


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "search",
        help="search for blueprints under budgets (Optuna generator, Ray Tune evaluation)",
        description="Generate blueprints under hard budgets, evaluate them as Ray Tune trials and keep the\n"
        "Pareto set; results go to <runs-dir>/<run>/ (config.json, study.db, trials.jsonl, pareto.json,\n"
        "summary.md, plots). The search options are the fields of gas.config.SearchConfig, the same\n"
        "keywords gas.search() takes.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_options(parser)
    parser.add_argument("--runs-dir", metavar="DIR", help="where runs live (default: $GAS_RUNS_DIR, else ./runs)")
    parser.add_argument("--resume", metavar="NAME",
                        help="continue the named run with its own settings (only --trials and --address may change)")
    parser.add_argument("--no-progress", action="store_true", help="no live progress bar (default: shown on a terminal)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gas.orchestrate import resume, search
    from gas.report import pareto_table
    from gas.runs import run_space

    options = given_options(args)
    if args.resume is not None:
        ignored = [option_flag(name) for name in options if name not in RESUMABLE]
        if ignored:
            raise GasError(f"--resume keeps the run's settings; drop {', '.join(ignored)} (only --trials and --address may change)")
        result = resume(args.resume, runs_dir=args.runs_dir, progress=not args.no_progress, **options)
    else:
        command = shlex.join(["gas", *sys.argv[1:]])
        result = search(**options, runs_dir=args.runs_dir, progress=not args.no_progress, command=command)
    print(f"run {result.name}: {result.evaluations} evaluated, {len(result.pareto)} in the Pareto set -> {result.run_dir}")
    if result.pareto:
        print(pareto_table(result.pareto, result.objectives.keys, run_space(result.run_dir)))
    return 0
