"""`gas calibrate --reference`: every signal's tau [CI] against a (synthetic) trained reference set."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

import gas
from evaluators.data import noise_batch
from evaluators.proxies import proxy_score
from evaluators.ranking import kendall_tau_b, kendall_with_interval
from evaluators.recipes import get_recipe
from evaluators.training import build_model
from gas.cli import main


def _write_reference(path, data, count: int = 8) -> list[dict]:
    """A reference JSONL of tiny blueprints with made-up accuracies (params-correlated, not perfectly)."""
    space = gas.get_space("hiera", img_size=32, num_classes=3)
    pool = sorted(map(space.random, range(300)), key=lambda bp: space.cost(bp).macs)[:count]
    records = []
    for index, blueprint in enumerate(pool):
        cost = space.cost(blueprint)
        accuracy = 0.5 + 0.01 * index + (0.03 if index % 3 == 0 else 0.0)
        for seed in (0, 1) if index < 5 else (0,):
            records.append({"arch_id": blueprint.arch_id, "seed": seed, "slice": "band" if index % 2 else "wide",
                            "blueprint": blueprint.model_dump(mode="json"), "params": cost.params, "macs": cost.macs,
                            "final_val_top1": accuracy + 0.002 * seed * (-1) ** index,
                            "val_top1": [accuracy * f for f in (0.5, 0.7, 0.8, 0.9, 0.95, 1.0)],
                            "epoch_s": [0.5] * 6, "dataset": str(data), "recipe": get_recipe("short", batch_size=8).to_dict()})
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return records


def test_vectorised_tau_b_equals_scipy_with_ties():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 4, (5, 12)), rng.integers(0, 5, (5, 12))  # many ties
    assert kendall_tau_b(x, y) == pytest.approx([stats.kendalltau(a, b).statistic for a, b in zip(x, y)])


def test_kendall_interval_contains_tau_and_matches_scipy():
    x, y = [1, 2, 3, 4, 5, 6, 7], [2, 1, 3, 5, 4, 7, 6]
    result = kendall_with_interval(x, y)
    assert result["tau"] == pytest.approx(stats.kendalltau(x, y).statistic)
    assert result["low"] <= result["tau"] <= result["high"] and result["n"] == 7


def test_reference_calibration_table(tmp_path, image_folder, capsys):
    records = _write_reference(tmp_path / "ref.jsonl", image_folder)
    out = tmp_path / "out"
    assert main(["calibrate", "--reference", str(tmp_path / "ref.jsonl"), "--proxy-batch", "8", "--threads", "1",
                 "--short-schedules", "1", "--out", str(out)]) == 0
    summary = json.loads((out / "calibration_reference.json").read_text())
    first = {r["arch_id"]: r for r in records if r["seed"] == 0}
    targets = {a: sum(r["final_val_top1"] for r in records if r["arch_id"] == a) / sum(r["arch_id"] == a for r in records)
               for a in first}
    expected = stats.kendalltau([first[a]["params"] for a in first], [targets[a] for a in first]).statistic
    signals = summary["signals"]
    assert signals["params"]["all"]["tau"] == pytest.approx(expected)
    assert signals["curve@1"]["all"]["tau"] == pytest.approx(
        stats.kendalltau([first[a]["val_top1"][0] for a in first], [targets[a] for a in first]).statistic)
    assert {"synflow", "grad_norm", "macs", "curve@5", "short@1"} <= set(signals) and "curve@10" not in signals
    space = gas.get_space("hiera", img_size=32, num_classes=3)
    inputs, labels = noise_batch(3, 32, 3, 8, seed=0)  # what a search without --data scores
    on_noise = [proxy_score("grad_norm", build_model(space, space.parse(first[a]["blueprint"]), 0), inputs, labels, seed=0)
                for a in first]
    assert signals["grad_norm (noise)"]["all"]["tau"] == pytest.approx(
        stats.kendalltau(on_noise, [targets[a] for a in first]).statistic)
    assert signals["params"]["band"]["n"] == 4 and summary["ceiling"]["n"] == 5
    assert summary["blueprints"] == 8 and not math.isnan(signals["synflow"]["all"]["tau"])
    assert "seed-to-seed (the ceiling)" in (out / "calibration_reference.md").read_text()
    assert (out / "calibration_reference.png").stat().st_size > 0
    assert "tau, band slice" in capsys.readouterr().out


@pytest.mark.parametrize("content, message", [(None, "does not exist"), ("not json\n", "is not JSON lines"),
                                              ("", "need at least 4")])
def test_bad_reference_is_one_error_line(tmp_path, capsys, content, message):
    path = tmp_path / "ref.jsonl"
    if content is not None:
        path.write_text(content)
    assert main(["calibrate", "--reference", str(path), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error and not (tmp_path / "out").exists()


def test_calibrate_without_data_or_reference_is_one_error_line(capsys):
    assert main(["calibrate"]) == 2
    assert "needs --data" in capsys.readouterr().err
