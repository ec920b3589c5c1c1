"""The `predictor` evaluator: a predicted val top-1 and its uncertainty, from cheap signals only.

It fits itself lazily, on first use, on the shipped Hiera reference set (one fit per kind of batch:
seeded noise without data, the reference set's own Fashion-MNIST signals with data) and scores a
candidate by measuring the same signals on it under the same `SignalProtocol` (every zero-cost
proxy, params, MACs: seconds at 32 px, most of the cost) and asking the forest (milliseconds). It returns
those signals too (`signal.<name>`), so a search can teach it later.

The search-time refit of the cheap-first cascade (`gas search --proxy train --prescreen predictor`):
the search sends every trial the blueprints and metrics of the candidates it has trained so far
(`learn_examples`), and the predictor refits on the reference set plus those, their val top-1 as
targets. Those targets are the search's own training measurement (its data, recipe and epochs),
not the reference set's 30-epoch accuracy: the forest ranks by both, the search's rows growing in
weight as they accumulate. A predictor in this learning mode does not refuse a candidate of a kind
the reference set never trained (other image sizes, channels or classes): it returns the signals
without a prediction, the screen lets the candidate train, and it predicts once the search has
trained candidates of that kind.

The `ensemble` evaluator is the same machinery with the rank ensemble in place of the forest
(`evaluators.predictor.rank_ensemble`): the mean rank of the few signals that rank the reference
set best, a predictor with almost nothing to fit for while the reference set is small.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from evaluators.base import EvalContext, Evaluator, Tier
from evaluators.predictor.features import SIGNAL_PREFIX, candidate_features
from evaluators.predictor.forest import AccuracyPredictor
from evaluators.predictor.rank_ensemble import RankEnsemble
from evaluators.predictor.reference import (
    FEATURES_FILE,
    REFERENCE_DATA,
    REFERENCE_FILE,
    ReferenceTable,
    load_reference_table,
    shipped_results,
)
from evaluators.predictor.signals import NOISE, SignalProtocol, measure_signals
from evaluators.predictor.validation import Regressor
from evaluators.threads import thread_count
from gas_kernel.errors import GasError

__all__ = ["EnsembleEvaluator", "PredictorEvaluator"]


class PredictorEvaluator(Evaluator):
    """`{"predictor": predicted val top-1, "predictor_std": its per-tree spread}` for a built candidate."""

    name = "predictor"
    tier = Tier.LEARNED
    metrics = ("predictor", "predictor_std")  # and `signal.<name>` of every signal it measured
    top1_metric = "predictor"  # a predicted val top-1: `--budget top1=` reads it
    target_metric = "val_top1"  # what `learn_examples` learns: the train evaluator's val top-1
    make_regressor: Callable[[], Regressor] = AccuracyPredictor

    def __init__(self, reference: Path | None = None, features: Path | None = None,
                 protocol: SignalProtocol | None = None):
        self.reference = reference or shipped_results() / REFERENCE_FILE
        self.features = features or shipped_results() / FEATURES_FILE
        self.protocol = protocol or SignalProtocol()
        self._predictors: dict[str, Regressor] = {}
        self._tables: dict[str, ReferenceTable] = {}
        self._domains: dict[str, set[tuple[int, int, int]]] = {}
        self._learned: dict[str, int] = {}  # examples the current fit of each kind of batch learned from
        self._learning = False  # set by learn_examples: a search teaches this predictor

    def evaluate(self, model: nn.Module | None, blueprint: Any, ctx: EvalContext) -> dict[str, float]:
        if model is None:
            raise GasError("the predictor measures zero-cost proxies on the candidate: it needs a built model")
        predictor = self.predictor(ctx.data)
        known = _domain(blueprint) in self._domains[_signal_data(ctx.data)]
        if not (known or self._learning):
            self._refuse_domain(blueprint, ctx.data)
        with thread_count(ctx.threads):
            signals = measure_signals(model, blueprint, ctx.data, self.protocol, ctx.device)
        measured = {SIGNAL_PREFIX + name: float(value) for name, value in signals.items() if value is not None}
        if not known:  # learning, and no trained candidate of this kind yet: train it, learn from it
            return measured
        mean, std = predictor.predict([candidate_features(blueprint, signals)])
        prediction, spread = self.metrics
        return {prediction: float(mean[0]), spread: float(std[0]), **measured}

    def predictor(self, data: str | None = None) -> Regressor:
        """The fitted predictor for candidates scored on `data` (None: noise), fitting it on first use."""
        key = _signal_data(data)
        if key not in self._predictors:
            table = load_reference_table(self.reference, self.features, key, self.protocol)
            self._tables[key] = table
            self._predictors[key] = self.make_regressor().fit(table.rows, table.targets)
            self._domains[key] = {_domain(r["blueprint"]) for r in table.records}
        return self._predictors[key]

    def learn_examples(self, examples: Sequence[Mapping[str, Any]], data: str | None = None) -> Regressor:
        """Refit on the reference set plus `examples`, the candidates a search trained:
        `{"blueprint": its dict, "metrics": its trial metrics}`, the metrics holding the `signal.<name>`
        this evaluator returned and the train evaluator's `val_top1` (others are skipped). Refits only
        when there are more examples than the current fit learned from; puts the predictor in
        learning mode (see the module docstring)."""
        self._learning = True
        key = _signal_data(data)
        predictor = self.predictor(data)
        usable = [e for e in examples if self.target_metric in e["metrics"]
                  and any(name.startswith(SIGNAL_PREFIX) for name in e["metrics"])]
        if len(usable) <= self._learned.get(key, 0):
            return predictor
        rows = [candidate_features(e["blueprint"], _signals(e["metrics"])) for e in usable]
        table = self._tables[key]
        self._predictors[key] = self.make_regressor().fit(
            table.rows + rows, table.targets + [float(e["metrics"][self.target_metric]) for e in usable])
        self._domains[key] = {_domain(r["blueprint"]) for r in table.records} | {_domain(e["blueprint"]) for e in usable}
        self._learned[key] = len(usable)
        return self._predictors[key]

    def _refuse_domain(self, blueprint: Any, data: str | None) -> None:
        """GasError: networks of the candidate's input size, channels and classes were never learned from."""
        domain = _domain(blueprint)
        seen = ", ".join(f"{s}px/{c}ch/{k} classes" for s, c, k in sorted(self._domains[_signal_data(data)]))
        raise GasError(f"the {self.name} learned from {seen} networks, not {domain[0]}px/{domain[1]}ch/"
                       f"{domain[2]} classes: let a search teach it (--proxy train --prescreen {self.name}), or "
                       "train some of this kind and pass them to learn_examples()")


class EnsembleEvaluator(PredictorEvaluator):
    """`{"ensemble": predicted val top-1, "ensemble_std": the signals' disagreement}`: the mean rank of
    the signals that rank the reference set best (`RankEnsemble`), fitted and taught like `predictor`."""

    name = "ensemble"
    metrics = ("ensemble", "ensemble_std")
    top1_metric = "ensemble"
    make_regressor = RankEnsemble


def _signals(metrics: Mapping[str, float]) -> dict[str, float]:
    """The `signal.<name>` entries of a candidate's metrics, by name."""
    return {name[len(SIGNAL_PREFIX):]: value for name, value in metrics.items() if name.startswith(SIGNAL_PREFIX)}


def _signal_data(data: str | None) -> str:
    """Which cached reference signals fit a candidate scored on `data`: noise, or real images."""
    return NOISE if data is None else REFERENCE_DATA


def _domain(blueprint: Any) -> tuple[int, int, int]:
    """(img_size, in_chans, num_classes) of a Blueprint or its dict."""
    get = blueprint.get if isinstance(blueprint, dict) else lambda key: getattr(blueprint, key)
    return int(get("img_size")), int(get("in_chans")), int(get("num_classes"))
