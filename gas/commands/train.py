"""`gas train`: train a blueprint, preset, exported model or a run's best to convergence, resumably."""

from __future__ import annotations

import argparse

from gas_kernel.errors import GasError

EXAMPLE = """examples:
  gas train turbovit_ref --data fashion-mnist --epochs 30          # a preset, built for the data's shape
  gas train best --run my-search --data ../shared/data/cifar10-mini
  gas train bp.json --data fashion-mnist --out runs/train/bp --resume   # after a kill: continue
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train one model to convergence with a named recipe (checkpoints every epoch, --resume)",
        description="Train a model on a dataset with a named recipe. Writes config.json, metrics.json "
        "(per-epoch loss, val top-1/top-5, seconds) and checkpoint.pt after every epoch; --resume continues "
        "a killed run after its last finished epoch.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="blueprint .json file, preset name, exported model name, or `best` (with --run)")
    parser.add_argument("--data", required=True, metavar="DATA",
                        help="ImageFolder root (train/, val/), `fashion-mnist[:DIR]` or `cifar10:DIR` (read locally)")
    parser.add_argument("--recipe", default="reference", help="training recipe: reference (default) or short")
    parser.add_argument("--epochs", type=int, default=30, help="epochs of the schedule (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="weights, shuffling and augmentation seed (default 0)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]; bfloat16 autocast on CUDA")
    parser.add_argument("--threads", type=int, help="torch threads on CPU (default: torch's)")
    parser.add_argument("--mixup", type=float, help="timm Mixup alpha (default: the recipe's, off)")
    parser.add_argument("--cutmix", type=float, help="timm CutMix alpha (default: the recipe's, off)")
    parser.add_argument("--ema", type=float, metavar="DECAY", help="keep a timm EMA of the weights (e.g. 0.999)")
    parser.add_argument("--out", help="output folder (default: <runs-dir>/train/<model>-<data>-<recipe>-s<seed>)")
    parser.add_argument("--resume", action="store_true", help="continue the run in the output folder")
    parser.add_argument("--run", help="search run whose best blueprint `best` trains (default: the latest)")
    parser.add_argument("--runs-dir", help="where runs live (default: $GAS_RUNS_DIR or ./runs)")
    parser.add_argument("--space", help="search space of a preset or a plain blueprint file (default: the default "
                        "space, hiera; an export record or a run names its own)")
    parser.add_argument("--no-progress", action="store_true", help="no per-epoch progress lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gas.train_run import train

    if args.epochs < 1:
        raise GasError(f"--epochs {args.epochs} must be at least 1")
    overrides = {key: value for key, value in (("mixup", args.mixup), ("cutmix", args.cutmix),
                                                ("ema_decay", args.ema)) if value is not None}
    result = train(args.model, args.data, recipe=args.recipe, epochs=args.epochs, seed=args.seed, device=args.device,
                   threads=args.threads, out=args.out, resume=args.resume, run=args.run, runs_dir=args.runs_dir,
                   space=args.space, recipe_overrides=overrides, progress=not args.no_progress)
    final = result.final
    print(f"{result.blueprint.describe()}: val top-1 {100 * final['val_top1']:.2f}% (top-5 {100 * final['val_top5']:.2f}%) "
          f"after {len(result.history)} epochs -> {result.out_dir}")
    return 0
