"""The learned accuracy predictor: encoding, forest, grouped CV, out-of-sample tau, the evaluator."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import gas
from evaluators import EvalContext, Tier, get_evaluator
from evaluators.jsonl import read_jsonl
from evaluators.predictor import (
    AccuracyPredictor,
    EnsembleEvaluator,
    PredictorEvaluator,
    SignalProtocol,
    candidate_features,
    cross_validate,
    encode_blueprint,
    grouped_folds,
    measure_signals,
)
from evaluators.predictor.reference import INSTALL_HINT, REFERENCE_FILE, shipped_results
from evaluators.predictor.signals import NOISE
from gas_kernel.errors import GasError
from search_spaces.hiera import HieraBlueprint, StageSpec

SPACE_OPTIONS = {"img_size": 32, "in_chans": 1, "num_classes": 10}
TINY_PROTOCOL = SignalProtocol(batch_size=4, seed=0, proxies=("grad_norm", "params"))


def test_encoding_flattens_fields_pads_by_absence_and_equals_the_stored_dicts():
    space = gas.get_space("hiera", **SPACE_OPTIONS)
    blueprint = space.random(3)
    features = encode_blueprint(blueprint)
    depths = [s.depth for s in blueprint.stages]
    assert features["stages.count"] == len(depths)
    assert features["stages.depth.sum"] == sum(depths)
    assert features["stages.1.dim"] == blueprint.stages[1].dim
    assert features["stages.0.mask_unit_attn"] == float(blueprint.stages[0].mask_unit_attn)
    assert features == encode_blueprint(blueprint.model_dump(mode="json"))  # a reference row has the same columns
    assert f"stages.{len(depths)}.dim" not in features  # an absent stage is absent, read as 0


def test_encoding_of_a_plain_dict_aggregates_number_lists():
    features = encode_blueprint({"hidden_dim": 192, "num_heads": [3, 4, 4], "name": "vit"})
    assert features == {"hidden_dim": 192.0, "num_heads.count": 3.0, "num_heads.0": 3.0, "num_heads.1": 4.0,
                        "num_heads.2": 4.0, "num_heads.sum": 11.0, "num_heads.mean": 11 / 3,
                        "num_heads.min": 3.0, "num_heads.max": 4.0}
    row = candidate_features({"depth": 12}, {"synflow": 2.5, "zico": None})
    assert row["signal.synflow"] == 2.5 and math.isnan(row["signal.zico"])


def test_grouped_folds_keep_every_group_in_one_fold_and_every_row_once():
    groups = [f"arch{i // 2}" for i in range(23)] + ["arch0"]  # pairs of repeats, one triple
    folds = grouped_folds(groups, 5, seed=3)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(groups)))
    fold_of_group: dict[str, set[int]] = {}
    for number, rows in enumerate(folds):
        for row in rows:
            fold_of_group.setdefault(groups[row], set()).add(number)
    assert all(len(numbers) == 1 for numbers in fold_of_group.values())
    with pytest.raises(GasError, match="2..12 folds"):
        grouped_folds(groups, 13)


def _synthetic_table(count: int, seed: int = 0):
    """Rows whose target is a known monotone function of two of four features, each blueprint twice."""
    rng = np.random.default_rng(seed)
    rows, targets, groups = [], [], []
    for index in range(count):
        x = rng.uniform(0.1, 1.0, size=4)
        target = 0.6 * x[0] + 0.4 * math.log(x[1])
        for _ in range(2):
            rows.append({f"x{k}": float(v) for k, v in enumerate(x)})
            targets.append(target + rng.normal(0, 0.005))
            groups.append(f"g{index}")
    return rows, targets, groups


def test_out_of_sample_tau_recovers_a_monotone_target():
    rows, targets, groups = _synthetic_table(100)
    result = cross_validate(rows, targets, groups, folds=5, resamples=300,
                            make=lambda: AccuracyPredictor(trees=100))
    assert result.tau["n"] == 100 and result.tau["tau"] > 0.8
    assert result.tau["low"] < result.tau["tau"] < result.tau["high"]
    assert np.isfinite(result.mean).all() and (result.std >= 0).all()


def test_out_of_sample_tau_of_an_unrelated_target_is_near_zero():
    rows, _, groups = _synthetic_table(60)
    noise = np.random.default_rng(9).normal(size=len(rows)).tolist()
    result = cross_validate(rows, noise, groups, folds=5, resamples=300,
                            make=lambda: AccuracyPredictor(trees=100))
    assert abs(result.tau["tau"]) < 0.3 and result.tau["low"] < 0 < result.tau["high"]


def test_predictor_fills_failed_signals_ignores_unseen_columns_and_refits():
    rows, targets, _ = _synthetic_table(20)
    predictor = AccuracyPredictor(trees=50).fit(rows, targets)
    mean, std = predictor.predict([{**rows[0], "x3": math.nan, "unseen": 5.0}])
    assert math.isfinite(mean[0]) and std[0] >= 0
    assert predictor.size == 40 and max(predictor.importances(), key=predictor.importances().get) in ("x0", "x1")
    assert predictor.update(rows[:2], targets[:2]).size == 42
    with pytest.raises(GasError, match="at least 4 trained networks"):
        AccuracyPredictor().fit(rows[:3], targets[:3])
    with pytest.raises(GasError, match="not fitted"):
        AccuracyPredictor().predict(rows[:1])


def _tiny(dim: int, depth: int = 1, in_chans: int = 1) -> gas.Blueprint:
    """A two-stage 32 px blueprint that builds and scores in milliseconds."""
    return HieraBlueprint(img_size=32, in_chans=in_chans, num_classes=10, patch_kernel=3, patch_stride=2,
                         patch_padding=1, mask_unit_size=2, q_pool=1,
                         stages=[StageSpec(depth=depth, dim=dim, heads=1, mask_unit_attn=True),
                                 StageSpec(depth=1, dim=2 * dim, heads=2)])


def _build(blueprint):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY_PROTOCOL.seed)
        return gas.get_space("hiera", img_size=32).build(blueprint)


@pytest.fixture(scope="module")
def reference_files(tmp_path_factory) -> tuple[Path, Path]:
    """A six-blueprint reference set (targets rising with size) and its signals under TINY_PROTOCOL."""
    blueprints = [_tiny(dim, depth) for dim, depth in ((8, 1), (8, 2), (16, 1), (16, 2), (24, 1), (24, 2))]
    folder = tmp_path_factory.mktemp("reference")
    with (folder / "ground_truth.jsonl").open("w") as records, (folder / "features.jsonl").open("w") as cache:
        for rank, blueprint in enumerate(blueprints):
            for seed in (0, 1):
                records.write(json.dumps({"arch_id": blueprint.arch_id, "seed": seed,
                                          "blueprint": blueprint.model_dump(mode="json"),
                                          "final_val_top1": 0.8 + 0.01 * rank + 0.001 * seed,
                                          "val_top1": [0.5 + 0.01 * rank]}) + "\n")
            signals = measure_signals(_build(blueprint), blueprint, None, TINY_PROTOCOL)
            cache.write(json.dumps({"arch_id": blueprint.arch_id, "data": NOISE, "batch_size": 4, "seed": 0,
                                    "signals": signals}) + "\n")
    return folder / "ground_truth.jsonl", folder / "features.jsonl"


def test_evaluator_returns_a_finite_prediction_within_the_reference_range(reference_files):
    evaluator = PredictorEvaluator(*reference_files, protocol=TINY_PROTOCOL)
    blueprint = _tiny(12)
    scores = evaluator.evaluate(_build(blueprint), blueprint, EvalContext(batch_size=2))
    assert set(scores) == {"predictor", "predictor_std", "signal.grad_norm", "signal.params"}
    assert scores["signal.params"] == gas.get_space("hiera", **SPACE_OPTIONS).cost(blueprint).params
    assert 0.8 <= scores["predictor"] <= 0.851 and 0 <= scores["predictor_std"] < 0.05
    assert evaluator.predictor().size == 12


def test_evaluator_refuses_an_unknown_input_kind_until_a_search_teaches_it(reference_files):
    evaluator = PredictorEvaluator(*reference_files, protocol=TINY_PROTOCOL)
    rgb = [_tiny(12 + i, in_chans=3) for i in range(2)]
    with pytest.raises(GasError, match="32px/1ch/10 classes networks, not 32px/3ch.*--prescreen predictor"):
        evaluator.evaluate(_build(rgb[0]), rgb[0], EvalContext())
    assert evaluator.learn_examples([]).size == 12  # learning mode, nothing learned yet
    measured = evaluator.evaluate(_build(rgb[0]), rgb[0], EvalContext())
    assert set(measured) == {"signal.grad_norm", "signal.params"}  # signals to learn from, no prediction yet
    examples = [{"blueprint": rgb[0].model_dump(mode="json"), "metrics": {**measured, "val_top1": 0.3}},
                {"blueprint": rgb[1].model_dump(mode="json"), "metrics": {"val_top1": 0.4}}]  # no signals: skipped
    assert evaluator.learn_examples(examples).size == 13
    assert evaluator.learn_examples(examples) is evaluator.predictor()  # nothing new: no refit
    assert math.isfinite(evaluator.evaluate(_build(rgb[0]), rgb[0], EvalContext())["predictor"])


def test_missing_reference_or_uncached_blueprints_are_gas_errors(reference_files, tmp_path):
    blueprint = _tiny(12)
    missing = PredictorEvaluator(tmp_path / "none.jsonl", reference_files[1], protocol=TINY_PROTOCOL)
    with pytest.raises(GasError, match="reference set .*none.jsonl does not exist; a gas installed without"):
        missing.evaluate(_build(blueprint), blueprint, EvalContext())
    empty_cache = tmp_path / "features.jsonl"
    empty_cache.write_text("")
    uncached = PredictorEvaluator(reference_files[0], empty_cache, protocol=TINY_PROTOCOL)
    with pytest.raises(GasError, match="lacks 6 reference blueprints on noise.*--features"):
        uncached.evaluate(_build(blueprint), blueprint, EvalContext())
    stale = PredictorEvaluator(*reference_files, protocol=SignalProtocol(batch_size=8, proxies=("grad_norm", "params")))
    with pytest.raises(GasError, match="another protocol"):
        stale.evaluate(_build(blueprint), blueprint, EvalContext())


def test_predictor_and_ensemble_are_registered_as_the_learned_tier():
    for name in ("predictor", "ensemble"):
        evaluator = get_evaluator(name)
        assert evaluator.tier == Tier.LEARNED and evaluator.metrics[0] == evaluator.top1_metric == name
        assert evaluator.higher_is_better


def test_ensemble_evaluator_ranks_by_the_reference_sets_best_signals(reference_files):
    evaluator = EnsembleEvaluator(*reference_files, protocol=TINY_PROTOCOL)
    small, large = _tiny(8), _tiny(24, 2)
    scores = [evaluator.evaluate(_build(b), b, EvalContext(batch_size=2)) for b in (small, large)]
    assert set(scores[0]) == {"ensemble", "ensemble_std", "signal.grad_norm", "signal.params"}
    assert "signal.params" in evaluator.predictor().chosen  # the reference accuracies rise with size
    assert 0.8 <= scores[0]["ensemble"] < scores[1]["ensemble"] <= 0.851


def test_shipped_predictor_scores_a_reference_blueprint_near_its_trained_accuracy():
    """Runs once the reference set is checked in (benchmarks/results); skipped before that.

    In sample, and measured as in the cache, the forest must land nearer the blueprint's own accuracy
    than half the set's range: a signal measured differently here than for the cache would not.
    """
    path = shipped_results() / REFERENCE_FILE
    records = read_jsonl(path, "reference set", INSTALL_HINT) if path.is_file() else []
    if len({r["arch_id"] for r in records}) < 4:
        pytest.skip("the trained reference set is not checked in yet (fewer than 4 blueprints)")
    record = records[0]
    blueprint = gas.get_space("hiera").parse(record["blueprint"])
    finals = [r["final_val_top1"] for r in records]
    own = np.mean([r["final_val_top1"] for r in records if r["arch_id"] == record["arch_id"]])
    scores = get_evaluator("predictor").evaluate(_build(blueprint), blueprint, EvalContext())
    assert abs(scores["predictor"] - own) < (max(finals) - min(finals)) / 2 and scores["predictor_std"] >= 0
