"""Export: turn a blueprint into a standalone, readable PyTorch model file (a TurboViT).

`export_best` picks a blueprint from a run's Pareto set, `export_preset` and `export_file` take a
named preset (of any space) or a blueprint JSON file, and all of them end in `export_blueprint`,
which writes, with the model code of the blueprint's search space,

    <out>/<name>.py     header docstring, the model code, blueprint constants, constructor `<name>()`,
                        guarded timm registration; imports only torch
    <out>/<name>.json   the export record: blueprint, cost, budgets, metrics, commands

Defaults: `out` is the `generated_archs` package (so `import generated_archs` registers the model
with timm); `name` is `turbovit_<arch_id>` for a run's pick, the preset's name for a preset and the
file's stem for a file. Existing files with other contents are only replaced with `force=True`. The
same inputs always give the same bytes, so exporting them again over their own files is allowed.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any

from gas.codegen import (
    ExportRecord,
    check_name,
    emitted_names,
    pick_entry,
    record_space,
    render_model_file,
    sanitize_name,
)
from gas.runs import CONFIG_FILE, load_pareto, resolve_run, run_space
from gas_kernel.blueprint import Blueprint
from gas_kernel.errors import GasError, one_line
from search_spaces import SearchSpace, find_space, get_space, list_presets

__all__ = [
    "default_out_dir",
    "export_best",
    "export_blueprint",
    "export_file",
    "export_preset",
    "load_blueprint_file",
    "refresh",
    "to_onnx",
]

PathLike = str | os.PathLike
_COMMAND_KEYS = ("command", "command_line", "cmdline", "argv", "cmd")


def export_blueprint(
    blueprint: Blueprint,
    name: str,
    out_dir: PathLike | None = None,
    metadata: dict[str, Any] | None = None,
    force: bool = False,
    space: str | SearchSpace | None = None,
) -> Path:
    """Write `<out_dir>/<name>.py` and `<name>.json`; returns the path of the .py file.

    `space` (a name or a space) is the blueprint's search space, whose model code the file holds;
    by default the one space whose blueprint type the blueprint is. `metadata` may hold budgets,
    metrics, source, search_command and export_command (see `gas.codegen.ExportRecord`); without an
    export_command the record points at its own JSON.
    """
    space = _space_of(blueprint, space)
    check_name(name, emitted_names(space))
    _check_not_a_timm_model(name)
    out = Path(out_dir) if out_dir is not None else default_out_dir()
    py_path, json_path = out / f"{name}.py", out / f"{name}.json"
    metadata = dict(metadata or {})
    metadata.setdefault("export_command", f"gas export file {name}.json --name {name}")
    record = ExportRecord(name=name, blueprint=blueprint, space=space, **metadata)
    source = render_model_file(record)
    compile(source, str(py_path), "exec")  # a codegen bug must never leave a broken file behind
    files = {json_path: record.to_json().encode(), py_path: source.encode()}
    _refuse_overwrite(files, force)
    out.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        path.write_bytes(data)
    return py_path


def pick_from_run(run: str | None, runs_dir: PathLike | None, pick: str = "proxy") -> tuple[Path, dict, Any]:
    """(run folder, pareto.json header, the Pareto entry `pick` selects) of run `run` (latest when None)."""
    run_dir = resolve_run(run, runs_dir)
    header, entries = load_pareto(run_dir)
    if not entries:
        raise GasError(f"run {run_dir.name} has an empty Pareto set: no feasible trial finished yet")
    return run_dir, header, pick_entry(entries, header, pick)


def export_best(
    run: str | None = None,
    runs_dir: PathLike | None = None,
    pick: str = "proxy",
    name: str | None = None,
    out_dir: PathLike | None = None,
    force: bool = False,
) -> Path:
    """Export the Pareto entry `pick` selects from run `run` (the latest run when None)."""
    run_dir, header, entry = pick_from_run(run, runs_dir, pick)
    name = name if name is not None else f"turbovit_{entry.blueprint.arch_id}"
    command = ["gas", "export", "best", "--run", run_dir.name, "--pick", str(pick), "--name", name]
    metadata = {
        "budgets": dict(header.get("budgets") or {}),
        "metrics": dict(entry.metrics),
        "source": {"kind": "run", "run": run_dir.name, "trial": entry["number"], "pick": str(pick)},
        "search_command": _search_command(run_dir),
        "export_command": shlex.join(command),
    }
    return export_blueprint(entry.blueprint, name, out_dir, metadata, force, run_space(run_dir))


def export_preset(
    preset: str,
    img_size: int = 224,
    num_classes: int = 1000,
    name: str | None = None,
    out_dir: PathLike | None = None,
    force: bool = False,
) -> Path:
    """Export a named preset of the space that has it (`gas cost` lists them)."""
    owners = list_presets()
    if preset not in owners:
        raise GasError(f"unknown preset {preset!r}; known presets: {', '.join(owners)}")
    space = get_space(owners[preset], img_size=img_size, num_classes=num_classes)
    blueprint = space.preset(preset)
    name = name if name is not None else sanitize_name(preset)
    command = [
        "gas",
        "export",
        "preset",
        preset,
        "--img-size",
        str(img_size),
        "--num-classes",
        str(num_classes),
    ]
    metadata = {
        "source": {"kind": "preset", "preset": preset},
        "export_command": shlex.join(command + ["--name", name]),
    }
    return export_blueprint(blueprint, name, out_dir, metadata, force, space)


def export_file(
    path: PathLike,
    name: str | None = None,
    out_dir: PathLike | None = None,
    force: bool = False,
    space: str | None = None,
) -> Path:
    """Export a blueprint JSON file of space `space` (default: the default space), or a
    `<name>.json` written by export (its record, and the space it names, are kept)."""
    blueprint, record = load_blueprint_file(path, space)
    name = name if name is not None else sanitize_name(Path(path).stem)
    source = {"kind": "file", "file": str(path)}
    if record.get("source"):
        source["origin"] = record["source"]
    metadata = {
        **ExportRecord.provenance(record),
        "source": source,
        "export_command": shlex.join(["gas", "export", "file", str(path), "--name", name]),
    }
    return export_blueprint(blueprint, name, out_dir, metadata, force, record.get("space") or space)


def refresh(names: list[str] | None = None, out_dir: PathLike | None = None) -> list[Path]:
    """Rewrite exported `.py` files from their `.json` records (after the model code changed).

    The records keep their commands, metrics and provenance; only the code is regenerated, and a
    record written by an older gas is rewritten in today's format (e.g. naming its space).
    Returns the files that changed.
    """
    out = Path(out_dir) if out_dir is not None else default_out_dir()
    names = names or sorted(path.stem for path in out.glob("*.json"))
    changed = []
    for name in names:
        json_path = out / f"{check_name(name)}.json"
        if not json_path.is_file():
            raise GasError(f"no export record {json_path}; export the model first")
        try:
            record = ExportRecord.from_dict(json.loads(json_path.read_text()))
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise GasError(f"{json_path} is not an export record ({type(error).__name__})") from error
        files = {out / f"{name}.py": render_model_file(record), json_path: record.to_json()}
        for path, text in files.items():
            if not path.is_file() or path.read_bytes() != text.encode():
                path.write_bytes(text.encode())
                changed.append(path)
    return changed


def load_blueprint_file(path: PathLike, space: str | None = None) -> tuple[Blueprint, dict[str, Any]]:
    """(blueprint, export record or {}) from a blueprint JSON of space `space` (default: the default
    space) or an export's `<name>.json`, read as a blueprint of the space the record names."""
    path = Path(path)
    if not path.is_file():
        raise GasError(f"blueprint file {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise GasError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise GasError(f"{path} must hold a JSON object (a blueprint or an export record)")
    record = data if isinstance(data.get("blueprint"), dict) else {}
    if record.get("space") and space and record["space"] != space:
        raise GasError(f"{path} is an export of space {record['space']!r}, not {space!r}; drop --space")
    owner = record_space(record, space)
    return owner.parse(record.get("blueprint", data)), record  # ValidationError names the field


def default_out_dir() -> Path:
    """The `generated_archs` package directory: exports there are importable and registered."""
    import generated_archs

    return Path(generated_archs.__file__).resolve().parent


def to_onnx(model: Any, path: PathLike, img_size: int, in_chans: int = 3, check: bool = True) -> float | None:
    """Export `model` to ONNX (opset 17, dynamic batch); returns onnxruntime's max abs difference.

    Needs the `deploy` extra (`pip install gas-nas[deploy]`); returns None when `check` is off.
    """
    from gas.codegen.deploy import export_onnx

    return export_onnx(model, Path(path), img_size, in_chans, check)


# ---- helpers ------------------------------------------------------------------------------------
def _space_of(blueprint: Blueprint, space: str | SearchSpace | None) -> SearchSpace:
    """The named space, or the one whose blueprint type `blueprint` is; GasError on a mismatch."""
    if not isinstance(space, SearchSpace):
        try:
            space = get_space(space if space is not None else find_space(blueprint))
        except KeyError as error:
            raise GasError(one_line(error)) from None
    if not isinstance(blueprint, space.blueprint_type):
        raise GasError(f"a {type(blueprint).__name__} is not a blueprint of space {space.name!r}")
    return space


def _refuse_overwrite(files: dict[Path, bytes], force: bool) -> None:
    """GasError unless `force` when a file exists with other contents (the same bytes are no overwrite,
    so exporting a checked-in model again, e.g. `gas export preset turbovit_ref`, succeeds)."""
    existing = [str(path) for path, data in files.items() if path.exists() and path.read_bytes() != data]
    if existing and not force:
        raise GasError(f"{existing[0]} already exists; pass --force (force=True) to overwrite it")


def _check_not_a_timm_model(name: str) -> None:
    """Refuse names of timm's own models: registering one would replace it in timm's registry."""
    try:
        from timm.models import is_model, model_entrypoint
    except ImportError:
        return
    if is_model(name) and model_entrypoint(name).__module__.startswith("timm."):
        raise GasError(f"invalid model name {name!r}: timm already has a model of that name; pick another")


def _search_command(run_dir: Path) -> str | None:
    """The command line that started the run, as stored in its config.json (if it is)."""
    try:
        config = json.loads((run_dir / CONFIG_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    for key in _COMMAND_KEYS:
        value = config.get(key) if isinstance(config, dict) else None
        if isinstance(value, str) and value:
            return value
        if isinstance(value, list) and value:
            return shlex.join(str(part) for part in value)
    return None
