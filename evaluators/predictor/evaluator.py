"""The `predictor` evaluator: a predicted val top-1 and its uncertainty, from cheap signals only.

It fits itself lazily, on first use, on the shipped Hiera reference set (one fit per kind of batch:
seeded noise without data, the reference set's own Fashion-MNIST signals with data) and scores a
candidate by measuring the same signals on it under the same `SignalProtocol` (every zero-cost
proxy, params, MACs: seconds at 32 px, most of the cost) and asking the forest (milliseconds). `learn(...)` is the
search-time refit of the cheap-first cascade: the candidates a search has trained join the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from evaluators.base import EvalContext, Evaluator, Tier
from evaluators.predictor.features import candidate_features
from evaluators.predictor.forest import AccuracyPredictor
from evaluators.predictor.reference import (
    FEATURES_FILE,
    REFERENCE_DATA,
    REFERENCE_FILE,
    load_reference_table,
    shipped_results,
)
from evaluators.predictor.signals import NOISE, SignalProtocol, measure_signals
from evaluators.threads import thread_count
from gas_kernel.errors import GasError

__all__ = ["PredictorEvaluator", "TrainedCandidate"]


@dataclass(frozen=True)
class TrainedCandidate:
    """A candidate the search has trained: its blueprint, its untrained model (as built), its val top-1."""

    blueprint: Any
    model: nn.Module
    val_top1: float


class PredictorEvaluator(Evaluator):
    """`{"predictor": predicted val top-1, "predictor_std": its per-tree spread}` for a built candidate."""

    name = "predictor"
    tier = Tier.LEARNED
    metrics = ("predictor", "predictor_std")
    top1_metric = "predictor"  # a predicted val top-1: `--budget top1=` reads it

    def __init__(self, reference: Path | None = None, features: Path | None = None,
                 protocol: SignalProtocol | None = None):
        self.reference = reference or shipped_results() / REFERENCE_FILE
        self.features = features or shipped_results() / FEATURES_FILE
        self.protocol = protocol or SignalProtocol()
        self._predictors: dict[str, AccuracyPredictor] = {}
        self._domains: dict[str, set[tuple[int, int, int]]] = {}

    def evaluate(self, model: nn.Module | None, blueprint: Any, ctx: EvalContext) -> dict[str, float]:
        if model is None:
            raise GasError("the predictor measures zero-cost proxies on the candidate: it needs a built model")
        predictor = self.predictor(ctx.data)
        self._check_domain(blueprint, ctx.data)
        with thread_count(ctx.threads):
            signals = measure_signals(model, blueprint, ctx.data, self.protocol, ctx.device)
        mean, std = predictor.predict([candidate_features(blueprint, signals)])
        return {"predictor": float(mean[0]), "predictor_std": float(std[0])}

    def predictor(self, data: str | None = None) -> AccuracyPredictor:
        """The fitted predictor for candidates scored on `data` (None: noise), fitting it on first use."""
        key = _signal_data(data)
        if key not in self._predictors:
            table = load_reference_table(self.reference, self.features, key, self.protocol)
            self._predictors[key] = AccuracyPredictor().fit(table.rows, table.targets)
            self._domains[key] = {_domain(r["blueprint"]) for r in table.records}
        return self._predictors[key]

    def learn(self, trained: Sequence[TrainedCandidate], data: str | None = None) -> AccuracyPredictor:
        """Refit on the reference set plus `trained` (their signals measured here, as `evaluate` would)."""
        predictor = self.predictor(data)
        rows = [candidate_features(c.blueprint, measure_signals(c.model, c.blueprint, data, self.protocol))
                for c in trained]
        self._domains[_signal_data(data)].update(_domain(c.blueprint) for c in trained)
        return predictor.update(rows, [c.val_top1 for c in trained])

    def _check_domain(self, blueprint: Any, data: str | None) -> None:
        """GasError unless networks of the candidate's input size, channels and classes were learned from."""
        domain = _domain(blueprint)
        known = self._domains[_signal_data(data)]
        if domain not in known:
            seen = ", ".join(f"{s}px/{c}ch/{k} classes" for s, c, k in sorted(known))
            raise GasError(f"the predictor learned from {seen} networks, not {domain[0]}px/{domain[1]}ch/"
                           f"{domain[2]} classes: train some candidates of this kind and pass them to learn()")


def _signal_data(data: str | None) -> str:
    """Which cached reference signals fit a candidate scored on `data`: noise, or real images."""
    return NOISE if data is None else REFERENCE_DATA


def _domain(blueprint: Any) -> tuple[int, int, int]:
    """(img_size, in_chans, num_classes) of a Blueprint or its dict."""
    get = blueprint.get if isinstance(blueprint, dict) else lambda key: getattr(blueprint, key)
    return int(get("img_size")), int(get("in_chans")), int(get("num_classes"))
