"""The live progress bar of a search: evaluations done of the target, feasible, failed, best, ETA.

It listens to the generator's events, so it counts exactly what the study records. On a terminal it
is a rich bar; elsewhere (logs, tests) rich degrades to nothing and the final summary is printed.
"""

from __future__ import annotations

from typing import Self

from optuna.trial import FrozenTrial
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from gas.generator import Status
from gas_kernel.objectives import Objectives

__all__ = ["SearchProgress"]


class SearchProgress:
    """Counts generator events and draws them; use as a context manager around the search."""

    def __init__(self, *, total: int, objectives: Objectives, done: int = 0, enabled: bool = True,
                 console: Console | None = None):
        self.total, self.done = total, done
        self.counts = {Status.EVALUATED: 0, Status.FAILED: 0, Status.INFEASIBLE: 0, Status.DUPLICATE: 0,
                       Status.OVER_BUDGET: 0, Status.SCREENED: 0}
        self.best: float | None = None
        self.objectives = objectives
        self._progress = Progress(
            TextColumn("[bold]search"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            console=console or Console(stderr=True), disable=not enabled, transient=False,
        )
        self._task = self._progress.add_task("search", total=total, completed=done, stats=self._stats())

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, status: str, trial: FrozenTrial) -> None:
        """Generator listener: one finished trial."""
        self.counts[status] = self.counts.get(status, 0) + 1
        if status in Status.EVALUATIONS:
            self.done += 1
        value = trial.user_attrs.get("metrics", {}).get(self.objectives.primary_key)
        if status == Status.EVALUATED and value is not None and self.objectives.better(value, self.best):
            self.best = value
        self._progress.update(self._task, completed=self.done, stats=self._stats())

    def _stats(self) -> str:
        c = self.counts
        best = "-" if self.best is None else f"{self.best:.4g}"
        screened = f"screened {c[Status.SCREENED]} " if c[Status.SCREENED] else ""
        return (f"feasible {c[Status.EVALUATED]} {screened}failed {c[Status.FAILED]} over {c[Status.OVER_BUDGET]} "
                f"infeasible {c[Status.INFEASIBLE]} dup {c[Status.DUPLICATE]} best {self.objectives.primary_key} {best}")
