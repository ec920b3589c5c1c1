"""Evaluators: score candidate blueprints, cheapest tier first.

    ANALYTIC  params, macs                          (no model built)
    MEASURED  latency, throughput                   (timed forwards)
    PROXY     synflow, naswot, grad_norm, snip,     (one batch, untrained model)
              jacob_cov, zico, dss
    LEARNED   predictor                             (a forest fitted on trained networks, over the proxies)
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

# The accuracy proxy `gas search` uses by default: the best-ranking zero-cost proxy of the calibration
# in benchmarks/results/calibration.md (36 hiera blueprints <= 10 MMACs at 32px, 3 epochs on
# cifar10-mini): grad_norm, Kendall tau 0.275 / Spearman rho 0.389 against val top-1, ahead of synflow
# (0.189), snip (0.163), the MACs baseline (0.160), dss (0.099), naswot (-0.051), jacob_cov (-0.070)
# and zico (-0.326). A shorter 2-epoch run (32 blueprints) also ranked grad_norm first among proxies.
DEFAULT_PROXY = "grad_norm"

register_builtins()
