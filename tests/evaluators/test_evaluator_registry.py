"""The evaluator registry: tiers, names, metric keys, lookups."""

from __future__ import annotations

import pytest

import evaluators
import gas
from evaluators import (
    EvalContext,
    Evaluator,
    Tier,
    get_evaluator,
    list_evaluators,
    register_evaluator,
)
from gas_kernel.errors import GasError


def test_tiers_are_ordered_cheapest_first():
    assert Tier.ANALYTIC < Tier.MEASURED < Tier.PROXY < Tier.LEARNED < Tier.TRAINING


def test_list_evaluators_is_sorted_by_tier_and_filters():
    names = list_evaluators()
    tiers = [get_evaluator(n).tier for n in names]
    assert tiers == sorted(tiers)
    assert list_evaluators(Tier.ANALYTIC) == ["macs", "params"]
    assert list_evaluators(Tier.MEASURED) == ["latency", "throughput"]
    assert list_evaluators(Tier.LEARNED) == ["ensemble", "predictor"]
    assert list_evaluators(Tier.TRAINING) == ["train"]
    assert set(list_evaluators(Tier.PROXY)) == {"synflow", "naswot", "grad_norm", "snip", "jacob_cov", "zico", "dss"}


def test_unknown_evaluator_lists_known_names():
    with pytest.raises(GasError, match="known evaluators: macs, params, latency"):
        get_evaluator("oracle")


def test_default_proxy_is_a_registered_proxy():
    assert evaluators.DEFAULT_PROXY in gas.list_proxies()
    assert get_evaluator(evaluators.DEFAULT_PROXY).tier == Tier.PROXY


@pytest.fixture(scope="module")
def hiera_candidate():
    space = gas.get_space("hiera", img_size=32, num_classes=10)
    blueprint = space.random(5)
    return space, blueprint, space.build(blueprint)


def test_analytic_evaluators_need_no_model_and_match_the_space_cost(hiera_candidate):
    space, blueprint, _ = hiera_candidate
    cost = space.cost(blueprint)
    ctx = EvalContext(space=space)
    assert get_evaluator("params").evaluate(None, blueprint, ctx) == {"params": cost.params}
    assert get_evaluator("macs").evaluate(None, blueprint, ctx) == {"macs": cost.macs}
    with pytest.raises(GasError, match="needs a built model"):
        get_evaluator("params").evaluate(None, blueprint, EvalContext())


# train needs data; the learned predictors need the reference set (tests/evaluators/test_predictor.py gives it one)
@pytest.mark.parametrize("name", [n for n in list_evaluators() if n not in ("train", "predictor", "ensemble")])
def test_evaluators_return_their_declared_metrics(name, hiera_candidate):
    _, blueprint, model = hiera_candidate
    evaluator = get_evaluator(name)
    result = evaluator.evaluate(model, blueprint, EvalContext(batch_size=4, throughput_batch=2))
    assert tuple(result) == evaluator.metrics
    assert all(isinstance(v, float) for v in result.values())


def test_proxy_evaluator_is_seeded_noise_without_data(hiera_candidate):
    _, blueprint, model = hiera_candidate
    synflow_free = get_evaluator("grad_norm")
    first = synflow_free.evaluate(model, blueprint, EvalContext(seed=1, batch_size=4))
    assert synflow_free.evaluate(model, blueprint, EvalContext(seed=1, batch_size=4)) == first
    assert synflow_free.evaluate(model, blueprint, EvalContext(seed=2, batch_size=4)) != first


def test_train_evaluator_without_data_is_a_user_error(hiera_candidate):
    _, blueprint, model = hiera_candidate
    with pytest.raises(GasError, match="needs data"):
        get_evaluator("train").evaluate(model, blueprint, EvalContext())


def test_register_a_custom_evaluator():
    class Depth(Evaluator):
        name = "test_depth"
        tier = Tier.ANALYTIC
        metrics = ("depth",)

        def evaluate(self, model, blueprint, ctx):
            return {"depth": float(blueprint.depth)}

    register_evaluator(Depth)
    blueprint = gas.get_space("hiera").preset("hiera_tiny")
    assert get_evaluator("test_depth").evaluate(None, blueprint, EvalContext()) == {"depth": 12.0}
    assert "test_depth" in list_evaluators(Tier.ANALYTIC)
