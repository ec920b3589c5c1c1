"""PNG plots of a run: the Pareto front and the objective history (matplotlib, Agg backend).

Only feasible evaluated trials are drawn (infeasible proposals carry no objective values), so the
plots show what the search actually found.
"""

from __future__ import annotations

from pathlib import Path

import optuna

from gas.report import evaluated_trials, pareto_entries
from gas_kernel.objectives import Objectives

__all__ = ["write_plots"]


def write_plots(run_dir: Path, study: optuna.Study, objectives: Objectives) -> list[Path]:
    """pareto.png (first objective against the second, or against MACs) and history.png."""
    import matplotlib

    matplotlib.use("Agg")
    trials = evaluated_trials(study)
    if not trials:
        return []
    return [_pareto_plot(run_dir, study, trials, objectives), _history_plot(run_dir, trials, objectives)]


def _pareto_plot(run_dir: Path, study: optuna.Study, trials: list, objectives: Objectives) -> Path:
    import matplotlib.pyplot as plt

    proxy_key = objectives.primary_key
    cost_key = next((key for key in objectives.keys if key != proxy_key), "macs")
    front = {e["number"] for e in pareto_entries(study)}
    fig, ax = plt.subplots(figsize=(6, 4.5))
    xs = [_scaled(t.user_attrs["metrics"], cost_key) for t in trials]
    ys = [t.user_attrs["metrics"][proxy_key] for t in trials]
    ax.scatter(xs, ys, s=14, c="lightgray", label="evaluated")
    best = sorted((x, y) for t, x, y in zip(trials, xs, ys) if t.number in front)
    if best:
        ax.plot(*zip(*best), "o-", color="tab:red", ms=5, label="Pareto set")
    ax.set_xlabel(_label(cost_key))
    ax.set_ylabel(f"{proxy_key} (proxy)")
    ax.set_title(f"{run_dir.name}: {len(trials)} evaluated")
    ax.legend()
    return _save(fig, run_dir / "pareto.png")


def _history_plot(run_dir: Path, trials: list, objectives: Objectives) -> Path:
    import matplotlib.pyplot as plt

    proxy_key = objectives.primary_key
    fig, ax = plt.subplots(figsize=(6, 4))
    numbers = [t.number for t in trials]
    values = [t.user_attrs["metrics"][proxy_key] for t in trials]
    running = objectives.running_best(values)
    ax.scatter(numbers, values, s=12, c="tab:blue", alpha=0.6, label=proxy_key)
    ax.step(numbers, running, where="post", color="tab:red", label="best so far")
    ax.set_xlabel("trial number (proposals, infeasible ones included)")
    ax.set_ylabel(f"{proxy_key} (proxy)")
    ax.legend()
    return _save(fig, run_dir / "history.png")


def _scaled(metrics: dict, key: str) -> float:
    value = float(metrics.get(key, float("nan")))
    return value / 1e9 if key == "macs" else value / 1e6 if key == "params" else value


def _label(key: str) -> str:
    return {"macs": "GMACs (1 MAC = 1 flop)", "params": "params (M)", "latency_ms": "latency (ms, batch 1)"}.get(key, key)


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
