"""Test evaluators and a search driver for the search tests (imported by them; not a test module).

`ScriptedEvaluator` misbehaves on purpose by call order across Ray workers (a file per call,
claimed with O_EXCL): the first calls raise, return NaN or hang; later ones score normally.
`SizeScore` scores a candidate by its parameter count after a short sleep, so with objectives
proxy,params every evaluated trial is on the Pareto front and a kill lands mid-search; `SlowScore`
(2.5 s) keeps a trial's worker busy long enough to be killed. `EpochScore` reports per epoch like
short training does, for ASHA.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from evaluators import EvaluationError, Tier
from evaluators.base import Evaluator

TINY = {"img_size": 32, "num_classes": 10}


class ScriptedEvaluator(Evaluator):
    name = "scripted_test"
    tier = Tier.PROXY
    metrics = ("scripted",)

    def __init__(self, calls_dir: str = "", script: tuple[str, ...] = ()):
        self.calls_dir, self.script = calls_dir, script

    def evaluate(self, model, blueprint, ctx):
        index = self._next_call()
        action = self.script[index] if index < len(self.script) else "ok"
        if action == "raise":
            raise EvaluationError("scripted failure")
        if action == "crash":
            raise RuntimeError("scripted bug")
        if action == "hang":
            time.sleep(60)
        return {"scripted": float("nan") if action == "nan" else float(blueprint.depth)}

    def _next_call(self) -> int:
        """The number of this call across all processes: the first free `call-<i>` file."""
        index = 0
        while True:
            try:
                os.close(os.open(Path(self.calls_dir) / f"call-{index}", os.O_CREAT | os.O_EXCL))
                return index
            except FileExistsError:
                index += 1


class SizeScore(Evaluator):
    name = "size_score_test"
    tier = Tier.PROXY
    metrics = ("size_score",)

    def __init__(self, sleep_s: float = 0.0):
        self.sleep_s = sleep_s

    def evaluate(self, model, blueprint, ctx):
        time.sleep(self.sleep_s)
        return {"size_score": float(sum(p.numel() for p in model.parameters()))}


class SlowScore(SizeScore):
    """The size score after `sleep_s` seconds: long enough to kill its worker mid-trial. With
    `pid_dir`, each evaluation first leaves a file named after its worker's pid there."""

    name = "slow_score_test"
    metrics = ("size_score",)

    def __init__(self, sleep_s: float = 2.5, pid_dir: str = ""):
        super().__init__(sleep_s)
        self.pid_dir = pid_dir

    def evaluate(self, model, blueprint, ctx):
        if self.pid_dir:
            (Path(self.pid_dir) / f"{os.getpid()}-{time.time_ns()}").touch()
        return super().evaluate(model, blueprint, ctx)


class EpochScore(Evaluator):
    """A stand-in for short training: reports a per-blueprint accuracy after each of `ctx.epochs`
    epochs (rising with the epoch), a few tenths of a second apart, as the train evaluator does."""

    name = "epoch_score_test"
    tier = Tier.TRAINING
    metrics = ("val_top1", "epochs", "train_s")

    def evaluate(self, model, blueprint, ctx):
        final = int(blueprint.arch_id[:6], 16) / 16**6
        for epoch in range(1, ctx.epochs + 1):
            time.sleep(0.3)
            if ctx.report is not None:
                ctx.report({"epoch": float(epoch), "val_top1": final * epoch / ctx.epochs, "train_s": 0.3 * epoch})
        return {"val_top1": final, "epochs": float(ctx.epochs), "train_s": 0.3 * ctx.epochs}


def register_evaluator(evaluator, name: str | None = None):
    """The registry's register, optionally under another name (one class, several settings)."""
    from evaluators import register_evaluator as register_one

    if name is not None:
        evaluator.name = name
    return register_one(evaluator)


def register_slow(pid_dir: str) -> None:
    """Register the slow score reporting its worker pids to `pid_dir` (see test_fault_tolerance)."""
    register()
    register_evaluator(SlowScore(sleep_s=2.5, pid_dir=pid_dir))


def register(**scripted) -> None:
    """Register the test evaluators in this process and ship them to Ray workers by value."""
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    register_evaluator(ScriptedEvaluator(**scripted))
    register_evaluator(SizeScore(sleep_s=1.0))
    register_evaluator(SlowScore(sleep_s=2.5))
    register_evaluator(EpochScore())
    register_evaluator(SizeScore(sleep_s=0.0), name="size_now_test")


def drive(runs_dir: str, name: str, trials: int) -> None:
    """A search to be killed: proxy,macs with the slow size score (run in a subprocess)."""
    from gas.orchestrate import search

    register()
    search(space="hiera", space_options=TINY, budgets={"flops": "20M"}, trials=trials,
           objectives="proxy,params", proxy="size_score_test", run=name, runs_dir=runs_dir,
           concurrency=2, progress=False)


if __name__ == "__main__":
    drive(sys.argv[1], sys.argv[2], int(sys.argv[3]))
