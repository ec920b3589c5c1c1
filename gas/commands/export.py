"""`gas export`: write a blueprint as a standalone TurboViT model file (plus its JSON record).

    gas export best   [--run NAME] [--runs-dir DIR] [--pick RULE]   a run's Pareto pick
    gas export preset NAME [--img-size 224] [--num-classes 1000]    a preset of the hiera space
    gas export file   PATH.json                                    a blueprint or export record
    gas export refresh [NAME ...]                                  regenerate code from records

Common options: --name (the model name; default turbovit_<arch_id>, the preset name or the file
stem), --out (default: the generated_archs package), --force (overwrite), --onnx PATH (also export
to ONNX and compare onnxruntime with torch; needs the deploy extra).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gas import export
from gas.codegen import RULES
from gas.codegen.deploy import require_deploy
from search_spaces.hiera.model import Hiera


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a blueprint as a standalone PyTorch model file (a TurboViT)",
        description="Export a blueprint as generated_archs/<name>.py (torch only, timm-registered) "
        "and <name>.json (blueprint, budgets, metrics, commands).",
    )
    sources = parser.add_subparsers(dest="source", metavar="SOURCE", required=True)
    best = _add_source(sources, "best", "the pick of a run's Pareto set")
    best.add_argument("--run", help="run name (default: the latest run)")
    best.add_argument("--runs-dir", help="root of the run directories (default: $GAS_RUNS_DIR or ./runs)")
    best.add_argument(
        "--pick",
        default="proxy",
        metavar="RULE",
        help=f"{', '.join(RULES)} or a trial number like #12 (default: proxy, the best accuracy proxy)",
    )
    preset = _add_source(sources, "preset", "a preset blueprint of the hiera space")
    preset.add_argument("preset", help="preset name, e.g. turbovit_ref or hiera_tiny")
    preset.add_argument("--img-size", type=int, default=224)
    preset.add_argument("--num-classes", type=int, default=1000)
    path = _add_source(sources, "file", "a blueprint JSON file, or a <name>.json written by export")
    path.add_argument("path", help="path to the JSON file")
    refresh = sources.add_parser("refresh", help="regenerate exported files from their .json records")
    refresh.add_argument("names", nargs="*", help="model names (default: every record in --out)")
    refresh.add_argument("--out", help="directory of the exported files (default: generated_archs/)")
    refresh.set_defaults(func=run_refresh)


def _add_source(sources: argparse._SubParsersAction, name: str, help: str) -> argparse.ArgumentParser:
    parser = sources.add_parser(name, help=help, description=f"Export {help}.")
    parser.add_argument("--name", help="model name: lowercase letters, digits and '_'")
    parser.add_argument("--out", help="output directory (default: the generated_archs package)")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.add_argument("--onnx", metavar="PATH", help="also export to ONNX and check it with onnxruntime")
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
        path = export.export_file(args.path, **common)
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

    The model is built from the record beside the file with gas's model code, which is the code
    the file holds (one implementation), so the check needs no import of the new file.
    """
    blueprint, _ = export.load_blueprint_file(py_path.with_suffix(".json"))
    model = Hiera(**blueprint.model_kwargs())
    difference = export.to_onnx(model, onnx_path, blueprint.img_size, blueprint.in_chans)
    print(f"wrote {onnx_path}; onnxruntime vs torch max abs difference {difference:.2e}")
