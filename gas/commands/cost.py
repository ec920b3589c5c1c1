"""`gas cost`: params and GMACs of presets, random samples or blueprint files, without building."""

from __future__ import annotations

import argparse
from pathlib import Path

from gas_kernel.blueprint import Blueprint
from gas_kernel.errors import GasError
from search_spaces import DEFAULT_SPACE, SearchSpace, get_space


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cost",
        help="analytic params and GMACs of blueprints (presets by default)",
        description="Price blueprints analytically, without building them: exact params, and MACs with the "
        "attention matmuls counted (1 MAC = 1 flop, as in fvcore and timm's tables).",
        epilog="examples:\n  gas cost\n  gas cost turbovit_ref hiera_tiny --img-size 256\n"
        "  gas cost generated_archs/turbovit.json --random 5",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("targets", nargs="*", metavar="TARGET",
                        help="preset names or blueprint .json files (default: every preset of the space)")
    parser.add_argument("--space", default=DEFAULT_SPACE, help=f"search space (default: {DEFAULT_SPACE})")
    parser.add_argument("--img-size", type=int, default=224, metavar="N", help="input resolution in pixels (default: 224)")
    parser.add_argument("--random", type=int, default=0, metavar="K", help="also price K random blueprints (default: 0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    space = get_space(args.space, img_size=args.img_size)
    rows = [(target, _load(space, target)) for target in (args.targets or space.preset_names())]
    rows += [(f"random:{seed}", space.random(seed)) for seed in range(args.random)]
    print(f"{'name':<18} {'arch_id':<12} {'params (M)':>10} {'GMACs':>8}  blueprint")
    for name, blueprint in rows:
        cost = space.cost(blueprint)
        print(f"{name:<18} {blueprint.arch_id:<12} {cost.mparams:>10.2f} {cost.gmacs:>8.3f}  {blueprint.describe()}")
    return 0


def _load(space: SearchSpace, target: str) -> Blueprint:
    """A preset by name, or a blueprint JSON file by path."""
    if target.endswith(".json"):
        path = Path(target)
        if not path.is_file():
            raise GasError(f"blueprint file {target} does not exist")
        return space.parse(path.read_text())
    return space.preset(target)
