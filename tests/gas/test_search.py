"""End-to-end searches through Ray Tune on a tiny space: run directory, budgets, Pareto, failures."""

from __future__ import annotations

import json

import pytest
import search_helpers

from evaluators import DEFAULT_PROXY
from gas.cli import main
from gas.orchestrate import resume, search
from gas.runs import load_pareto, resolve_run
from search_spaces import get_space

BUDGET = 20e6


def records(run_dir):
    return [json.loads(line) for line in (run_dir / "trials.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def finished(ray_cluster, tmp_path_factory):
    """One default-proxy search, multi-objective, shared by the read-only checks below."""
    runs_dir = tmp_path_factory.mktemp("runs")
    result = search(space="hiera", space_options=search_helpers.TINY, budgets={"flops": "20M"}, trials=5,
                    objectives="proxy,macs", run="tiny", runs_dir=runs_dir, progress=False, batch_size=4)
    return result, runs_dir


def test_run_directory_is_complete_and_readable(finished):
    result, _ = finished
    names = {p.name for p in result.run_dir.iterdir()}
    assert {"config.json", "study.db", "trials.jsonl", "pareto.json", "summary.md", "pareto.png", "history.png"} <= names
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["budgets"] == {"flops": BUDGET} and config["run"] == "tiny"
    assert config["device"] == "cpu" and config["proxy"] == DEFAULT_PROXY  # auto, resolved without GPUs
    assert "Pareto set" in (result.run_dir / "summary.md").read_text()


def test_the_study_names_its_values_for_optuna_dashboard(finished):
    import optuna

    result, _ = finished
    stored = optuna.load_study(study_name="tiny", storage=f"sqlite:///{result.run_dir / 'study.db'}")
    assert stored.metric_names == ["grad_norm", "macs"]


def test_every_evaluated_blueprint_is_within_budget(finished):
    result, _ = finished
    evaluated = [r for r in records(result.run_dir) if r["status"] == "evaluated"]
    assert len(evaluated) == result.evaluations == 5
    for record in evaluated:
        blueprint = get_space("hiera").parse(record["blueprint"])
        assert blueprint.arch_id == record["arch_id"]
        # MACs is an objective here, so the band is open: any use of the budget, never over it.
        assert 0 < record["metrics"]["macs"] <= BUDGET
    assert len({r["arch_id"] for r in evaluated}) == len(evaluated)


def test_pareto_json_has_the_documented_format_and_is_non_dominated(finished):
    result, _ = finished
    header, entries = load_pareto(result.run_dir)
    assert header["budgets"] == {"flops": BUDGET}
    assert [o["direction"] for o in header["objectives"]] == ["maximize", "minimize"]
    proxy_key = header["objectives"][0]["name"]
    assert entries and {"number", "arch_id", "blueprint", "metrics"} == set(json.loads(
        (result.run_dir / "pareto.json").read_text())["trials"][0])
    points = [(e.metrics[proxy_key], e.metrics["macs"]) for e in entries]
    for a in points:
        assert not any(b[0] >= a[0] and b[1] <= a[1] and b != a for b in points)
    assert result.best["metrics"][proxy_key] == max(p[0] for p in points)


def test_show_and_runs_print_the_run(finished, capsys):
    _, runs_dir = finished
    assert main(["show", "--runs-dir", str(runs_dir)]) == 0
    out = capsys.readouterr().out
    assert "run tiny" in out and "| trial | arch_id |" in " ".join(out.split())  # columns padded to width
    assert main(["runs", "--runs-dir", str(runs_dir)]) == 0
    assert "tiny" in capsys.readouterr().out
    assert resolve_run(None, runs_dir).name == "tiny"


def test_resume_of_a_finished_run_adds_only_new_trials(finished):
    result, runs_dir = finished
    before = {r["arch_id"] for r in records(result.run_dir) if r["status"] == "evaluated"}
    more = resume("tiny", runs_dir=runs_dir, trials=7, progress=False)
    after = [r for r in records(more.run_dir) if r["status"] == "evaluated"]
    assert more.evaluations == 7 and before <= {r["arch_id"] for r in after}
    assert len({r["arch_id"] for r in after}) == len(after) == 7


def test_resume_of_a_run_with_nothing_left_to_evaluate_starts_no_ray(finished, monkeypatch):
    import gas.orchestrate

    result, runs_dir = finished

    def no_ray(self):
        raise AssertionError("a finished run must not start or join Ray")

    monkeypatch.setattr(gas.orchestrate._Setup, "ray", no_ray)
    again = resume("tiny", runs_dir=runs_dir, progress=False)
    assert again.evaluations == json.loads((result.run_dir / "config.json").read_text())["trials"]
    assert again.best is not None


def test_failing_trials_are_marked_failed_and_the_search_goes_on(ray_cluster, tmp_path):
    calls = tmp_path / "calls"
    calls.mkdir()
    search_helpers.register(calls_dir=str(calls), script=("raise", "nan", "hang", "crash"))
    result = search(space="hiera", space_options=search_helpers.TINY, budgets={"flops": "20M"}, trials=6,
                    proxy="scripted_test", run="flaky", runs_dir=tmp_path, progress=False,
                    trial_timeout=3.0, concurrency=2)
    final = [r for r in records(result.run_dir) if r["status"] in ("evaluated", "failed")]
    failed = [r for r in final if r["status"] == "failed"]
    assert result.evaluations == 6
    assert len(failed) == 4 and len(final) == 6
    reasons = " ".join(r["error"] for r in failed)
    for fragment in ("scripted failure", "non-finite", "scripted bug", "exceeded 3s"):
        assert fragment in reasons
    assert result.best is not None and result.best["metrics"]["scripted"] > 0


def test_package_level_search_is_callable_after_the_submodule_import(tmp_path):
    import gas
    from gas_kernel.errors import GasError

    for _ in range(2):  # first access via gas.__getattr__, then the bound submodule
        with pytest.raises(GasError, match="impossible"):
            gas.search(space="hiera", space_options=search_helpers.TINY, budgets={"flops": 1}, runs_dir=tmp_path)


def test_gpus_the_cluster_lacks_are_refused_before_the_run_exists(ray_cluster, tmp_path):
    from gas_kernel.errors import GasError

    assert ray_cluster.cluster_resources().get("GPU", 0) == 0  # the test cluster has none
    with pytest.raises(GasError, match=r"--gpus-per-trial 1 asks for more than this Ray has"):
        search(space="hiera", space_options=search_helpers.TINY, budgets={"flops": "20M"}, trials=2,
               device="auto", gpus_per_trial=1, run="gpu", runs_dir=tmp_path, progress=False)
    assert not (tmp_path / "gpu").exists()


def test_a_search_without_budget_says_once_that_it_is_unconstrained(ray_cluster, tmp_path, capsys):
    result = search(space="hiera", space_options=search_helpers.TINY, trials=1, run="free", runs_dir=tmp_path,
                    progress=False, batch_size=4)
    err = capsys.readouterr().err
    assert result.evaluations == 1
    assert err.count("the search is unconstrained") == 1, err


def test_an_empty_budget_from_python_is_an_error_too(tmp_path):
    from gas_kernel.errors import GasError

    with pytest.raises(GasError, match="empty budget"):
        search(space="hiera", space_options=search_helpers.TINY, budgets="", runs_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
