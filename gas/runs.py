"""Run directories: where a search keeps everything a person or `gas export` needs.

Layout of `runs/<name>/` (the root is `--runs-dir`, else $GAS_RUNS_DIR, else ./runs):

    config.json      the SearchConfig, the space options and the command line that started it
    study.db         the Optuna storage (SQLite) unless another storage URL was given
    trials.jsonl     one line per finished trial: number, state, arch_id, blueprint, metrics
    pareto.json      {"objectives": [...], "budgets": {...}, "trials": [entry, ...]}
                     entry = {"number", "arch_id", "blueprint": <Blueprint JSON>, "metrics": {...}}
    summary.md       the Pareto table; plots as PNG beside it

This module creates run directories, writes their files (atomically, so a crash never leaves a
half-written pareto.json) and reads them back, failing with one clear GasError when a run is
missing or damaged.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gas_kernel.blueprint import Blueprint
from gas_kernel.cost import Cost
from gas_kernel.errors import GasError, one_line
from search_spaces import DEFAULT_SPACE, SearchSpace, get_space

__all__ = [
    "ParetoEntry",
    "append_trial",
    "check_new_run",
    "create_run",
    "journal_path",
    "list_runs",
    "load_config",
    "load_pareto",
    "new_run_name",
    "open_storage",
    "resolve_run",
    "run_space",
    "runs_root",
    "space_of",
    "write_config",
    "write_json",
    "write_pareto",
    "write_trials",
]

CONFIG_FILE = "config.json"
PARETO_FILE = "pareto.json"
TRIALS_FILE = "trials.jsonl"
SUMMARY_FILE = "summary.md"
STUDY_FILE = "study.db"
_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class ParetoEntry(dict):
    """One Pareto-optimal trial: keys number, arch_id, blueprint (of the run's space), metrics, cost."""

    @property
    def blueprint(self) -> Blueprint:
        return self["blueprint"]

    @property
    def cost(self) -> Cost:
        """The analytic cost of the blueprint, from the run's space."""
        return self["cost"]

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
    check_run_name(name)
    path = root / name
    if not (path / CONFIG_FILE).is_file():
        raise GasError(f"no run named {name!r} in {root}/ (see `gas runs`)")
    return path


def load_pareto(run_dir: Path) -> tuple[dict[str, Any], list[ParetoEntry]]:
    """(header, entries) of a run's pareto.json; header has objectives and budgets.

    Blueprints are read as the run's space's (see `run_space`), with their analytic cost.
    """
    path = run_dir / PARETO_FILE
    if not path.is_file():
        raise GasError(f"run {run_dir.name} has no {PARETO_FILE} yet: no trial has finished")
    space = run_space(run_dir)
    try:
        data = json.loads(path.read_text())
        entries = []
        for entry in data["trials"]:
            blueprint = space.parse(entry["blueprint"])
            entries.append(ParetoEntry(entry, blueprint=blueprint, cost=space.cost(blueprint)))
    except (json.JSONDecodeError, KeyError, TypeError, ValidationError) as error:
        raise GasError(f"{path} is corrupt ({type(error).__name__}); rerun `gas search --resume {run_dir.name}`") from error
    header = {key: value for key, value in data.items() if key != "trials"}
    return header, entries


def run_space(run_dir: Path) -> SearchSpace:
    """The space run `run_dir` searched, with its options, from its config.json."""
    return space_of(load_config(run_dir))


def space_of(config: Mapping[str, Any]) -> SearchSpace:
    """The space a run config names (`space`, `space_options`); GasError when it cannot be made."""
    try:
        return get_space(config.get("space") or DEFAULT_SPACE, **(config.get("space_options") or {}))
    except (KeyError, TypeError) as error:
        raise GasError(f"the run's space cannot be made: {one_line(error)}") from None


def load_config(run_dir: Path) -> dict[str, Any]:
    """The run's config.json as a dict; GasError if it is unreadable."""
    path = run_dir / CONFIG_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise GasError(f"{path} is corrupt or unreadable ({type(error).__name__}); the run cannot be resumed") from error
    if not isinstance(data, dict):
        raise GasError(f"{path} is corrupt (not a JSON object); the run cannot be resumed")
    return data


# ---- creating and writing -------------------------------------------------------------------
def check_run_name(name: str) -> str:
    """`name` if it is a usable directory name, else GasError saying what is allowed."""
    if not isinstance(name, str) or not _RUN_NAME.fullmatch(name) or name in {".", ".."}:
        raise GasError(
            f"invalid run name {name!r}: use up to 128 letters, digits, '-', '_' or '.', starting "
            "with a letter or digit"
        )
    return name


def new_run_name(space: str, budgets: Mapping[str, str], runs_dir: str | os.PathLike | None = None) -> str:
    """`hiera-flops1G-20261121-1830` (suffixed -2, -3, ... if taken)."""
    tags = "".join(f"-{name}{value}".replace("/", "") for name, value in budgets.items())
    base = f"{space}{tags}-{time.strftime('%Y%m%d-%H%M')}"
    root, name, index = runs_root(runs_dir), base, 1
    while (root / name).exists():
        index += 1
        name = f"{base}-{index}"
    return check_run_name(name)


def check_new_run(name: str, runs_dir: str | os.PathLike | None = None) -> Path:
    """The path a new run `name` would get; GasError if the name is taken (resume it instead)."""
    root = runs_root(runs_dir)
    path = root / check_run_name(name)
    if path.exists():
        raise GasError(f"run {name!r} already exists in {root}/; resume it with --resume {name} or pick another --run")
    return path


def create_run(name: str, runs_dir: str | os.PathLike | None = None) -> Path:
    """A new, empty run directory; GasError if the name is taken (resume it instead)."""
    path = check_new_run(name, runs_dir)
    try:
        path.mkdir(parents=True)
    except OSError as error:
        raise GasError(f"cannot create run directory {path}: {error.strerror}") from error
    return path


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temp file + rename), so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


def write_config(run_dir: Path, config: Mapping[str, Any]) -> None:
    write_json(run_dir / CONFIG_FILE, dict(config))


def append_trial(run_dir: Path, record: Mapping[str, Any]) -> None:
    """Append one finished trial to trials.jsonl."""
    with (run_dir / TRIALS_FILE).open("a") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")


def write_trials(run_dir: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Rewrite trials.jsonl from scratch (on resume and at the end, from the Optuna storage)."""
    tmp = run_dir / f".{TRIALS_FILE}.tmp"
    tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    os.replace(tmp, run_dir / TRIALS_FILE)


def write_pareto(
    run_dir: Path, objectives: list[Any], budgets: Mapping[str, float], entries: Iterable[Mapping[str, Any]]
) -> None:
    """pareto.json in the documented format; entries carry number, arch_id, blueprint, metrics."""
    trials = [
        {"number": e["number"], "arch_id": e["arch_id"], "blueprint": e["blueprint"], "metrics": e["metrics"]}
        for e in entries
    ]
    write_json(run_dir / PARETO_FILE, {"objectives": list(objectives), "budgets": dict(budgets), "trials": trials})


def open_storage(url: str) -> Any:
    """An Optuna storage for `url`: an RDB URL, or a JournalStorage log file for shared filesystems.

    `journal:///shared/study.log` or a path ending in `.log` opens Optuna's JournalStorage over a
    JournalFileBackend (append-only, lock-file based: safe on NFS where SQLite is not), the storage
    Optuna recommends for many processes on a cluster. SQLite files get WAL journaling with
    synchronous=NORMAL: every proposal writes a few trial attributes, and SQLite's default (a full
    fsync per commit, ~15 ms) would make proposing slower than evaluating. WAL + NORMAL still
    survives a killed driver (only a power cut may lose the last commits), which is what resume needs.
    """
    import optuna
    from sqlalchemy import event

    journal = journal_path(url)
    if journal is not None:
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        journal.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(journal)))
    storage = optuna.storages.RDBStorage(url)
    if url.startswith("sqlite:"):
        event.listen(storage.engine, "connect", _sqlite_pragmas)
        storage.engine.dispose()
    return storage


def journal_path(url: str) -> Path | None:
    """The log file of a JournalStorage URL (`journal:///abs/file.log` or a `*.log` path), else None."""
    if url.startswith("journal://"):
        return Path(url[len("journal://"):]).expanduser().resolve()
    if "://" not in url and url.endswith(".log"):
        return Path(url).expanduser().resolve()
    return None


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
