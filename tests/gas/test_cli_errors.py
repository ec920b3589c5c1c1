"""Bad input to `gas search`, `gas show` and `gas runs` ends as one `gas: error:` line, exit code 2.

Every case fails before any work: no Ray is started, and no run directory is left behind.
"""

from __future__ import annotations

import pytest

from gas.cli import main

TINY = ["--img-size", "32", "--num-classes", "10", "--no-progress"]


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GAS_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    (tmp_path / "runs").mkdir()
    return tmp_path / "runs"


def make_run(runs_dir, name, config='{"space": "hiera"}', pareto=None):
    run = runs_dir / name
    run.mkdir()
    (run / "config.json").write_text(config)
    if pareto is not None:
        (run / "pareto.json").write_text(pareto)
    return run


CASES = {
    "budget without value": (["search", "--budget", "flops"], "malformed budget 'flops'"),
    "empty budget": (["search", "--budget", ""], "empty budget ''"),
    "budget of commas": (["search", "--budget", "flops=1G", "--budget", " , "], "empty budget ' , '"),
    "budget unknown suffix": (["search", "--budget", "flops=1X"], "malformed budget value"),
    "budget unknown name": (["search", "--budget", "gpus=2"], "unknown budget 'gpus'"),
    "latency without unit": (["search", "--budget", "latency=20"], "a time such as 20ms"),
    "negative budget": (["search", "--budget", "params=-3M"], "malformed budget value"),
    "budget below smallest blueprint": (["search", "--budget", "flops=1K"], "impossible"),
    "unknown space": (["search", "--space", "resnet", "--budget", "flops=1G"], "unknown search space 'resnet'"),
    "unknown objective": (["search", "--objective", "proxy,speed"], "unknown objective speed"),
    "objective without proxy": (["search", "--objective", "macs"], "must include 'proxy'"),
    "unknown sampler": (["search", "--sampler", "cmaes"], "sampler"),
    "unknown proxy": (["search", "--proxy", "magic"], "unknown evaluator 'magic'"),
    "zero trials": (["search", "--trials", "0"], "invalid --trials '0': Input should be greater than or equal to 1"),
    "trials not a number": (["search", "--trials", "many"], "invalid --trials 'many'"),
    "cpus per trial zero": (["search", "--cpus-per-trial", "0"], "invalid --cpus-per-trial '0'"),
    "cuda without a gpu per trial": (["search", "--device", "cuda"], "--device cuda needs --gpus-per-trial > 0"),
    "unknown device": (["search", "--device", "tpu"], "invalid --device 'tpu'"),
    "resume with other settings": (["search", "--resume", "ghost", "--budget", "flops=1G"], "drop --budget"),
    "run name with slash": (["search", "--run", "../escape"], "invalid run name"),
    "run name empty": (["search", "--run", ""], "invalid run name"),
    "bad storage url": (["search", "--storage", "nosuchdb://x/y", "--run", "s1"], "cannot open Optuna storage"),
    "missing data folder": (["search", "--data", "/nonexistent/imagenet"], "data folder /nonexistent/imagenet does not exist"),
    "bad band": (["search", "--band", "1.5"], "band"),
    "train images without training": (["search", "--train-images", "100"], "--train-images sets the training subset"),
    "negative train images": (["search", "--train-images", "-1"], "invalid --train-images '-1'"),
    "resume missing run": (["search", "--resume", "ghost"], "no run named 'ghost'"),
    "show missing run": (["show", "ghost"], "no run named 'ghost'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_and_exit_2(case, runs_dir, capsys):
    argv, fragment = CASES[case]
    code = main([*argv, *(TINY if argv[0] == "search" and "--resume" not in argv else [])])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("gas: error: "), err
    assert fragment in err
    assert [p.name for p in runs_dir.iterdir()] == [], "a failed start must not leave a run behind"


def test_existing_run_name_is_refused(runs_dir, capsys):
    make_run(runs_dir, "taken")
    assert main(["search", "--run", "taken", *TINY]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gas: error: run 'taken' already exists") and err.count("\n") == 1


def test_resume_of_corrupt_config_is_refused(runs_dir, capsys):
    make_run(runs_dir, "broken", config="{not json")
    assert main(["search", "--resume", "broken"]) == 2
    err = capsys.readouterr().err
    assert "corrupt" in err and err.count("\n") == 1 and err.startswith("gas: error: ")


def test_resume_of_config_with_invalid_fields_is_refused(runs_dir, capsys):
    make_run(runs_dir, "odd", config='{"space": "hiera", "budgets": {"flops": "lots"}}')
    assert main(["search", "--resume", "odd"]) == 2
    err = capsys.readouterr().err
    assert "cannot be resumed" in err and err.count("\n") == 1


def test_resume_validates_the_new_trial_count_before_any_work(runs_dir, capsys):
    make_run(runs_dir, "kept", config='{"space": "hiera", "run": "kept", "space_options": {"img_size": 32, "num_classes": 10}}')
    assert main(["search", "--resume", "kept", "--trials", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gas: error: invalid --trials '0'") and err.count("\n") == 1
    assert sorted(p.name for p in (runs_dir / "kept").iterdir()) == ["config.json"]


def test_resume_of_run_without_study_is_refused(runs_dir, capsys):
    make_run(runs_dir, "nostudy", config='{"space": "hiera", "run": "nostudy", "space_options": {"img_size": 32, "num_classes": 10}}')
    assert main(["search", "--resume", "nostudy"]) == 2
    err = capsys.readouterr().err
    assert "cannot be resumed" in err and err.count("\n") == 1


def test_show_of_corrupt_pareto_is_refused(runs_dir, capsys):
    make_run(runs_dir, "torn", pareto='{"objectives": [], "trials": [{"number": 1}]}')
    assert main(["show", "torn"]) == 2
    err = capsys.readouterr().err
    assert "corrupt" in err and err.count("\n") == 1


def test_show_without_runs_is_refused(runs_dir, capsys):
    assert main(["show"]) == 2
    assert capsys.readouterr().err.startswith("gas: error: no runs in")
