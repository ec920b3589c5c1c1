"""`gas calibrate`: rank-correlate every accuracy signal with trained accuracy.

With `--reference ground_truth.jsonl`: against the trained reference set (proxies, baselines,
early-stopped curves, short schedules; tau with bootstrap intervals, overall and in the band slice).
Without it: the older quick check, every proxy against a few epochs of training on `--data`.
"""

from __future__ import annotations

import argparse

from gas_kernel.errors import GasError
from search_spaces import DEFAULT_SPACE


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="Kendall tau of every accuracy signal against trained accuracy (--reference) or short training",
        description="With --reference: score every zero-cost proxy, the params/MACs baselines, early-stopped "
        "curves and (opt-in) short schedules against the trained reference set, with bootstrap 95%% intervals "
        "overall and within the band slice. Without it: sample small blueprints, train each briefly on --data "
        "and rank-correlate every proxy (JSON, markdown, PNG).",
        epilog="examples:\n  gas calibrate --reference benchmarks/results/ground_truth.jsonl\n"
        "  gas calibrate --reference benchmarks/results/ground_truth.jsonl --short-schedules 1,2,3\n"
        "  gas calibrate --data ../shared/data/cifar10-mini --archs 36 --epochs 3 --threads 2",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--reference", metavar="JSONL", help="trained reference set (benchmarks/ground_truth.py writes it)")
    parser.add_argument("--short-schedules", default="", metavar="E,E",
                        help="with --reference: also train every blueprint with schedules of these epochs (slow; default: none)")
    parser.add_argument("--space", default=DEFAULT_SPACE, help=f"search space to sample (default: {DEFAULT_SPACE})")
    parser.add_argument("--data", metavar="DATA", help="ImageFolder root, fashion-mnist or cifar10:DIR (required "
                        "without --reference; with it, default: the reference's dataset)")
    parser.add_argument("--archs", type=int, default=30, metavar="K", help="blueprints to sample (default: 30)")
    parser.add_argument("--epochs", type=int, default=3, metavar="N", help="training epochs per blueprint (default: 3)")
    parser.add_argument("--max-mmacs", type=float, default=10.0, metavar="M", help="analytic MACs cap in millions (default: 10)")
    parser.add_argument("--proxy-batch", type=int, default=64, metavar="N", help="images in the proxy batch (default: 64)")
    parser.add_argument("--time-limit", type=float, default=300.0, metavar="SECONDS", help="training seconds per blueprint, a safety cap (default: 300)")
    parser.add_argument("--threads", type=int, default=None, metavar="N", help="torch threads (default: torch's own count)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="first sampling seed (default: 0)")
    parser.add_argument("--out", default="benchmarks/results/", metavar="DIR", help="output folder (default: benchmarks/results/)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.reference is not None:
        return _run_reference(args)
    if args.data is None:
        raise GasError("gas calibrate needs --data (a dataset to train on) or --reference (a trained reference set)")
    from evaluators.calibration import CalibrationConfig, run_calibration
    from search_spaces import get_space

    if args.archs < 3:
        raise GasError(f"--archs must be at least 3 to compute rank correlations, got {args.archs}")
    if args.epochs < 1 or args.proxy_batch < 2 or args.max_mmacs <= 0:
        raise GasError("--epochs must be >= 1, --proxy-batch >= 2 and --max-mmacs > 0")
    config = CalibrationConfig(
        data=args.data, space=args.space, archs=args.archs, epochs=args.epochs, max_mmacs=args.max_mmacs,
        proxy_batch=args.proxy_batch, time_limit_s=args.time_limit, threads=args.threads, seed=args.seed,
        out=args.out,
    )
    summary = run_calibration(config, get_space)
    print(f"{'proxy':<12} {'tau':>7} {'rho':>7}")
    for name, row in sorted(summary["correlations"].items(), key=lambda kv: -kv[1]["kendall_tau"]):
        print(f"{name:<12} {row['kendall_tau']:>7.3f} {row['spearman_rho']:>7.3f}")
    print(f"best proxy: {summary['best_proxy']}; report written to {args.out}")
    return 0


def _run_reference(args: argparse.Namespace) -> int:
    from evaluators.reference_calibration import (
        ReferenceCalibrationConfig,
        calibrate_reference,
    )
    from evaluators.reference_calibration_report import reference_markdown
    from search_spaces import get_space

    try:
        schedules = tuple(int(e) for e in args.short_schedules.split(",") if e.strip())
    except ValueError:
        raise GasError(f"--short-schedules {args.short_schedules!r}: give epochs as integers, e.g. 1,2,3") from None
    if any(e < 1 for e in schedules) or args.proxy_batch < 2:
        raise GasError("--short-schedules epochs must be >= 1 and --proxy-batch >= 2")
    config = ReferenceCalibrationConfig(reference=args.reference, data=args.data, proxy_batch=args.proxy_batch,
                                        seed=args.seed, short_schedules=schedules, threads=args.threads, out=args.out)
    print(reference_markdown(calibrate_reference(config, get_space(args.space))))
    print(f"report written to {args.out}")
    return 0
