"""Evaluators: score candidate blueprints, cheapest tier first.

    ANALYTIC  params, macs                          (no model built)
    MEASURED  latency, throughput                   (timed forwards)
    PROXY     synflow, naswot, grad_norm, snip,     (one batch, untrained model)
              jacob_cov, zico, dss
    TRAINING  train                                 (short training, val top-1)

`get_evaluator(name).evaluate(model, blueprint, EvalContext(...))` returns the evaluator's metrics;
the functions underneath (`proxy_score`, `measure_latency`, `train_and_evaluate`) work on any model.
"""

from evaluators.base import EvalContext, EvaluationError, Evaluator, Tier
from evaluators.builtin import register_builtins
from evaluators.latency import LatencyResult, measure_latency, measure_throughput
from evaluators.proxies import list_proxies, proxy_score
from evaluators.registry import get_evaluator, list_evaluators, register_evaluator
from evaluators.training import train_and_evaluate

__all__ = [
    "DEFAULT_PROXY",
    "EvalContext",
    "EvaluationError",
    "Evaluator",
    "LatencyResult",
    "Tier",
    "get_evaluator",
    "list_evaluators",
    "list_proxies",
    "measure_latency",
    "measure_throughput",
    "proxy_score",
    "register_evaluator",
    "train_and_evaluate",
]

# Chosen by `gas calibrate` (benchmarks/results/calibration.md): PLACEHOLDER until the run finishes.
DEFAULT_PROXY = "synflow"

register_builtins()
