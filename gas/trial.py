"""One candidate's evaluation: build the blueprint's model and run the evaluators, cheapest first.

`evaluate_candidate` is plain Python (the benchmarks call it in-process); `tune_trainable` wraps it
for a Ray Tune trial with a time limit. A candidate that raises, returns a non-finite metric or
runs out of time comes back as `{"gas_error": reason}` instead of metrics, so the search records
the failure and goes on (Tune itself never sees an exception, which keeps it quiet and fast).
"""

from __future__ import annotations

import math
import threading
import traceback
from collections.abc import Sequence
from typing import Any

from gas.blueprint import Blueprint
from search_spaces.base import SearchSpace

__all__ = ["ERROR_KEY", "METRICS_KEY", "evaluate_candidate", "evaluate_or_error", "tune_trainable"]

ERROR_KEY = "gas_error"
METRICS_KEY = "gas_metrics"


def evaluate_candidate(
    space: SearchSpace, blueprint: Blueprint, evaluators: Sequence[Any], ctx: Any
) -> dict[str, float]:
    """Metrics of all evaluators for one blueprint; raises EvaluationError for a failed candidate."""
    import torch

    from evaluators import EvaluationError

    if ctx.threads:
        torch.set_num_threads(int(ctx.threads))
    model = space.build(blueprint)
    metrics: dict[str, float] = {}
    for evaluator in sorted(evaluators, key=lambda e: e.tier):
        scores = evaluator.evaluate(model, blueprint, ctx)
        bad = {k: v for k, v in scores.items() if not math.isfinite(float(v))}
        if bad:
            raise EvaluationError(f"{evaluator.name} returned non-finite {bad}")
        metrics.update({k: float(v) for k, v in scores.items()})
    return metrics


def evaluate_or_error(
    space: SearchSpace, blueprint: Blueprint, evaluators: Sequence[Any], ctx: Any, timeout_s: float | None
) -> dict[str, Any]:
    """Metrics, or `{ERROR_KEY: reason}` when the candidate failed or ran past `timeout_s`."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome.update(evaluate_candidate(space, blueprint, evaluators, ctx))
        except Exception as error:  # noqa: BLE001 - any failure of one candidate fails only it
            outcome[ERROR_KEY] = _reason(error)

    worker = threading.Thread(target=work, name="gas-evaluate", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        return {ERROR_KEY: f"timeout: evaluation exceeded {timeout_s:g}s"}
    return outcome


def tune_trainable(config: dict[str, Any], *, space: SearchSpace, evaluators: Sequence[Any], ctx: Any,
                   timeout_s: float | None = None) -> dict[str, Any]:
    """Ray Tune function trainable: evaluate `config["blueprint"]` and return its final result.

    A timed-out evaluation raises, so Tune fails the trial and retires its worker: the evaluation
    thread cannot be interrupted and must not keep the CPUs of the next trial busy.
    """
    blueprint = Blueprint.model_validate_json(config["blueprint"])
    result = evaluate_or_error(space, blueprint, evaluators, ctx, timeout_s)
    if str(result.get(ERROR_KEY, "")).startswith("timeout"):
        raise TimeoutError(result[ERROR_KEY])
    return {ERROR_KEY: result[ERROR_KEY]} if ERROR_KEY in result else {METRICS_KEY: result}


def _reason(error: BaseException) -> str:
    """One-line reason: EvaluationError's own text, else the exception type, message and place."""
    reason = getattr(error, "reason", None)
    if reason:
        return str(reason)
    where = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    place = f" at {where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno}" if where else ""
    return f"{type(error).__name__}: {error}{place}"
