"""Multi-fidelity: ASHA stops weak training trials (told, not failed), the prescreen skips training,
and the options are validated; plus the JournalStorage a shared file system needs."""

from __future__ import annotations

import json

import optuna
import pytest
import search_helpers

from gas.fidelity import (
    PRESCREEN_KEY,
    PRESCREEN_WARMUP,
    Prescreen,
    PrescreenGate,
    TrainedExamples,
)
from gas.orchestrate import search
from gas.runs import open_storage
from gas_kernel.errors import GasError


def records(run_dir):
    return [json.loads(line) for line in (run_dir / "trials.jsonl").read_text().splitlines()]


def test_prescreen_threshold_is_the_running_quantile_after_warm_up():
    screen = Prescreen(keep=0.5)
    for score in [4.0, 1.0, 3.0]:
        screen.observe({PRESCREEN_KEY: score})
    assert screen.threshold() is None  # fewer than PRESCREEN_WARMUP scores: train everything
    screen.observe({PRESCREEN_KEY: 2.0})
    screen.observe({"no": "score"})
    assert len(screen.scores) == PRESCREEN_WARMUP and screen.threshold() == 3.0
    lower = Prescreen(keep=0.5, higher_is_better=False)
    for score in [4.0, 1.0, 3.0, 2.0]:
        lower.observe({PRESCREEN_KEY: score})
    assert PrescreenGate("p", False, lower.threshold())({"p": 1.5}) is None
    assert "prescreened" in PrescreenGate("p", False, lower.threshold())({"p": 3.5})


def test_prescreen_gate_waits_for_its_metric_and_passes_without_a_threshold():
    gate = PrescreenGate("grad_norm", True, 2.0)
    assert gate({"latency_ms": 1.0}) is None
    assert gate({"grad_norm": 2.5}) is None
    assert gate({"grad_norm": 1.0}).startswith("prescreened: grad_norm 1 below")
    assert PrescreenGate("grad_norm", True, None)({"grad_norm": -5.0}) is None


def test_asha_stops_weak_trials_which_are_told_with_their_last_epoch(ray_cluster, tmp_path):
    search_helpers.register()
    result = search(space="hiera", space_options=search_helpers.TINY, budgets={"flops": "20M"}, trials=8,
                    proxy="epoch_score_test", epochs=4, scheduler="asha", run="asha", runs_dir=tmp_path,
                    progress=False, concurrency=2, sampler="random")
    done = [r for r in records(result.run_dir) if r["status"] in ("evaluated", "screened", "failed")]
    assert result.evaluations == 8 == len(done)
    assert all(r["status"] == "evaluated" for r in done), "a stopped trial must not be a failure"
    stopped = [r for r in done if r["metrics"].get("stopped_early")]
    assert stopped and all(r["metrics"]["epochs"] < 4 for r in stopped)
    assert all(r["metrics"]["epochs"] == 4 for r in done if r not in stopped)


def test_prescreen_skips_training_of_candidates_under_the_bar(ray_cluster, tmp_path):
    search_helpers.register()
    result = search(space="hiera", space_options=search_helpers.TINY, budgets={"flops": "20M"}, trials=10,
                    proxy="epoch_score_test", epochs=1, prescreen="size_now_test", prescreen_keep=0.25,
                    run="screen", runs_dir=tmp_path, progress=False, concurrency=2, sampler="random")
    done = [r for r in records(result.run_dir) if r["status"] in ("evaluated", "screened", "failed")]
    screened = [r for r in done if r["status"] == "screened"]
    assert result.evaluations == 10 == len(done) and not [r for r in done if r["status"] == "failed"]
    assert screened and all(r["screened"].startswith("prescreened: size_score") and r["state"] == "FAIL"
                            and "size_score" in r["metrics"] and "val_top1" not in r["metrics"] for r in screened)
    assert all("size_score" in r["metrics"] and "val_top1" in r["metrics"] for r in done if r["status"] == "evaluated")


def test_trained_examples_keep_only_candidates_trained_to_the_end():
    examples = TrainedExamples("val_top1")
    examples.observe({"arch": 1}, {"signal.params": 5.0, "val_top1": 0.5})
    examples.observe({"arch": 2}, {"signal.params": 6.0})  # screened out: never trained
    examples.observe({"arch": 3}, {"val_top1": 0.4, "stopped_early": 1.0})  # ASHA: fewer epochs
    examples.observe(None, {"val_top1": 0.4})
    assert examples.examples == [{"blueprint": {"arch": 1}, "metrics": {"signal.params": 5.0, "val_top1": 0.5}}]


def test_predictor_screen_learns_a_new_kind_of_network_from_the_candidates_the_search_trains(
        ray_cluster, tmp_path, image_folder):
    result = search(space="hiera", space_options={"img_size": 32, "num_classes": 3}, budgets={"flops": "5M"},
                    trials=8, proxy="train", data=str(image_folder), epochs=1, batch_size=8,
                    prescreen="predictor", prescreen_keep=0.5, run="learn", runs_dir=tmp_path, progress=False,
                    concurrency=2, sampler="random")
    done = [r for r in records(result.run_dir) if r["status"] in ("evaluated", "screened", "failed")]
    assert result.evaluations == 8 == len(done) and not [r for r in done if "could not learn" in str(r.get("error"))]
    trained = [r for r in done if "val_top1" in r["metrics"]]
    assert all(any(k.startswith("signal.") for k in r["metrics"]) for r in trained)
    # The reference set holds 1-channel, 10-class networks only: the first candidates are trained
    # unpredicted, and a prediction appears once the search has trained some of its own kind.
    assert "predictor" not in trained[0]["metrics"]
    predicted = [r for r in done if "predictor" in r.get("metrics", {})]
    assert predicted and all(0.0 <= r["metrics"]["predictor"] <= 1.0 for r in predicted)


@pytest.mark.parametrize("options, message", [
    ({"scheduler": "asha"}, "--scheduler asha stops training early"),
    ({"prescreen": "grad_norm"}, "use it with --proxy train"),
    ({"proxy": "train"}, "--proxy train needs data"),
    ({"proxy": "train", "data": "/nonexistent", "prescreen": "latency"}, "pick a zero-cost proxy or a learned predictor"),
])
def test_fidelity_options_are_checked_before_any_work(tmp_path, options, message):
    with pytest.raises(GasError, match=message):
        search(space="hiera", space_options=search_helpers.TINY, budgets={"flops": "20M"}, trials=2,
               runs_dir=tmp_path, progress=False, **options)


def test_a_training_subset_the_data_cannot_give_is_refused_before_any_work(tmp_path, image_folder):
    runs = tmp_path / "runs"
    with pytest.raises(GasError, match="a training subset of 100 images needs 1..18 images"):
        search(space="hiera", space_options={"img_size": 32, "num_classes": 3}, budgets={"flops": "5M"}, trials=2,
               proxy="train", data=str(image_folder), train_images=100, runs_dir=runs, progress=False)
    assert not runs.exists() or not any(runs.iterdir())


def test_journal_storage_url_and_log_path_open_optuna_journal_storage(tmp_path):
    for url in (f"journal://{tmp_path / 'a.log'}", str(tmp_path / "b.log")):
        storage = open_storage(url)
        assert isinstance(storage, optuna.storages.JournalStorage)
        study = optuna.create_study(storage=storage, study_name="s")
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
        assert len(optuna.load_study(storage=open_storage(url), study_name="s").trials) == 2


def test_a_ray_job_needs_an_absolute_runs_dir(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", "{}")
    with pytest.raises(GasError, match="absolute --runs-dir"):
        search(space="hiera", space_options=search_helpers.TINY, budgets={"flops": "20M"}, runs_dir="runs",
               progress=False)
