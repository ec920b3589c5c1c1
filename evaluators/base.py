"""What every evaluator is: a named scorer with a cost tier, and the context it runs in.

Tiers let the search order its work: ANALYTIC scores need no model at all, MEASURED ones time a
built model, PROXY ones run a forward/backward pass or two, LEARNED ones ask a model fitted on trained
networks (after measuring the cheap signals it reads), TRAINING ones train for a while. A
search runs them cheapest first and stops a candidate at the first budget it breaks.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import nn

__all__ = ["EvalContext", "EvaluationError", "Evaluator", "Tier"]


class Tier(enum.IntEnum):
    """Cost tier of an evaluator, ordered cheapest first (so `sorted` and `<` work)."""

    ANALYTIC = 0
    MEASURED = 1
    PROXY = 2
    LEARNED = 3
    TRAINING = 4


class EvaluationError(Exception):
    """A candidate failed evaluation (NaN/inf score, diverged training); `reason` says why.

    This fails one candidate, not the search: the search records the reason and moves on.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class EvalContext:
    """Everything an evaluator may need besides the model and blueprint; all fields defaulted.

    `data` is an ImageFolder root holding `train/` and `val/`; without it, proxies score a seeded
    Gaussian batch with random labels. `report` is called after every training epoch with
    e.g. `{"epoch": 1, "val_top1": 0.31}` so a scheduler (Ray Tune's ASHA) can stop a trial early.
    `space` is the search space of the blueprints (its `cost` and `build`), for evaluators that
    work from a blueprint alone; evaluators never look a space up themselves.
    """

    seed: int = 0
    device: str = "cpu"
    threads: int | None = None
    batch_size: int = 32
    latency_batch: int = 1
    throughput_batch: int = 32
    data: str | None = None
    epochs: int = 1
    train_images: int = 0  # training on a fixed class-balanced subset of this many images (0: all)
    max_steps: int | None = None
    time_limit_s: float | None = None
    report: Callable[[dict[str, float]], None] | None = None
    space: Any = None


class Evaluator(abc.ABC):
    """A named scorer. Subclasses set the class attributes and implement `evaluate`.

    `metrics` are the keys `evaluate` returns; the first one is the main metric, and
    `higher_is_better` says which way it points. `top1_metric` names the returned metric that
    estimates validation top-1 as a fraction (None when no score is one): `--budget top1=` reads it.
    """

    name: ClassVar[str] = ""
    tier: ClassVar[Tier] = Tier.PROXY
    metrics: ClassVar[tuple[str, ...]] = ()
    higher_is_better: ClassVar[bool] = True
    top1_metric: ClassVar[str | None] = None

    @abc.abstractmethod
    def evaluate(self, model: nn.Module | None, blueprint: Any, ctx: EvalContext) -> dict[str, float]:
        """Score one candidate; raise EvaluationError(reason) if the candidate fails.

        ANALYTIC evaluators accept `model=None` (they read only the blueprint), so a search can
        reject a candidate before building it.
        """

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} tier={self.tier.name} metrics={self.metrics}>"
