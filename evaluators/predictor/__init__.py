"""The learned accuracy predictor: a random forest over a candidate's blueprint and cheap signals.

    features    blueprint dict -> {name: float} (space-independent), plus `signal.<name>`
    signals     the zero-cost proxies, params and MACs, measured one way for fitting and scoring
    forest      AccuracyPredictor: fit, predict -> (mean, std over trees), update (refit with more)
    rank_ensemble  RankEnsemble: the mean rank of the k signals that rank the trained networks best
    validation  grouped k-fold by arch_id, out-of-sample Kendall tau with a bootstrap 95% interval
    reference   the trained reference set (+ its cached signals) as a training table
    evaluator   the `predictor` and `ensemble` evaluators (tier LEARNED), fitted lazily on the reference set
"""

from evaluators.predictor.evaluator import EnsembleEvaluator, PredictorEvaluator
from evaluators.predictor.features import candidate_features, encode_blueprint
from evaluators.predictor.forest import AccuracyPredictor
from evaluators.predictor.rank_ensemble import RankEnsemble
from evaluators.predictor.reference import ReferenceTable, load_reference_table
from evaluators.predictor.signals import SignalProtocol, measure_signals
from evaluators.predictor.validation import OutOfSample, cross_validate, grouped_folds

__all__ = [
    "AccuracyPredictor",
    "EnsembleEvaluator",
    "OutOfSample",
    "PredictorEvaluator",
    "RankEnsemble",
    "ReferenceTable",
    "SignalProtocol",
    "candidate_features",
    "cross_validate",
    "encode_blueprint",
    "grouped_folds",
    "load_reference_table",
    "measure_signals",
]
