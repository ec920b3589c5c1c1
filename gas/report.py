"""Reading results out of a study: trial records, the Pareto set, and the tables people read.

The Optuna storage is the source of truth; trials.jsonl, pareto.json and summary.md are views of it
rewritten as the search goes, so a crash never loses more than the views' last refresh.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from tabulate import tabulate

from gas.generator import Status
from gas_kernel.budget import format_budget
from gas_kernel.objectives import Objectives
from search_spaces import SearchSpace

__all__ = ["pareto_entries", "pareto_table", "trial_record", "write_views"]


def trial_record(trial: FrozenTrial) -> dict[str, Any]:
    """One line of trials.jsonl: what was proposed, what happened to it, and its metrics."""
    attrs = trial.user_attrs
    record = {
        "number": trial.number,
        "state": trial.state.name,
        "status": attrs.get("gas_status"),
        "arch_id": attrs.get("arch_id"),
        "macs": attrs.get("macs"),
        "params": attrs.get("params"),
        "budget_use": attrs.get("budget_use"),
        "values": trial.values,
        "metrics": attrs.get("metrics", {}),
        "constraints": trial.constraints or None,
        "error": attrs.get("error"),
        "screened": attrs.get("screened"),
        "duplicate_of": attrs.get("duplicate_of"),
        "seconds": trial.duration.total_seconds() if trial.duration else None,
        "blueprint": attrs.get("blueprint"),
    }
    return {k: v for k, v in record.items() if v is not None}


def evaluated_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Trials evaluated within budget (no duplicates), in order."""
    return [
        t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.user_attrs.get("gas_status") == Status.EVALUATED
    ]


def pareto_entries(study: optuna.Study) -> list[dict[str, Any]]:
    """The feasible Pareto set (best trial(s) for one objective), one entry per arch_id.

    `Study.best_trials` honours the budget constraints; the duplicates it also holds (complete
    trials answered from the cache, with their source's values) are left out.
    """
    front = [t for t in study.best_trials if t.user_attrs.get("gas_status") == Status.EVALUATED]
    entries, seen = [], set()
    for trial in sorted(front, key=lambda t: t.number):
        arch_id = trial.user_attrs["arch_id"]
        if arch_id not in seen:
            seen.add(arch_id)
            entries.append({
                "number": trial.number,
                "arch_id": arch_id,
                "blueprint": trial.user_attrs["blueprint"],
                "metrics": trial.user_attrs.get("metrics", {}),
            })
    return entries


def pareto_table(entries: Sequence[Mapping[str, Any]], keys: Sequence[str], space: SearchSpace) -> str:
    """A Markdown table of the Pareto set: trial, arch id, objectives, params, GMACs, blueprint.

    Blueprints may be stored dicts or blueprints of `space`, the space the run searched.
    """
    extra = [k for k in keys if k not in ("macs", "params")]
    header = ["trial", "arch_id", *extra, "params (M)", "GMACs", "blueprint"]
    rows = []
    for entry in entries:
        metrics = entry["metrics"]
        blueprint = space.parse(entry["blueprint"])
        rows.append([entry["number"], entry["arch_id"], *(f"{metrics.get(k, float('nan')):.4g}" for k in extra),
                     f"{metrics.get('params', 0) / 1e6:.2f}", f"{metrics.get('macs', 0) / 1e9:.3f}",
                     blueprint.describe().replace("|", "\\|")])  # a bare | would split the cell
    return tabulate(rows, header, tablefmt="github", disable_numparse=True)


def summary_markdown(study: optuna.Study, run_name: str, config: Mapping[str, Any],
                     entries: Sequence[Mapping[str, Any]], objectives: Objectives) -> str:
    """summary.md: what was searched, how the trials ended, and the Pareto table."""
    from gas import runs

    trials = study.get_trials(deepcopy=False)
    counts: dict[str, int] = {}
    for trial in trials:
        status = trial.user_attrs.get("gas_status", trial.state.name.lower())
        counts[status] = counts.get(status, 0) + 1
    budgets = ", ".join(f"{k}={format_budget(k, v)}" for k, v in config["budgets"].items()) or "none"
    lines = [
        f"# Search {run_name}",
        "",
        f"- space: `{config['space']}` {config.get('space_options') or ''}",
        f"- budgets: {budgets} (flops counted as MACs)",
        f"- objectives: {', '.join(config['objectives'])} (proxy = `{objectives.proxy_key}`); sampler: {config['sampler']}",
        f"- proposals: {len(trials)} ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))})",
        "",
        f"## Pareto set ({len(entries)})",
        "",
        pareto_table(entries, objectives.keys, runs.space_of(config)) if entries else "_no feasible trial finished yet_",
        "",
        "Plots: `pareto.png` (front), `history.png` (objective over trials).",
    ]
    return "\n".join(lines) + "\n"


def write_views(run_dir, study: optuna.Study, config: Mapping[str, Any], objectives: Objectives,
                *, trials_too: bool = False) -> list[dict[str, Any]]:
    """Refresh pareto.json and summary.md (and trials.jsonl when asked) from the study.

    pareto.json lists objectives as `{"name": <metric key>, "direction": ...}`, so a reader can
    rank entries by `metrics[name]` without knowing which proxy the run used.
    """
    from gas import runs

    entries = pareto_entries(study)
    runs.write_pareto(run_dir, objectives.header(), config["budgets"], entries)
    text = summary_markdown(study, run_dir.name, config, entries, objectives)
    (run_dir / runs.SUMMARY_FILE).write_text(text)
    if trials_too:
        runs.write_trials(run_dir, [trial_record(t) for t in study.get_trials(deepcopy=False) if t.state.is_finished()])
    return entries
