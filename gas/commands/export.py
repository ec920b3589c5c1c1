"""`gas export`: write a blueprint as a standalone TurboViT model file (plus its JSON record).

    gas export best   [--run NAME] [--runs-dir DIR] [--pick RULE]   a run's Pareto pick
    gas export preset NAME [--img-size 224] [--num-classes 1000]    a preset of any space (`gas cost`)
    gas export file   PATH.json [--space NAME]                     a blueprint or export record
    gas export refresh [NAME ...]                                  regenerate code from records

Common options: --name (the model name; default turbovit_<arch_id>, the preset name or the file
stem), --out (default: the generated_archs package), --force (overwrite), --onnx PATH (also export
to ONNX and compare onnxruntime with torch; needs the deploy extra).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gas import export
from gas.codegen import RULES, record_space
from gas.codegen.deploy import require_deploy
from search_spaces import DEFAULT_SPACE


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a blueprint as a standalone PyTorch model file (a TurboViT)",
        description="Export a blueprint as generated_archs/<name>.py (torch only, timm-registered) "
        "and <name>.json (blueprint, budgets, metrics, commands).",
        epilog="examples:\n  gas export best --pick knee --name turbovit_knee\n  gas export preset turbovit_ref\n"
        "  gas export file blueprint.json --onnx turbovit.onnx\n  gas export refresh",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sources = parser.add_subparsers(dest="source", metavar="SOURCE", required=True)
    best = _add_source(sources, "best", "the pick of a run's Pareto set", "gas export best --run turbo --pick latency")
    best.add_argument("--run", metavar="NAME", help="run name (default: the latest run)")
    best.add_argument("--runs-dir", metavar="DIR", help="root of the run directories (default: $GAS_RUNS_DIR, else ./runs)")
    best.add_argument(
        "--pick",
        default="proxy",
        metavar="RULE",
        help=f"{', '.join(RULES)} or a trial number like #12 (default: proxy, the best accuracy proxy)",
    )
    preset = _add_source(sources, "preset", "a preset blueprint of a search space", "gas export preset hiera_tiny --img-size 256")
    preset.add_argument("preset", help="preset name, e.g. turbovit_ref or hiera_tiny")
    preset.add_argument("--img-size", type=int, default=224, metavar="N", help="input resolution in pixels (default: 224)")
    preset.add_argument("--num-classes", type=int, default=1000, metavar="N", help="classifier outputs (default: 1000)")
    path = _add_source(sources, "file", "a blueprint JSON file, or a <name>.json written by export",
                       "gas export file generated_archs/turbovit.json --name turbovit_copy --out /tmp/models")
    path.add_argument("path", help="path to the JSON file")
    path.add_argument("--space", help=f"the space of a plain blueprint file (default: {DEFAULT_SPACE}; "
                      "an export record names its own)")
    refresh = sources.add_parser(
        "refresh", help="regenerate exported files from their .json records",
        description="Regenerate exported model files from their .json records (after a change to gas's model code).",
        epilog="example:\n  gas export refresh turbovit turbovit_12m", formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    refresh.add_argument("names", nargs="*", metavar="NAME", help="model names (default: every record in --out)")
    refresh.add_argument("--out", metavar="DIR", help="directory of the exported files (default: the generated_archs package)")
    refresh.set_defaults(func=run_refresh)


def _add_source(sources: argparse._SubParsersAction, name: str, help: str, example: str) -> argparse.ArgumentParser:
    parser = sources.add_parser(name, help=help, description=f"Export {help}.", epilog=f"example:\n  {example}",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", help="model name: lowercase letters, digits and '_' "
                        "(default: turbovit_<arch_id>, the preset name or the file stem)")
    parser.add_argument("--out", metavar="DIR", help="output directory (default: the generated_archs package)")
    parser.add_argument("--force", action="store_true", help="overwrite existing files (default: refuse)")
    parser.add_argument("--onnx", metavar="PATH", help="also export to ONNX and check it with onnxruntime (needs the deploy extra)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.onnx:
        require_deploy()  # before the .py is written: a missing extra leaves nothing behind
    common = {"name": args.name, "out_dir": args.out, "force": args.force}
    if args.source == "best":
        path = export.export_best(args.run, args.runs_dir, pick=args.pick, **common)
    elif args.source == "preset":
        path = export.export_preset(args.preset, args.img_size, args.num_classes, **common)
    else:
        path = export.export_file(args.path, space=args.space, **common)
    name = path.stem
    print(f"wrote {path} and {path.with_suffix('.json').name}")
    print(f"build it: from generated_archs.{name} import {name}; model = {name}()")
    if args.onnx:
        _check_onnx(path, args.onnx)
    return 0


def run_refresh(args: argparse.Namespace) -> int:
    changed = export.refresh(args.names or None, args.out)
    for path in changed:
        print(f"regenerated {path}")
    print(f"{len(changed)} file(s) regenerated" if changed else "all exported files are up to date")
    return 0


def _check_onnx(py_path: Path, onnx_path: str) -> None:
    """Export the model just written to ONNX and report onnxruntime's difference from torch.

    The model is built from the record beside the file by its space, whose model code is the code
    the file holds (one implementation), so the check needs no import of the new file.
    """
    blueprint, record = export.load_blueprint_file(py_path.with_suffix(".json"))
    model = record_space(record).build(blueprint)
    difference = export.to_onnx(model, onnx_path, blueprint.img_size, blueprint.in_chans)
    print(f"wrote {onnx_path}; onnxruntime vs torch max abs difference {difference:.2e}")
