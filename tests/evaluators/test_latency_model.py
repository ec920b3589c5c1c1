"""The latency model: one rate from the first timing, exact recovery of non-negative rates, the
switch between them, its held-out error, readiness, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluators.latency_model import LatencyModel
from gas_kernel.errors import GasError

RATES = {"linear_macs": 2e-8, "attention_macs": 5e-8, "blocks": 0.3}
OVERHEAD_MS = 1.5


def features(rng: np.random.Generator) -> dict[str, float]:
    return {"linear_macs": float(rng.uniform(1e7, 1e9)), "attention_macs": float(rng.uniform(1e6, 1e8)),
            "blocks": float(rng.integers(2, 20))}


def true_latency(f: dict[str, float]) -> float:
    return sum(RATES[k] * v for k, v in f.items()) + OVERHEAD_MS


def test_recovers_a_linear_latency_exactly_with_no_held_out_error():
    rng = np.random.default_rng(0)
    model = LatencyModel()
    for _ in range(12):
        f = features(rng)
        model.add(f, true_latency(f))
    unseen = features(rng)
    assert model.predict(unseen) == pytest.approx(true_latency(unseen), rel=1e-9)
    assert model.error == pytest.approx(0.0, abs=1e-9)


def test_held_out_error_reflects_measurement_noise():
    rng = np.random.default_rng(1)
    model = LatencyModel(quantile=0.9)
    for _ in range(60):
        f = features(rng)
        model.add(f, true_latency(f) * (1 + rng.choice([-0.1, 0.1])))  # every timing 10% off
    assert 0.08 < model.error < 0.2
    assert model.error_at(0.9) == model.error
    assert 0.05 < model.error_at(0.5) <= model.error  # the typical miss, what steering allows for


def test_rates_stay_non_negative_even_when_a_feature_only_adds_noise():
    rng = np.random.default_rng(2)
    model = LatencyModel()
    for _ in range(40):
        f = {**features(rng), "params": float(rng.uniform(1e6, 1e7))}  # params do not drive this latency
        model.add(f, true_latency({k: f[k] for k in RATES}) * (1 + 0.02 * rng.standard_normal()))
    model.predict({**features(rng), "params": 1e6})
    assert model.uses_every_rate
    assert (model._fits[True] >= 0).all()


def test_predicts_from_the_first_timing_with_one_rate_on_the_macs():
    rng = np.random.default_rng(3)
    model = LatencyModel()
    with pytest.raises(GasError, match="predicts after its first measurement"):
        model.predict(features(rng))
    first = features(rng)
    model.add(first, 10.0)
    assert model.can_predict and not model.knows_error and not model.uses_every_rate
    twice = {**first, "linear_macs": 2 * first["linear_macs"], "attention_macs": 2 * first["attention_macs"]}
    assert model.predict(twice) == pytest.approx(20.0, rel=1e-9)  # latency in proportion to the MACs
    assert model.predict({**twice, "blocks": 99.0}) == pytest.approx(20.0, rel=1e-9)  # blocks have no rate yet
    with pytest.raises(GasError, match="needs 3 measurements for its error, has 1"):
        model.error  # noqa: B018 - the property raises


def test_switches_to_every_rate_only_when_it_misses_less_out_of_sample():
    rng = np.random.default_rng(5)
    model = LatencyModel(extra_points=3)
    for count in range(1, 12):
        f = features(rng)
        model.add(f, true_latency(f))
        assert model.knows_error == (count >= 3)
        assert model.ready == (count >= len(RATES) + 1 + 3)
        assert model.uses_every_rate == (count >= len(RATES) + 1 + 1)  # exact data: held out, it never misses
    assert model.error == pytest.approx(0.0, abs=1e-9)


def test_keeps_the_one_rate_when_latency_is_proportional_to_macs():
    rng = np.random.default_rng(6)
    model = LatencyModel()
    for _ in range(20):
        f = features(rng)
        model.add(f, 1e-8 * (f["linear_macs"] + f["attention_macs"]) * (1 + 0.1 * rng.standard_normal()))
    assert not model.uses_every_rate  # the extra rates only fit the noise, and miss more held out
    f = features(rng)
    assert model.predict(f) == pytest.approx(1e-8 * (f["linear_macs"] + f["attention_macs"]), rel=0.1)


def test_a_forced_fit_is_kept_whatever_misses_less():
    rng = np.random.default_rng(7)
    models = {fit: LatencyModel(fit=fit) for fit in ("one_rate", "every_rate")}
    for _ in range(12):
        f = features(rng)
        for model in models.values():
            model.add(f, true_latency(f))
    assert not models["one_rate"].uses_every_rate and models["every_rate"].uses_every_rate
    assert models["every_rate"].error == pytest.approx(0.0, abs=1e-9)
    assert models["one_rate"].error > 0.01  # blocks and overhead are not MACs: one rate misses them
    with pytest.raises(GasError, match="fit must be one of auto, one_rate, every_rate"):
        LatencyModel(fit="forest")


def test_features_must_include_a_macs_term():
    with pytest.raises(GasError, match="no MACs term"):
        LatencyModel().add({"blocks": 3.0, "params": 1e6}, 2.0)


def test_failed_timings_are_ignored_and_feature_sets_must_match():
    model = LatencyModel()
    model.add({"macs": 1.0}, math.nan)
    model.add({"macs": 1.0}, 0.0)
    assert len(model) == 0
    model.add({"macs": 1.0}, 2.0)
    with pytest.raises(GasError, match="differ"):
        model.add({"flops": 1.0}, 2.0)


def test_excess_is_positive_only_beyond_the_models_own_error():
    rng = np.random.default_rng(4)
    model = LatencyModel()
    for _ in range(30):
        f = features(rng)
        model.add(f, true_latency(f) * (1 + rng.choice([-0.05, 0.05])))
    f = features(rng)
    predicted, error = model.predict(f), model.error
    assert model.excess(predicted, predicted / 2) > 0  # twice the budget: skip it
    assert model.excess(predicted, predicted * (1 - error / 2)) <= 0  # over, but within the error: measure it
    assert model.excess(predicted, predicted / (1 + error)) == pytest.approx(0.0, abs=1e-12)


def test_quantile_is_checked():
    with pytest.raises(GasError, match="quantile"):
        LatencyModel(quantile=0)
