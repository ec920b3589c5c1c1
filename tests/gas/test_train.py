"""`gas train`: the run folder, exact resume after SIGKILL, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import gas
from gas.cli import main
from gas.train_run import train

REPO = Path(__file__).resolve().parents[2]


def _blueprint_file(tmp_path: Path, img_size: int = 32, num_classes: int = 3) -> Path:
    space = gas.get_space("hiera", img_size=img_size, num_classes=num_classes)
    blueprint = min(map(space.random, range(60)), key=lambda bp: space.cost(bp).macs)
    path = tmp_path / "bp.json"
    path.write_text(blueprint.model_dump_json())
    return path


def _untimed(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if not k.endswith("_s")} for h in history]


def test_train_writes_config_metrics_and_checkpoint(tmp_path, image_folder):
    result = train(str(_blueprint_file(tmp_path)), str(image_folder), recipe="short", epochs=2, out=tmp_path / "run",
                   threads=1, progress=False)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["epochs_done"] == 2 and [h["epoch"] for h in metrics["history"]] == [1.0, 2.0]
    assert set(metrics["history"][0]) >= {"train_loss", "val_top1", "val_top5", "epoch_s"}
    assert metrics["final"]["val_top1"] == result.final["val_top1"]
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["arch_id"] == result.blueprint.arch_id and config["recipe"]["name"] == "short"
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    assert state["step"] == 2 and len(state["history"]) == 2


def test_preset_is_built_for_the_data_shape(tmp_path, image_folder):
    name, blueprint, _ = gas.train_run.resolve_model("turbovit_ref", _data(image_folder))
    assert name == "turbovit_ref"
    assert (blueprint.img_size, blueprint.in_chans, blueprint.num_classes) == (32, 3, 3)


def test_resume_after_sigkill_loses_and_repeats_no_epoch(tmp_path, make_image_folder):
    data = make_image_folder(tmp_path / "data", classes=3, per_class=30)
    bp, epochs = _blueprint_file(tmp_path), 25
    command = [sys.executable, "-m", "gas.cli", "train", str(bp), "--data", str(data), "--recipe", "short",
               "--epochs", str(epochs), "--threads", "1", "--out", str(tmp_path / "killed"), "--no-progress"]
    driver = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    metrics = tmp_path / "killed" / "metrics.json"
    deadline = time.time() + 120
    while time.time() < deadline and driver.poll() is None:
        if metrics.is_file() and json.loads(metrics.read_text())["epochs_done"] >= 2:
            os.kill(driver.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    driver.wait(timeout=30)
    assert driver.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    killed_at = json.loads(metrics.read_text())["epochs_done"]
    assert 2 <= killed_at < epochs
    resumed = train(str(bp), str(data), recipe="short", epochs=epochs, out=tmp_path / "killed", resume=True,
                    threads=1, progress=False)
    straight = train(str(bp), str(data), recipe="short", epochs=epochs, out=tmp_path / "straight", threads=1,
                     progress=False)
    assert [h["epoch"] for h in resumed.history] == [float(e) for e in range(1, epochs + 1)]
    assert _untimed(resumed.history) == _untimed(straight.history)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["{bp}", "--data", "{tmp}/nowhere"], "does not exist"),
        (["{bp}", "--data", "fashion-mnist:{tmp}/nowhere"], "Fashion-MNIST not found"),
        (["no_such_model", "--data", "{data}"], "unknown model 'no_such_model'"),
        (["{bp64}", "--data", "{data}"], "blueprint takes 3x64x64 images"),
        (["{bp10}", "--data", "{data}"], "blueprint has 10 classes"),
        (["{bp}", "--data", "{data}", "--recipe", "fast"], "unknown recipe 'fast'"),
        (["{bp}", "--data", "{data}", "--epochs", "0"], "--epochs 0 must be at least 1"),
        (["{bp}", "--data", "{data}", "--device", "cuda"], "CUDA is not available"),
        (["{bp}", "--data", "{data}", "--resume"], "nothing to resume"),
        (["best", "--data", "{data}", "--runs-dir", "{tmp}/runs"], "no runs in"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(tmp_path, image_folder, capsys, arguments, message):
    if "cuda" in arguments and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    files = {"bp": _blueprint_file(tmp_path), "data": image_folder, "tmp": tmp_path}
    (tmp_path / "64").mkdir()
    files["bp64"] = _blueprint_file(tmp_path / "64", img_size=64)
    (tmp_path / "10").mkdir()
    files["bp10"] = _blueprint_file(tmp_path / "10", num_classes=10)
    out = tmp_path / "out"
    argv = ["train", *[a.format(**files) for a in arguments], "--out", str(out)]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("gas: error: ") and message in error
    assert not out.exists()


def test_existing_run_and_corrupt_checkpoint_are_refused_and_kept(tmp_path, image_folder, capsys):
    bp, out = _blueprint_file(tmp_path), tmp_path / "run"
    argv = ["train", str(bp), "--data", str(image_folder), "--recipe", "short", "--epochs", "1", "--out", str(out),
            "--no-progress"]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 2 and "already holds a training run" in capsys.readouterr().err
    (out / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert main([*argv, "--resume"]) == 2
    assert "checkpoint.pt is corrupt" in capsys.readouterr().err
    assert (out / "checkpoint.pt").read_bytes() == b"not a checkpoint"
    assert main([*argv[:-3], "--epochs", "2", "--out", str(out), "--resume"]) == 2
    assert "different epochs" in capsys.readouterr().err


def _data(folder: Path):
    from evaluators.data import load_data

    return load_data(folder)
