"""One candidate's evaluation: build the blueprint's model and run the evaluators, cheapest first.

`evaluate_candidate` is plain Python (the benchmarks call it in-process); `tune_trainable` wraps it
for a Ray Tune trial with a time limit. A candidate that raises, returns a non-finite metric or
runs out of time comes back as `{"gas_error": reason}` instead of metrics, so the search records
the failure and goes on (Tune itself never sees an exception, which keeps it quiet and fast).
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import replace
from typing import Any

from gas_kernel.blueprint import Blueprint
from search_spaces import SearchSpace

__all__ = ["ERROR_KEY", "METRICS_KEY", "NO_RETRY_KEY", "SCREENED_KEY", "Screened", "evaluate_candidate",
           "evaluate_or_error", "teach", "tune_trainable"]

ERROR_KEY = "gas_error"
METRICS_KEY = "gas_metrics"
NO_RETRY_KEY = "gas_no_retry"  # a timed-out trial would time out again: fail it, do not retry
SCREENED_KEY = "gas_screened"  # why the prescreen stopped the candidate (its cheap metrics under METRICS_KEY)


def evaluate_candidate(
    space: SearchSpace, blueprint: Blueprint, evaluators: Sequence[Any], ctx: Any,
    after_each: Callable[[dict[str, float]], str | None] | None = None,
) -> dict[str, float]:
    """Metrics of all evaluators for one blueprint; raises EvaluationError for a failed candidate.

    `after_each(metrics so far)` runs after every evaluator; a reason it returns stops the candidate
    there (the prescreen). Measured evaluators time the model inside the cluster's latency section.
    """
    import torch

    from evaluators import EvaluationError, Tier
    from evaluators.allocator import keep_heap
    from evaluators.device import check_device
    from gas.latency_slot import latency_section

    check_device(ctx.device)  # a trial without the GPU it was meant to have fails with this reason
    keep_heap()  # evaluation runs in its own thread, whose malloc arena would mmap every activation
    if ctx.threads:
        torch.set_num_threads(int(ctx.threads))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ctx.seed)  # the same weights whatever the worker ran before (reused actors)
        model = space.build(blueprint)
    metrics: dict[str, float] = {}
    for evaluator in sorted(evaluators, key=lambda e: e.tier):
        with latency_section() if evaluator.tier == Tier.MEASURED else nullcontext():
            scores = evaluator.evaluate(model, blueprint, ctx)
        bad = {k: v for k, v in scores.items() if not math.isfinite(float(v))}
        if bad:
            raise EvaluationError(f"{evaluator.name} returned non-finite {bad}")
        metrics.update({k: float(v) for k, v in scores.items()})
        stop = after_each(dict(metrics)) if after_each is not None else None
        if stop:
            raise Screened(stop, metrics)
    return metrics


class Screened(Exception):
    """A candidate stopped by the prescreen: `reason` says why, `metrics` what was measured."""

    def __init__(self, reason: str, metrics: dict[str, float]):
        super().__init__(reason)
        self.reason, self.metrics = reason, metrics


def evaluate_or_error(
    space: SearchSpace, blueprint: Blueprint, evaluators: Sequence[Any], ctx: Any, timeout_s: float | None,
    after_each: Callable[[dict[str, float]], str | None] | None = None,
) -> dict[str, Any]:
    """Metrics, or `{ERROR_KEY: reason}` when the candidate failed or ran past `timeout_s`, or
    `{SCREENED_KEY: reason, METRICS_KEY: cheap metrics}` when the prescreen stopped it."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome.update(evaluate_candidate(space, blueprint, evaluators, ctx, after_each))
        except Screened as screened:
            outcome.update({SCREENED_KEY: screened.reason, METRICS_KEY: screened.metrics})
        except Exception as error:  # noqa: BLE001 - any failure of one candidate fails only it
            outcome[ERROR_KEY] = _reason(error)

    worker = threading.Thread(target=work, name="gas-evaluate", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        return {ERROR_KEY: f"timeout: evaluation exceeded {timeout_s:g}s"}
    return outcome


def tune_trainable(config: dict[str, Any], *, space: SearchSpace, evaluators: Sequence[Any], ctx: Any,
                   timeout_s: float | None = None, prescreen: tuple[str, bool] | None = None) -> dict[str, Any]:
    """Ray Tune function trainable: evaluate `config["blueprint"]` and return its final result.

    Training evaluators report every epoch to Tune (for ASHA); `prescreen` = (metric, higher is
    better) screens the candidate against `config["prescreen_threshold"]` before training.
    The result carries `gas_eval_s`, the evaluation's own time, so orchestration overhead can be
    measured, and `gas_done` (absent from the per-epoch reports of a trial ASHA stops).
    A timed-out evaluation raises, so Tune fails the trial and retires its worker: the evaluation
    thread cannot be interrupted and must not keep the CPUs of the next trial busy.
    """
    from ray import tune

    from gas.fidelity import EXAMPLES_KEY, PRESCREEN_KEY, PrescreenGate, epoch_reporter

    blueprint = space.parse(config["blueprint"])
    if EXAMPLES_KEY in config:
        try:
            teach(evaluators, config[EXAMPLES_KEY], ctx.data)
        except Exception as error:  # noqa: BLE001 - a screen that cannot refit fails this candidate only
            return {"gas_eval_s": 0.0, "gas_done": True, ERROR_KEY: f"the screen could not learn: {_reason(error)}"}
    partial: dict[str, float] = {}
    gate = PrescreenGate(*prescreen, config.get("prescreen_threshold")) if prescreen else None

    def after_each(metrics: dict[str, float]) -> str | None:
        partial.update(metrics)
        return gate(metrics) if gate is not None else None

    ctx = replace(ctx, report=epoch_reporter(partial, tune.report, METRICS_KEY, ctx.epochs))
    start = time.perf_counter()
    result = evaluate_or_error(space, blueprint, evaluators, ctx, timeout_s, after_each)
    if str(result.get(ERROR_KEY, "")).startswith("timeout"):
        tune.report({NO_RETRY_KEY: True})  # the driver marks the trial not to be retried
        raise TimeoutError(result[ERROR_KEY])
    out: dict[str, Any] = {"gas_eval_s": time.perf_counter() - start, "gas_done": True}
    if prescreen and prescreen[0] in partial:
        out[PRESCREEN_KEY] = partial[prescreen[0]]
    if ERROR_KEY in result:
        return {**out, ERROR_KEY: result[ERROR_KEY]}
    if SCREENED_KEY in result:
        return {**out, **result}
    return {**out, METRICS_KEY: result}


def teach(evaluators: Sequence[Any], examples: Sequence[dict[str, Any]], data: str | None) -> None:
    """Hand the candidates the search has trained to every evaluator that learns from them (the
    predictor as a learning screen: `learn_examples`), before this candidate is scored."""
    for evaluator in evaluators:
        learn = getattr(evaluator, "learn_examples", None)
        if learn is not None:
            learn(examples, data)


def _reason(error: BaseException) -> str:
    """One-line reason: EvaluationError's own text, else the exception type, message and place."""
    reason = getattr(error, "reason", None)
    if reason:
        return str(reason)
    where = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    place = f" at {where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno}" if where else ""
    return f"{type(error).__name__}: {error}{place}"
