"""Multi-fidelity: spend short training only on promising candidates.

Two mechanisms, both optional and independent:

* **ASHA** (`--scheduler asha`, with `--proxy train --epochs E --data PATH`): the train evaluator
  reports validation top-1 after every epoch; the trainable forwards each report to Tune
  (`ray.tune.report`), and Ray Tune's ASHAScheduler stops trials that trail their rung
  (grace period 1 epoch, reduction factor 2, max_t = E). A stopped trial is not a failure: the
  generator is told its last reported metrics, marked `stopped_early = 1` (short of E epochs).
* **Prescreen** (`--prescreen PROXY --prescreen-keep K`): a cheap-first cascade. Inside the trial the
  zero-cost proxy is scored first; when it falls below the running (1 - K) quantile of the proxy
  scores of the trials finished so far (passed in with each trial's config by the searcher), the
  trial skips training and is recorded as `screened` (its cheap metrics kept, the reason
  `prescreened: ...` under `screened`; the sampler is told it failed, having no objective). Until
  `PRESCREEN_WARMUP` scores are known every candidate is trained. Simple on purpose: the quantile
  lags behind by the trials in flight, which only makes the screen more lenient.
* **Learning screen** (`--prescreen predictor`): the screen is the learned accuracy predictor, and
  it learns from the candidates the search trains. The driver keeps the blueprint and metrics of
  every trained candidate (`TrainedExamples`) and sends them with each new trial; the trial hands
  them to the screen's `learn_examples` before it scores the candidate, so the predictor refits on
  the reference set plus everything this search has trained so far.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ASHA_METRIC", "EXAMPLES_KEY", "PRESCREEN_KEY", "PRESCREEN_WARMUP", "Prescreen", "PrescreenGate",
           "TrainedExamples", "asha_scheduler", "epoch_reporter"]

ASHA_METRIC = "val_top1"
ASHA_TIME = "epoch"
PRESCREEN_KEY = "gas_prescreen"  # the prescreen score, in every trial result that has one
PRESCREEN_WARMUP = 4
EXAMPLES_KEY = "trained_examples"  # the trial config entry carrying TrainedExamples.examples


def asha_scheduler(epochs: int) -> Any:
    """Ray Tune's ASHA on per-epoch val top-1: rungs at 1, 2, 4, ... epochs up to `epochs`."""
    from ray.tune.schedulers import ASHAScheduler

    return ASHAScheduler(time_attr=ASHA_TIME, metric=ASHA_METRIC, mode="max", max_t=max(1, epochs),
                         grace_period=1, reduction_factor=2)


class Prescreen:
    """Driver side: the proxy scores seen so far and the bar a new candidate must clear."""

    def __init__(self, keep: float, higher_is_better: bool = True):
        self.keep, self.sign = keep, 1.0 if higher_is_better else -1.0
        self.scores: list[float] = []

    def observe(self, result: Mapping[str, Any]) -> None:
        """Record the prescreen score of a finished trial's result, if it has one."""
        score = result.get(PRESCREEN_KEY)
        if isinstance(score, (int, float)):
            self.scores.append(self.sign * float(score))

    def threshold(self) -> float | None:
        """The signed (1 - keep) quantile of the scores so far; None while warming up."""
        if len(self.scores) < PRESCREEN_WARMUP or self.keep >= 1.0:
            return None
        ranked = sorted(self.scores)
        return ranked[min(len(ranked) - 1, int((1.0 - self.keep) * len(ranked)))]


class TrainedExamples:
    """Driver side of the learning screen: `{"blueprint", "metrics"}` of every candidate the search
    trained (its metrics hold `target`, the training evaluator's val top-1), in the order they finished."""

    def __init__(self, target: str):
        self.target = target
        self.examples: list[dict[str, Any]] = []

    def observe(self, blueprint: Mapping[str, Any] | None, metrics: Mapping[str, Any] | None) -> None:
        """Keep a finished candidate if it was trained to the end (a screened-out one has no `target`;
        one ASHA stopped early trained fewer epochs than the others, a different measurement)."""
        if (blueprint is not None and metrics and isinstance(metrics.get(self.target), (int, float))
                and not metrics.get("stopped_early")):
            self.examples.append({"blueprint": dict(blueprint), "metrics": dict(metrics)})


class PrescreenGate:
    """Trial side: after each evaluator, stop a candidate whose prescreen score is under the bar."""

    def __init__(self, key: str, higher_is_better: bool, threshold: float | None):
        self.key, self.sign, self.threshold = key, 1.0 if higher_is_better else -1.0, threshold

    def __call__(self, metrics: Mapping[str, float]) -> str | None:
        if self.threshold is None or self.key not in metrics:
            return None
        if self.sign * metrics[self.key] < self.threshold:
            return (f"prescreened: {self.key} {metrics[self.key]:.4g} below the running quantile "
                    f"{self.sign * self.threshold:.4g}; not trained")
        return None


def epoch_reporter(partial: Mapping[str, float], report: Callable[[dict[str, Any]], None],
                   metrics_key: str, epochs: int) -> Callable[[dict[str, float]], None]:
    """The EvalContext.report callback: forward each epoch to Tune with every metric known so far,
    so a trial ASHA stops still carries complete metrics (its last epoch's val top-1), marked
    `stopped_early = 1` when that epoch is short of `epochs` (ASHA also stops trials at max_t)."""

    def on_epoch(record: dict[str, float]) -> None:
        metrics = {**partial, ASHA_METRIC: float(record[ASHA_METRIC]), "epochs": float(record["epoch"]),
                   "train_s": float(record.get("train_s", 0.0))}
        if record["epoch"] < epochs:
            metrics["stopped_early"] = 1.0
        report({ASHA_TIME: float(record["epoch"]), ASHA_METRIC: metrics[ASHA_METRIC], metrics_key: metrics})

    return on_epoch
