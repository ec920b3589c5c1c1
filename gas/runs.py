"""Run directories: where a search keeps everything a person or `gas export` needs.

Layout of `runs/<name>/` (the root is `--runs-dir`, else $GAS_RUNS_DIR, else ./runs):

    config.json      the SearchConfig, the space options and the command line that started it
    study.db         the Optuna storage (SQLite) unless another storage URL was given
    trials.jsonl     one line per finished trial: number, state, arch_id, blueprint, metrics
    pareto.json      {"objectives": [...], "budgets": {...}, "trials": [entry, ...]}
                     entry = {"number", "arch_id", "blueprint": <Blueprint JSON>, "metrics": {...}}
    summary.md       the Pareto table; plots as PNG beside it

This module resolves names to directories and reads them back, failing with one clear GasError
when a run is missing or damaged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gas.blueprint import Blueprint
from gas.errors import GasError

__all__ = ["ParetoEntry", "list_runs", "load_pareto", "resolve_run", "runs_root"]

CONFIG_FILE = "config.json"
PARETO_FILE = "pareto.json"


class ParetoEntry(dict):
    """One Pareto-optimal trial: keys number, arch_id, blueprint (a Blueprint), metrics."""

    @property
    def blueprint(self) -> Blueprint:
        return self["blueprint"]

    @property
    def metrics(self) -> dict[str, Any]:
        return self["metrics"]


def runs_root(runs_dir: str | os.PathLike | None = None) -> Path:
    return Path(runs_dir or os.environ.get("GAS_RUNS_DIR") or "runs")


def list_runs(runs_dir: str | os.PathLike | None = None) -> list[Path]:
    """Run directories under the root, oldest first (by the time their config was written)."""
    root = runs_root(runs_dir)
    if not root.is_dir():
        return []
    runs = [path for path in root.iterdir() if (path / CONFIG_FILE).is_file()]
    return sorted(runs, key=lambda path: (path / CONFIG_FILE).stat().st_mtime)


def resolve_run(name: str | None = None, runs_dir: str | os.PathLike | None = None) -> Path:
    """The named run's directory, or the latest run when `name` is None."""
    root = runs_root(runs_dir)
    if name is None:
        runs = list_runs(root)
        if not runs:
            raise GasError(f"no runs in {root}/; start one with `gas search` or pass --runs-dir")
        return runs[-1]
    if not name or "/" in name or name in {".", ".."}:
        raise GasError(f"invalid run name {name!r}: use letters, digits, '-', '_' or '.'")
    path = root / name
    if not (path / CONFIG_FILE).is_file():
        raise GasError(f"no run named {name!r} in {root}/ (see `gas runs`)")
    return path


def load_pareto(run_dir: Path) -> tuple[dict[str, Any], list[ParetoEntry]]:
    """(header, entries) of a run's pareto.json; header has objectives and budgets."""
    path = run_dir / PARETO_FILE
    if not path.is_file():
        raise GasError(f"run {run_dir.name} has no {PARETO_FILE} yet: no trial has finished")
    try:
        data = json.loads(path.read_text())
        entries = [
            ParetoEntry(entry, blueprint=Blueprint.model_validate(entry["blueprint"]))
            for entry in data["trials"]
        ]
    except (json.JSONDecodeError, KeyError, TypeError, ValidationError) as error:
        raise GasError(f"{path} is corrupt ({type(error).__name__}); rerun `gas search --resume {run_dir.name}`") from error
    header = {key: value for key, value in data.items() if key != "trials"}
    return header, entries
