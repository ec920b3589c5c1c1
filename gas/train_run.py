"""`gas train`: train one model to convergence with a named recipe, resumably, into a readable folder.

The model is named the way users already name it: a blueprint JSON file, a preset of the space
(built for the data's image size, channels and classes), a model exported to `generated_archs/`,
or `best` of a search run. Training runs epoch by epoch (`evaluators.training.Trainer`) and after
each epoch writes, atomically,

    <out>/checkpoint.pt   weights, optimizer, schedule, EMA and step: `--resume` continues from it
    <out>/metrics.json    per-epoch train loss, val top-1/top-5 and seconds, and the final figures
    <out>/config.json     what was trained, on what, with which recipe and seed (written first)

so a run killed at any moment (even SIGKILL) resumes after its last finished epoch, with no
epoch lost or repeated and the same numbers the uninterrupted run would have produced.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gas.runs import runs_root, write_json
from gas_kernel.blueprint import Blueprint
from gas_kernel.errors import GasError, one_line

__all__ = ["TrainRun", "resolve_model", "train"]

CHECKPOINT_FILE, METRICS_FILE, TRAIN_CONFIG_FILE = "checkpoint.pt", "metrics.json", "config.json"
_RESUME_KEYS = ("arch_id", "data", "recipe", "epochs", "seed")  # what a resumed run must share with its start


@dataclass(frozen=True)
class TrainRun:
    """A finished (or resumed-to-the-end) training run."""

    out_dir: Path
    blueprint: Blueprint
    history: list[dict[str, float]]

    @property
    def final(self) -> dict[str, float]:
        return self.history[-1]


def train(
    model: str,
    data: str,
    *,
    recipe: str = "reference",
    epochs: int = 30,
    seed: int = 0,
    device: str = "cpu",
    threads: int | None = None,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    run: str | None = None,
    runs_dir: str | os.PathLike | None = None,
    space: str | None = None,
    recipe_overrides: dict[str, Any] | None = None,
    progress: bool = True,
) -> TrainRun:
    """Train `model` on `data` for `epochs` epochs of `recipe`; see the module docstring for the files."""
    from evaluators.data import load_data
    from evaluators.recipes import get_recipe
    from evaluators.training import check_blueprint_fits

    recipe_config = get_recipe(recipe, **(recipe_overrides or {}))
    _check_device(device)
    dataset = load_data(data)
    name, blueprint, builder = resolve_model(model, dataset, run=run, runs_dir=runs_dir, space=space)
    check_blueprint_fits(blueprint, dataset)
    config = {"model": model, "name": name, "arch_id": blueprint.arch_id, "blueprint": blueprint.model_dump(mode="json"),
              "data": dataset.root, "recipe": recipe_config.to_dict(), "epochs": epochs, "seed": seed,
              "device": device, "command": shlex.join(["gas", *sys.argv[1:]]) if sys.argv[0].endswith("gas") else None}
    out_dir = Path(out) if out is not None else runs_root(runs_dir) / "train" / f"{name}-{_data_tag(dataset.root)}-{recipe}-s{seed}"
    state = _prepare_out_dir(out_dir, config, resume)
    return _run_epochs(builder, blueprint, dataset, recipe_config, config, out_dir, state, threads, progress)


def resolve_model(model: str, dataset: Any, *, run: str | None = None, runs_dir: str | os.PathLike | None = None,
                  space: str | None = None) -> tuple[str, Blueprint, Any]:
    """(name, blueprint, the space that builds it) of `model`: `best` of a run, a blueprint file, a
    preset of `space` (built for the data's image size, channels and classes), or an exported model."""
    from gas.export import default_out_dir
    from search_spaces import DEFAULT_SPACE, get_space

    if model == "best":
        return _best_of_run(run, runs_dir)
    if model.endswith(".json") or Path(model).is_file():
        return _from_file(model, space)
    shape = {"img_size": dataset.img_size, "in_chans": dataset.in_chans, "num_classes": dataset.num_classes}
    the_space = get_space(space or DEFAULT_SPACE, **shape)
    if model in the_space.preset_names():
        return model, the_space.preset(model), the_space
    if (default_out_dir() / f"{model}.json").is_file():
        return _from_file(default_out_dir() / f"{model}.json", space)
    raise GasError(f"unknown model {model!r}: pass a blueprint .json file, `best` (with --run), a preset "
                   f"({', '.join(the_space.preset_names())}) or an exported model (`gas export` writes them)")


def _from_file(path: str | Path, space: str | None) -> tuple[str, Blueprint, Any]:
    """A blueprint file or an export record, with the space it names (else `space`)."""
    from gas.codegen import record_space
    from gas.export import load_blueprint_file

    blueprint, record = load_blueprint_file(path, space)
    return Path(path).stem, blueprint, record_space(record, space)


def _best_of_run(run: str | None, runs_dir: str | os.PathLike | None) -> tuple[str, Blueprint, Any]:
    """The entry `gas export best` would export (the best proxy within the budgets)."""
    from gas.export import pick_from_run
    from gas.runs import run_space

    run_dir, _, entry = pick_from_run(run, runs_dir)
    return f"{run_dir.name}-best", entry.blueprint, run_space(run_dir)


def _check_device(device: str) -> None:
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GasError(f"--device {device}: CUDA is not available on this machine; use --device cpu")
    if not (device == "cpu" or device.startswith("cuda")):
        raise GasError(f"--device {device!r}: use cpu or cuda[:N]")


def _data_tag(root: str) -> str:
    """A short name of the dataset for the default output folder: `fashion-mnist`, `cifar10-mini`."""
    return root.split(":", 1)[0] if ":" in root else Path(root).name


def _prepare_out_dir(out_dir: Path, config: dict[str, Any], resume: bool) -> dict[str, Any] | None:
    """The checkpoint to continue from (None for a fresh start); GasError when `out_dir` says otherwise."""
    config_path = out_dir / TRAIN_CONFIG_FILE
    if not resume:
        if config_path.exists():
            raise GasError(f"{out_dir} already holds a training run; pass --resume to continue it or --out elsewhere")
        out_dir.mkdir(parents=True, exist_ok=True)
        write_json(config_path, config)
        return None
    if not config_path.is_file():
        raise GasError(f"nothing to resume in {out_dir}: it has no {TRAIN_CONFIG_FILE}")
    try:
        saved = json.loads(config_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise GasError(f"{config_path} is unreadable ({one_line(error)}); the run cannot be resumed") from None
    changed = [key for key in _RESUME_KEYS if saved.get(key) != json.loads(json.dumps(config[key]))]
    if changed:
        raise GasError(f"--resume in {out_dir} with a different {', '.join(changed)} than the run was started with")
    return _load_checkpoint(out_dir / CHECKPOINT_FILE)


def _load_checkpoint(path: Path) -> dict[str, Any] | None:
    import torch

    if not path.exists():
        return None  # killed before its first epoch ended: start again
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # noqa: BLE001 - pickle, zip and torch errors all mean "corrupt"
        raise GasError(f"{path} is corrupt ({one_line(error)[:120]}); delete it to restart from epoch 0") from None


def _run_epochs(space, blueprint, dataset, recipe, config, out_dir, state, threads, progress) -> TrainRun:
    import torch

    from evaluators.threads import thread_count
    from evaluators.training import Trainer, build_model

    with thread_count(threads):
        trainer = Trainer(build_model(space, blueprint, config["seed"]), dataset, recipe, config["epochs"],
                          seed=config["seed"], device=config["device"])
        if state is not None:
            trainer.load_state_dict(state)
        started, epochs_at_start = time.perf_counter(), trainer.epochs_done
        while not trainer.finished:
            record = trainer.train_epoch()
            _save_atomically(lambda path: torch.save(trainer.state_dict(), path), out_dir / CHECKPOINT_FILE)
            write_json(out_dir / METRICS_FILE, _metrics(config, trainer.history))
            if progress:
                print(_progress_line(trainer, record, started, state), file=sys.stderr, flush=True)
    if not trainer.history:
        raise GasError(f"{out_dir}: the checkpoint has no finished epoch")
    if trainer.epochs_done == epochs_at_start:  # nothing left to train: metrics.json from the checkpoint
        write_json(out_dir / METRICS_FILE, _metrics(config, trainer.history))
    return TrainRun(out_dir, blueprint, trainer.history)


def _metrics(config: dict[str, Any], history: list[dict[str, float]]) -> dict[str, Any]:
    final = history[-1]
    return {"name": config["name"], "arch_id": config["arch_id"], "data": config["data"],
            "recipe": config["recipe"]["name"], "seed": config["seed"], "epochs_planned": config["epochs"],
            "epochs_done": len(history), "final": {k: v for k, v in final.items() if k.startswith("val_")},
            "train_s": sum(h["epoch_s"] for h in history), "history": history}


def _progress_line(trainer: Any, record: dict[str, float], started: float, state: Any) -> str:
    """`epoch 3/30  loss 0.812  val top-1 87.31%  top-5 99.60%  12.3 s/epoch  ETA 5m32s`."""
    done_now = trainer.epochs_done - (len(state["history"]) if state else 0)
    per_epoch = (time.perf_counter() - started) / max(1, done_now)
    remaining = per_epoch * (trainer.total_steps - trainer.step) / trainer.steps_per_epoch
    return (f"epoch {trainer.epochs_done}/{trainer.total_steps // trainer.steps_per_epoch}  "
            f"loss {record['train_loss']:.3f}  val top-1 {100 * record['val_top1']:.2f}%  "
            f"top-5 {100 * record['val_top5']:.2f}%  {record['epoch_s']:.1f} s/epoch  ETA {_duration(remaining)}")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m{secs:02d}s"


def _save_atomically(save, path: Path) -> None:
    """Write through a temporary file and rename, so a kill mid-write leaves the previous file whole."""
    partial = path.with_name(path.name + ".partial")
    save(partial)
    os.replace(partial, path)
