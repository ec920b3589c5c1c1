"""`--budget top1=...`: a lower bound on the estimated val top-1, checked like a measured budget."""

from __future__ import annotations

import json

import pytest

from gas.cli import main
from gas.orchestrate import search
from gas_kernel.budget import Budgets, parse_budgets
from gas_kernel.errors import GasError

TINY = {"img_size": 32, "num_classes": 3}


@pytest.mark.parametrize(("text", "value"), [("top1=0.85", 0.85), ("top1=85%", 0.85), ("top1=1", 1.0)])
def test_top1_is_a_fraction(text, value):
    assert parse_budgets([text]) == {"top1": pytest.approx(value)}


@pytest.mark.parametrize(("text", "message"), [("top1=85", "a fraction in (0, 1]"), ("top1=0", "positive"),
                                               ("top1=high", "expected a fraction such as 0.85 or 85%")])
def test_malformed_or_out_of_range_top1_is_an_error(text, message):
    with pytest.raises(GasError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_budgets([text])


def test_top1_is_read_from_the_accuracy_evaluators_metric():
    budgets = Budgets({"top1": 0.8}, top1_metric="val_top1")
    assert budgets.measured_violations({"val_top1": 0.6}) == {"top1": pytest.approx(0.25)}  # 1 - 0.6 / 0.8
    assert budgets.measured_violations({"val_top1": 0.9})["top1"] < 0
    assert budgets.measured_violations({"grad_norm": 3.0}) == {}


def test_cli_top1_errors_are_one_line_and_leave_no_run(tmp_path, capsys):
    for budget, message in (("top1=1.5", "a fraction in (0, 1]"), ("top1=0.8", "needs an accuracy estimate")):
        code = main(["search", "--budget", f"flops=20M,{budget}", "--img-size", "32", "--num-classes", "10",
                     "--runs-dir", str(tmp_path), "--trials", "1", "--no-progress"])
        error = capsys.readouterr().err
        assert code == 2 and error.count("\n") == 1 and message in error, error
    assert list(tmp_path.iterdir()) == []


def test_candidates_below_top1_are_over_budget_with_the_reason(ray_cluster, tmp_path, image_folder):
    result = search(space="hiera", space_options=TINY, budgets={"flops": "20M", "top1": "0.99"}, trials=2,
                    proxy="train", data=str(image_folder), epochs=1, run="acc", runs_dir=tmp_path, progress=False,
                    batch_size=4)
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["budgets"]["top1"] == pytest.approx(0.99)
    records = [json.loads(line) for line in (result.run_dir / "trials.jsonl").read_text().splitlines()]
    trained = [r for r in records if "val_top1" in r.get("metrics", {})]
    assert trained, records
    for record in trained:  # random images: far below 99%
        assert record["status"] == "over_budget" and record["constraints"]["top1"] > 0
    assert "top1=0.99" in (result.run_dir / "summary.md").read_text()
