"""`gas calibrate` end to end on a tiny folder, its correlations, and its one-line user errors."""

from __future__ import annotations

import json

import pytest
from scipy import stats

from evaluators.calibration import correlations
from gas.cli import main


def test_correlations_use_scipy_rank_statistics():
    accuracy = [0.1, 0.4, 0.3, 0.9, 0.5]
    records = [{"proxies": {"up": a * 10, "down": -a, "noisy": s}, "val_top1": a}
               for a, s in zip(accuracy, [3, 1, 2, 5, 4])]
    records.append({"proxies": {"up": 1.0}, "val_top1": None})  # failed training is left out
    table = correlations(records, ("up", "down", "noisy"))
    assert table["up"] == {"kendall_tau": pytest.approx(1.0), "spearman_rho": pytest.approx(1.0), "n": 5}
    assert table["down"]["kendall_tau"] == pytest.approx(-1.0)
    assert table["noisy"]["kendall_tau"] == pytest.approx(stats.kendalltau([3, 1, 2, 5, 4], accuracy).statistic)


def test_calibrate_writes_json_markdown_and_plots(tmp_path, capsys, make_image_folder):
    data = make_image_folder(tmp_path / "data", classes=3, per_class=8)
    out = tmp_path / "out"
    code = main(["calibrate", "--data", str(data), "--archs", "3", "--epochs", "1", "--max-mmacs", "1",
                 "--proxy-batch", "8", "--threads", "1", "--out", str(out)])
    assert code == 0
    summary = json.loads((out / "calibration.json").read_text())
    assert len(summary["candidates"]) == 3
    assert set(summary["correlations"]) >= {"synflow", "naswot", "dss", "params", "macs"}
    assert summary["best_proxy"] not in ("params", "macs")
    assert "| proxy | Kendall tau |" in " ".join((out / "calibration.md").read_text().split())
    assert (out / "calibration_scatter.png").stat().st_size > 0 and (out / "calibration_tau.png").stat().st_size > 0
    assert "best proxy:" in capsys.readouterr().out


def _error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def test_missing_data_folder_message(tmp_path, capsys):
    assert main(["calibrate", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    line = _error_line(capsys)
    assert line.startswith("gas: error: data folder") and "does not exist" in line


def test_empty_class_folders_are_one_error_line(tmp_path, capsys):
    for split in ("train", "val"):
        (tmp_path / "data" / split / "cat").mkdir(parents=True)
    assert main(["calibrate", "--data", str(tmp_path / "data"), "--out", str(tmp_path)]) == 2
    assert "Found no valid file for the classes cat" in _error_line(capsys)


def test_image_size_the_space_cannot_take_is_one_error_line(tmp_path, capsys, make_image_folder):
    data = make_image_folder(tmp_path / "data", classes=2, per_class=2, size=30)
    assert main(["calibrate", "--data", str(data), "--out", str(tmp_path / "out")]) == 2
    line = _error_line(capsys)
    assert line.startswith("gas: error: the hiera space has no valid network for img_size=30")


def test_too_few_archs_is_one_error_line(tmp_path, capsys):
    assert main(["calibrate", "--data", str(tmp_path), "--archs", "2"]) == 2
    assert "--archs must be at least 3" in _error_line(capsys)
