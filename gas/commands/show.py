"""`gas show [NAME]` prints a run's Pareto table; `gas runs` lists the runs."""

from __future__ import annotations

import argparse
import json

from gas import runs
from gas_kernel.errors import GasError
from gas_kernel.objectives import Objectives


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    show = subparsers.add_parser(
        "show", help="the Pareto table of a run (the latest by default)",
        description="Print a run's objectives, budgets and Pareto table (from its pareto.json).",
        epilog="examples:\n  gas show\n  gas show hiera-flops1G-20261121-1830 --runs-dir /shared/runs",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument("name", nargs="?", help="run name (default: the latest run)")
    show.add_argument("--runs-dir", metavar="DIR", help="where runs live (default: $GAS_RUNS_DIR, else ./runs)")
    show.set_defaults(func=run_show)
    listing = subparsers.add_parser(
        "runs", help="list the runs, oldest first",
        description="List the runs with how many candidates each evaluated, its Pareto size and budgets.",
        epilog="example:\n  gas runs --runs-dir /shared/runs", formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listing.add_argument("--runs-dir", metavar="DIR", help="where runs live (default: $GAS_RUNS_DIR, else ./runs)")
    listing.set_defaults(func=run_list)


def run_show(args: argparse.Namespace) -> int:
    from gas.report import pareto_table

    run_dir = runs.resolve_run(args.name, args.runs_dir)
    header, entries = runs.load_pareto(run_dir)
    keys = Objectives.from_header(header.get("objectives", [])).keys
    budgets = _budgets(header.get("budgets")) or "none"
    print(f"run {run_dir.name} ({run_dir}): objectives {', '.join(keys)}; budgets {budgets}")
    if not entries:
        print("no feasible trial finished yet")
        return 0
    print(pareto_table(entries, keys, runs.run_space(run_dir)))
    return 0


def run_list(args: argparse.Namespace) -> int:
    found = runs.list_runs(args.runs_dir)
    if not found:
        print(f"no runs in {runs.runs_root(args.runs_dir)}/")
        return 0
    print(f"{'run':<40} {'evaluated':>9} {'pareto':>6}  budgets")
    for run_dir in found:
        config = _config(run_dir)
        evaluated, pareto = _counts(run_dir)
        budgets = _budgets(config.get("budgets"))
        print(f"{run_dir.name:<40} {evaluated:>9} {pareto:>6}  {budgets}")
    return 0


def _budgets(budgets: dict | None) -> str:
    """`flops=1G,latency=20ms` from a stored {name: limit} mapping."""
    from gas_kernel.budget import BUDGET_METRICS, format_budget

    return ",".join(
        f"{k}={format_budget(k, v) if k in BUDGET_METRICS else v}" for k, v in (budgets or {}).items()
    )


def _parse(line: str) -> dict:
    """One trials.jsonl record; {} for a blank or torn line (a killed driver's last write)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return {}
    return record if isinstance(record, dict) else {}


def _config(run_dir) -> dict:
    try:
        return runs.load_config(run_dir)
    except GasError:
        return {}


def _counts(run_dir) -> tuple[int | str, int | str]:
    """Evaluated trials (from trials.jsonl) and Pareto size; '?' where a file is missing."""
    from gas.generator import Status

    trials_file = run_dir / runs.TRIALS_FILE
    evaluated: int | str = "?"
    if trials_file.is_file():
        lines = [_parse(line) for line in trials_file.read_text().splitlines()]
        evaluated = len({r.get("number") for r in lines if r.get("status") in Status.EVALUATIONS})
    try:
        return evaluated, len(runs.load_pareto(run_dir)[1])
    except GasError:
        return evaluated, "?"
