"""The rank ensemble: which signals it chooses, the accuracies it maps ranks to, its errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluators.predictor import RankEnsemble, cross_validate
from gas_kernel.errors import GasError

TARGETS = [0.1, 0.2, 0.3, 0.4, 0.5]


def _rows() -> list[dict[str, float]]:
    """signal.good ranks perfectly, signal.weak mostly, signal.bad backwards; `depth` is no signal."""
    weak = [1.0, 3.0, 2.0, 4.0, 5.0]
    return [{"signal.good": 10.0 * t, "signal.weak": w, "signal.bad": -t, "depth": 100 * t}
            for t, w in zip(TARGETS, weak)]


def test_chooses_the_best_ranking_signals_and_never_a_backwards_one():
    ensemble = RankEnsemble(k=3).fit(_rows(), TARGETS)
    assert list(ensemble.chosen) == ["signal.good", "signal.weak"]  # signal.bad ranks backwards; depth is no signal
    assert ensemble.chosen["signal.good"] == pytest.approx(1.0)
    assert ensemble.chosen["signal.weak"] == pytest.approx(0.8)
    assert list(RankEnsemble(k=1).fit(_rows(), TARGETS).chosen) == ["signal.good"]


def test_maps_the_mean_percentile_to_the_trained_accuracies():
    ensemble = RankEnsemble(k=1).fit(_rows(), TARGETS)
    mean, std = ensemble.predict([{"signal.good": 3.0}, {"signal.good": 0.0}, {"signal.good": 99.0},
                                  {"signal.good": math.nan}])
    assert mean.tolist() == pytest.approx([0.3, 0.1, 0.5, 0.3])  # the middle, below all, above all, unknown
    assert std.tolist() == [0.0] * 4  # one signal: nothing to disagree with


def test_uncertainty_is_the_chosen_signals_disagreement():
    ensemble = RankEnsemble(k=2).fit(_rows(), TARGETS)
    mean, std = ensemble.predict([{"signal.good": 6.0, "signal.weak": 9.0},  # both: above every trained one
                                  {"signal.good": 6.0, "signal.weak": 0.0}])  # above all / below all
    assert mean[0] == pytest.approx(0.5) and std[0] == pytest.approx(0.0)
    assert mean[1] == pytest.approx(0.3) and std[1] == pytest.approx(0.2)  # half the range between 0.1 and 0.5


def test_out_of_sample_it_ranks_a_target_two_noisy_signals_share():
    rng = np.random.default_rng(0)
    truth = rng.uniform(size=60)
    rows = [{"signal.a": t + rng.normal(0, 0.3), "signal.b": t + rng.normal(0, 0.3), "signal.noise": rng.normal()}
            for t in truth]
    alone = cross_validate(rows, truth.tolist(), [str(i) for i in range(60)], folds=5, resamples=200,
                           make=lambda: RankEnsemble(k=1))
    together = cross_validate(rows, truth.tolist(), [str(i) for i in range(60)], folds=5, resamples=200,
                              make=lambda: RankEnsemble(k=2))
    assert together.tau["tau"] > alone.tau["tau"] > 0.3


def test_errors_are_gas_errors():
    with pytest.raises(GasError, match="at least one signal"):
        RankEnsemble(k=0)
    with pytest.raises(GasError, match="at least 4 trained networks"):
        RankEnsemble().fit(_rows()[:3], TARGETS[:3])
    with pytest.raises(GasError, match="not fitted"):
        RankEnsemble().predict(_rows())
    with pytest.raises(GasError, match="none do"):
        RankEnsemble().fit([{"signal.flat": 1.0, "depth": t} for t in TARGETS], TARGETS)
    with pytest.raises(ValueError, match="5 feature rows but 4 targets"):
        RankEnsemble().fit(_rows(), TARGETS[:4])
