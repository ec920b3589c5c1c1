"""`gas export` on the command line, Pareto pick rules and model-name rules.

`gas export best` tests write a small fake run directory in the documented layout of gas/runs.py
(config.json + pareto.json), so they do not depend on the search engine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gas.cli import main
from gas.codegen import check_name, emitted_names, pick_entry, sanitize_name
from gas.export import export_best
from gas.runs import load_pareto
from gas_kernel.errors import GasError
from search_spaces import get_space

SPACE = get_space("hiera", img_size=32, num_classes=10)
# trial number -> (seed of the blueprint, metrics)
TRIALS = {
    3: (5, {"synflow": 10.0, "latency_ms": 1.0, "macs": 3e6, "params": 4e5}),
    7: (11, {"synflow": 30.0, "latency_ms": 5.0, "macs": 9e6, "params": 9e5}),
    12: (14, {"synflow": 25.0, "latency_ms": 1.5, "macs": 5e6, "params": 6e5}),
    20: (22, {"synflow": 99.0, "latency_ms": 50.0, "macs": 8e6, "params": 7e5}),  # over the latency budget
}
OBJECTIVES = [{"name": "synflow", "direction": "maximize"}, {"name": "latency_ms", "direction": "minimize"}]


def write_run(
    root: Path, name: str = "r1", objectives: list | None = None, budgets: dict | None = None
) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(
        json.dumps({"command": "gas search --budget latency=20ms", "space": "hiera"})
    )
    trials = [
        {
            "number": n,
            "arch_id": SPACE.random(seed).arch_id,
            "blueprint": SPACE.random(seed).model_dump(mode="json"),
            "metrics": metrics,
        }
        for n, (seed, metrics) in TRIALS.items()
    ]
    header = {
        "objectives": OBJECTIVES if objectives is None else objectives,
        "budgets": {"latency": 20.0} if budgets is None else budgets,
    }
    (run / "pareto.json").write_text(json.dumps(header | {"trials": trials}))
    return run


@pytest.fixture
def run_dir(tmp_path) -> Path:
    return write_run(tmp_path / "runs")


def picked(run_dir: Path, rule: str, **header_overrides) -> int:
    header, entries = load_pareto(run_dir)
    return pick_entry(entries, header | header_overrides, rule)["number"]


# ---- pick rules ---------------------------------------------------------------------------------
def test_default_pick_is_the_best_proxy_within_budgets(run_dir):
    assert picked(run_dir, "proxy") == 7  # trial 20 has a higher proxy but breaks latency=20ms


def test_pick_handles_plain_string_objectives_and_directions(run_dir):
    assert picked(run_dir, "proxy", objectives=["synflow", "latency_ms"]) == 7
    assert picked(run_dir, "proxy", objectives=["latency_ms"]) == 3  # a cost is minimised
    assert picked(run_dir, "proxy", objectives=[{"name": "synflow", "direction": "minimize"}]) == 3
    assert picked(run_dir, "proxy", budgets={"latency": "100ms"}) == 20  # budgets as text


def test_pick_latency_macs_params_and_trial_numbers(run_dir):
    assert picked(run_dir, "latency") == 3
    assert picked(run_dir, "macs") == picked(run_dir, "flops") == 3
    assert picked(run_dir, "params") == 3
    assert picked(run_dir, "#12") == picked(run_dir, "12") == 12


def test_knee_is_the_point_farthest_from_the_chord(run_dir):
    # normalised (0 = best): #3 (1, 0), #7 (0, 1), #12 (0.25, 0.125): the knee is #12
    assert picked(run_dir, "knee") == 12
    with pytest.raises(GasError, match="two objectives"):
        picked(run_dir, "knee", objectives=["synflow"])


def test_pick_rejects_unknown_rules_and_missing_trials(run_dir):
    with pytest.raises(GasError, match="unknown pick rule"):
        picked(run_dir, "fastest")
    with pytest.raises(
        GasError, match=r"trial #5 is not in the Pareto set \(Pareto trials: #3, #7, #12, #20\)"
    ):
        picked(run_dir, "#5")


# ---- names --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        ("TurboViT", "turbovit"),
        ("my-run.2", "my_run_2"),
        ("../../etc/passwd", "etc_passwd"),
        ("12abc", "turbovit_12abc"),
        ("", "turbovit"),
        ("class", "class_model"),
        ("x" * 100, "x" * 48),
        ("a; import os", "a_import_os"),
    ],
)
def test_sanitize_name_makes_valid_identifiers(text, expected):
    assert sanitize_name(text) == expected
    assert check_name(expected) == expected


@pytest.mark.parametrize(
    "name",
    [
        "TurboViT",
        "../evil",
        "a.b",
        "a b",
        "x'+__import__('os')+'",
        "_private",
        "9lives",
        "class",
        "x" * 49,
        "",
    ],
)
def test_check_name_rejects_unsafe_names(name):
    with pytest.raises(GasError, match="invalid model name"):
        check_name(name)


@pytest.mark.parametrize("name", ["unroll", "drop_path", "torch", "nn", "math"])
def test_names_the_model_code_defines_are_reserved(name):
    with pytest.raises(GasError, match=f"already defines that name \\(for example '{name}_model'\\)"):
        check_name(name, emitted_names(SPACE))
    assert {"Hiera", "MaskUnitAttention", "MODEL_ARGS", "F"} <= emitted_names(SPACE)


# ---- gas export best ----------------------------------------------------------------------------
def test_export_best_writes_the_pick_with_its_provenance(run_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["export", "best", "--runs-dir", str(run_dir.parent), "--out", str(out)]) == 0
    arch_id = SPACE.random(TRIALS[7][0]).arch_id
    record = json.loads((out / f"turbovit_{arch_id}.json").read_text())
    assert record["source"] == {"kind": "run", "run": "r1", "trial": 7, "pick": "proxy"}
    assert record["metrics"] == TRIALS[7][1] and record["budgets"] == {"latency": 20.0}
    assert record["search_command"] == "gas search --budget latency=20ms"
    assert record["export_command"] == f"gas export best --run r1 --pick proxy --name turbovit_{arch_id}"
    text = (out / f"turbovit_{arch_id}.py").read_text()
    assert "gas search --budget latency=20ms" in text and "latency=20ms" in text
    assert f"wrote {out / f'turbovit_{arch_id}.py'}" in capsys.readouterr().out


def test_export_best_api_with_name_and_trial(run_dir, tmp_path):
    path = export_best("r1", run_dir.parent, pick="#12", name="turbovit", out_dir=tmp_path)
    assert path == tmp_path / "turbovit.py"
    assert json.loads(path.with_suffix(".json").read_text())["arch_id"] == SPACE.random(TRIALS[12][0]).arch_id


def test_existing_files_need_force(run_dir, tmp_path, capsys):
    args = ["export", "best", "--runs-dir", str(run_dir.parent), "--out", str(tmp_path), "--name", "mine"]
    assert main(args) == 0
    before = (tmp_path / "mine.py").read_bytes()
    assert main(args + ["--pick", "latency"]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert (tmp_path / "mine.py").read_bytes() == before
    assert main(args + ["--pick", "latency", "--force"]) == 0
    assert (tmp_path / "mine.py").read_bytes() != before


def bad_invocations(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    runs = tmp_path / "runs"
    write_run(runs, "r1")
    (runs / "empty").mkdir()
    (runs / "empty" / "config.json").write_text("{}")
    out = ["--out", str(tmp_path / "out")]
    return {
        "missing run": (["best", "--runs-dir", str(runs), "--run", "nope", *out], "no run named 'nope'"),
        "no runs at all": (["best", "--runs-dir", str(tmp_path / "none"), *out], "no runs in"),
        "no pareto": (["best", "--runs-dir", str(runs), "--run", "empty", *out], "has no pareto.json"),
        "trial not in set": (
            ["best", "--runs-dir", str(runs), "--run", "r1", "--pick", "#4", *out],
            "trial #4",
        ),
        "unknown rule": (
            ["best", "--runs-dir", str(runs), "--run", "r1", "--pick", "best", *out],
            "unknown pick",
        ),
        "unknown preset": (["preset", "nope", *out], "unknown preset 'nope'"),
        "bad preset size": (["preset", "turbovit_ref", "--img-size", "100", *out], "img_size"),
        "missing file": (["file", str(tmp_path / "missing.json"), *out], "does not exist"),
        "not a blueprint": (["file", str(runs / "r1" / "config.json"), *out], "invalid blueprint"),
        "bad name": (["preset", "turbovit_ref", "--name", "../Evil", *out], "invalid model name"),
        "timm's name": (["preset", "turbovit_ref", "--name", "resnet50", *out], "timm already has"),
        "reserved name": (["preset", "turbovit_ref", "--name", "unroll", *out], "already defines"),
    }


BAD_CASES = (
    "missing run",
    "no runs at all",
    "no pareto",
    "trial not in set",
    "unknown rule",
    "unknown preset",
    "bad preset size",
    "missing file",
    "not a blueprint",
    "bad name",
    "timm's name",
    "reserved name",
)


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_inputs_end_in_one_error_line(case, tmp_path, capsys):
    args, message = bad_invocations(tmp_path)[case]
    assert main(["export", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gas: error: ") and err.count("\n") == 1, err
    assert message in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_bad_blueprint_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "bp.json"
    path.write_text(json.dumps(SPACE.random(5).model_dump(mode="json") | {"q_pool": 9}))
    assert main(["export", "file", str(path), "--out", str(tmp_path)]) == 2
    assert "q_pool" in capsys.readouterr().err
    path.write_text("{not json")
    assert main(["export", "file", str(path), "--out", str(tmp_path)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_preset_and_refresh_commands(tmp_path, capsys):
    args = [
        "export",
        "preset",
        "turbovit_ref",
        "--img-size",
        "64",
        "--num-classes",
        "10",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    record = json.loads((tmp_path / "turbovit_ref.json").read_text())
    assert record["blueprint"]["img_size"] == 64 and record["blueprint"]["num_classes"] == 10
    assert main(["export", "refresh", "--out", str(tmp_path)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_onnx_flag_exports_and_checks_the_model(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    path = tmp_path / "bp.json"
    path.write_text(SPACE.random(5).model_dump_json())
    onnx_path = tmp_path / "model.onnx"
    assert main(["export", "file", str(path), "--out", str(tmp_path / "out"), "--onnx", str(onnx_path)]) == 0
    assert onnx_path.stat().st_size > 0
    difference = float(capsys.readouterr().out.rsplit("difference ", 1)[1])
    assert difference < 1e-4


@pytest.mark.parametrize("missing", ["onnx", "onnxruntime"])
def test_onnx_without_the_deploy_extra_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch, missing):
    monkeypatch.setitem(sys.modules, missing, None)  # `import <missing>` now raises ImportError
    out = tmp_path / "out"
    code = main(["export", "preset", "hiera_tiny", "--out", str(out), "--onnx", str(tmp_path / "m.onnx")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    needs = err.split("ONNX export needs ", 1)[1].split(",", 1)[0]  # "onnx", "onnxruntime" or "onnx and onnxruntime"
    assert err.startswith("gas: error: ONNX export needs ") and missing in needs.split(" and ")
    assert 'pip install -e ".[deploy]"' in err
    assert not out.exists() and not (tmp_path / "m.onnx").exists()


def test_exporting_the_same_model_again_over_its_own_files_is_allowed(tmp_path, capsys):
    """`gas export preset turbovit_ref` on a fresh clone meets the checked-in file: same bytes, no clash."""
    args = ["export", "preset", "turbovit_ref", "--out", str(tmp_path)]
    assert main(args) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(args) == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert main([*args[:2], "hiera_tiny", "--name", "turbovit_ref", "--out", str(tmp_path)]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err


def test_the_checked_in_reference_export_is_what_export_preset_writes(tmp_path):
    import generated_archs

    assert main(["export", "preset", "turbovit_ref", "--out", str(tmp_path)]) == 0
    shipped = Path(generated_archs.__file__).parent
    for name in ("turbovit_ref.py", "turbovit_ref.json"):
        assert (tmp_path / name).read_bytes() == (shipped / name).read_bytes()
