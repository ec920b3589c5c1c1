"""`gas calibrate`: rank-correlate every zero-cost proxy with short-training accuracy on real data."""

from __future__ import annotations

import argparse

from gas_kernel.errors import GasError
from search_spaces import DEFAULT_SPACE


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="Kendall tau / Spearman rho of each accuracy proxy against short training",
        description="Sample small blueprints, score them with every proxy, train each briefly on an "
        "ImageFolder, and report how well each proxy ranks them (JSON, markdown, PNG).",
    )
    parser.add_argument("--space", default=DEFAULT_SPACE)
    parser.add_argument("--data", required=True, metavar="PATH", help="ImageFolder root with train/ and val/")
    parser.add_argument("--archs", type=int, default=30, metavar="K", help="blueprints to sample (default 30)")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs per blueprint (default 3)")
    parser.add_argument("--max-mmacs", type=float, default=10.0, help="analytic MACs cap in millions (default 10)")
    parser.add_argument("--proxy-batch", type=int, default=64, help="images in the proxy batch (default 64)")
    parser.add_argument("--time-limit", type=float, default=300.0, help="training seconds per blueprint, a safety cap (default 300)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0, help="first sampling seed (default 0)")
    parser.add_argument("--out", default="benchmarks/results/", help="output folder (default benchmarks/results/)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
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
