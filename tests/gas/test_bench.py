"""gas bench: rows with the right fields and figures, Pareto/ranking/claims maths, report columns, CLI errors.

Two tiny models (a small gas blueprint and timm's test_vit at 32 px), 2 rounds: no timing thresholds,
only that the figures are the ones the library says they are.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import timm
import torch
from bench_helpers import tiny_gas, tiny_gas_blueprint

from evaluators import LatencyResult
from evaluators.flops import traced_macs
from gas.benchmarking import (
    ALL_MODELS,
    QUICK_MODELS,
    BenchSettings,
    Candidate,
    claim_ratios,
    compare_runs,
    kendall_tau,
    markdown_table,
    pareto_mask,
    resolve,
    run_benchmark,
    write_report,
)
from gas.benchmarking.report import TABLE_COLUMNS
from gas.benchmarking.runner import format_seconds
from gas.cli import main
from gas_kernel.errors import GasError

SETTINGS = BenchSettings(threads=1, rounds=2, throughput_batch=4, warmup=1, latency_budget_ms=1.0,
                         peak_matmul_size=128)


def _tiny_timm() -> Candidate:
    model = timm.create_model("test_vit", pretrained=False, img_size=32, num_classes=10).eval()
    return Candidate("test_vit", model, (3, 32, 32), "timm")


@pytest.fixture(scope="module")
def measured():
    candidates = [tiny_gas(), _tiny_timm()]
    return candidates, run_benchmark(candidates, SETTINGS)


def test_rows_have_every_field_with_sane_types(measured):
    _, result = measured
    assert [row.name for row in result.rows] == ["turbovit_ref", "test_vit"]
    for row in result.rows:
        assert isinstance(row.params, int) and isinstance(row.macs, int) and row.macs > 0
        assert row.latency.batch_size == 1 and row.throughput.batch_size == 4
        assert row.latency.repeats == len(row.latency.samples_ms) == 2 * 2  # 2 rounds x the 2-call minimum per round
        assert row.throughput.repeats == 2
        assert row.latency.median_ms > 0 and row.latency.iqr_ms >= 0
        assert row.throughput.throughput_per_s > 0
        assert row.peak_memory_mb is None or row.peak_memory_mb >= 0
        assert row.resolution == 32
        assert row.achieved_gflops_throughput == pytest.approx(2 * row.macs * row.throughput.throughput_per_s / 1e9)
        assert row.peak_fraction_latency == pytest.approx(row.achieved_gflops_latency / result.matmul_peak_gflops)
    assert result.threads == 1 and result.device == "cpu" and result.dtype == "float32"
    assert result.row("turbovit_ref").top1 is None and result.row("turbovit_ref").top1_source == "not trained"


def test_params_and_macs_are_the_models_own(measured):
    candidates, result = measured
    for candidate, row in zip(candidates, result.rows):
        assert row.params == sum(p.numel() for p in candidate.model.parameters())
        assert row.macs == traced_macs(candidate.model, torch.zeros(1, 3, 32, 32))


def test_timing_pools_samples_into_median_and_iqr():
    conditions = {"device": "cpu", "threads": 1, "dtype": "float32", "batch_size": 2, "input_size": (3, 8, 8)}
    rounds = [LatencyResult.from_samples(samples, repeats=len(samples), warmup=1, **conditions)
              for samples in ([10.0, 20.0], [30.0, 40.0, 50.0])]
    timing = LatencyResult.pooled(rounds)
    assert timing.median_ms == 30.0 and timing.iqr_ms == 20.0 and timing.q1_ms == 20.0
    assert (timing.repeats, timing.warmup, timing.batch_size) == (5, 2, 2)
    assert timing.throughput_per_s == pytest.approx(2000 / 30)
    assert timing.throughput_iqr_per_s == pytest.approx(2000 / 20 - 2000 / 40)


def test_pareto_mask_on_a_hand_made_example():
    # (cost, latency): (1, 5) and (2, 3) and (4, 1) are non-dominated; (3, 4) is beaten by (2, 3); (2, 6) by (1, 5).
    xs, ys = [1, 2, 3, 4, 2], [5, 3, 4, 1, 6]
    assert pareto_mask(xs, ys) == [True, True, False, True, False]
    # throughput (higher is better) vs params: (1, 10) and (3, 30) are the frontier; (2, 5) is beaten by (1, 10).
    assert pareto_mask([1, 2, 3], [10, 5, 30], maximize_y=True) == [True, False, True]


def test_kendall_tau_and_run_comparison():
    a = {"x": 1.0, "y": 2.0, "z": 3.0}
    assert kendall_tau(a, a) == 1.0
    assert kendall_tau(a, {"x": 3.0, "y": 2.0, "z": 1.0}) == -1.0
    swapped = compare_runs(a, {"x": 1.0, "y": 3.5, "z": 3.0})
    assert swapped["kendall_tau"] == pytest.approx(1 / 3) and not swapped["identical_ranking"]
    assert swapped["max_relative_spread"] == pytest.approx(0.75)
    # y and z swap: 50% apart in run 1 (2.0 vs 3.0), 17% in run 2 (3.5 vs 3.0); x is ordered alike in both.
    assert swapped["ranking_resolution"] == pytest.approx(0.5)
    assert compare_runs(a, {"x": 1.5, "y": 2.5, "z": 9.0})["ranking_resolution"] == 0.0


def test_claims_compare_the_subject_with_fastervit_and_mobilevit(measured):
    _, result = measured
    ours = result.row("turbovit_ref")
    peer = dataclasses.replace(result.row("test_vit"), name="faster_vit_0_224")
    mobile = dataclasses.replace(peer, name="mobilevitv2_200", macs=ours.macs * 5)
    claims = {c["key"]: c for c in claim_ratios(dataclasses.replace(result, rows=[ours, peer, mobile]))}
    assert claims["latency"]["measured"] == pytest.approx(peer.latency.median_ms / ours.latency.median_ms)
    assert claims["params"]["measured"] == pytest.approx(peer.params / ours.params)
    assert claims["gmacs"]["measured"] == pytest.approx(5.0) and claims["gmacs"]["met"]
    missed = claims["params"]
    assert missed["met"] == (missed["measured"] >= 2.47)
    assert missed["shortfall"] == pytest.approx(max(0.0, 1 - missed["measured"] / 2.47))
    assert all(c["measured"] is None for c in claim_ratios(result))  # no FasterViT/MobileViT rows


def test_report_has_the_expected_columns_and_json(measured, tmp_path):
    _, result = measured
    table = markdown_table(result)
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    assert header == [c.format(lb=1, tb=4) for c in TABLE_COLUMNS]
    assert len(table) == 2 + len(result.rows)
    md_path, json_path = write_report(result, tmp_path, "bench_cpu", "test")
    data = json.loads(json_path.read_text())
    assert {"rows", "machine", "matmul_peak_gflops", "claims", "conventions", "unavailable"} <= set(data)
    assert {"params", "gmacs", "latency", "throughput", "peak_memory_mb", "top1", "top1_source"} <= set(data["rows"][0])
    assert "turbovit_ref" in md_path.read_text()


def test_unknown_model_name_is_a_gas_error():
    with pytest.raises(GasError, match="unknown model 'no_such_net'"):
        resolve(["no_such_net"])


def test_every_exported_model_resolves_as_a_gas_model_with_its_record():
    import generated_archs
    from gas.benchmarking.zoo import build_candidate

    for name in generated_archs.list_models():
        candidate = build_candidate(name)
        record = json.loads((Path(generated_archs.__file__).parent / f"{name}.json").read_text())
        assert candidate.origin in ("gas export", "gas preset")  # turbovit_ref is both: the preset wins
        assert sum(p.numel() for p in candidate.model.parameters()) == record["cost"]["params"]
        assert candidate.input_size == (3, record["blueprint"]["img_size"], record["blueprint"]["img_size"])


def test_cli_unknown_model_exits_2_with_one_line(capsys):
    assert main(["bench", "no_such_net", "--repeats", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gas: error: unknown model 'no_such_net'")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error path")
def test_cli_cuda_without_cuda_exits_2(capsys):
    assert main(["bench", "test_vit", "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "CUDA is not available" in err[0]


def test_cli_bad_batch_exits_2(capsys):
    assert main(["bench", "test_vit", "--batch", "1,x"]) == 2
    assert "--batch" in capsys.readouterr().err


def test_cli_writes_report_and_plots(tmp_path, capsys):
    assert main(["bench", "test_vit", "--repeats", "1", "--batch", "1,2", "--threads", "1", "--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["bench_cpu.json", "bench_cpu.md", "bench_cpu_latency_gmacs.png", "bench_cpu_throughput_params.png"]
    assert "| test_vit |" in " ".join(capsys.readouterr().out.split())


def test_progress_gives_an_estimate_first_and_the_time_left_after_each_round():
    said = []
    run_benchmark([tiny_gas(), _tiny_timm()], SETTINGS, progress=said.append)
    plan = [m for m in said if m.startswith("timing ")]
    rounds = [m for m in said if m.startswith("round ")]
    assert len(plan) == 1 and plan[0].startswith("timing 2 models in 2 interleaved rounds, about ")
    assert rounds[0].startswith("round 1/2 done, about ") and rounds[0].endswith(" left")
    assert rounds[1] == "round 2/2 done"


@pytest.mark.parametrize(("seconds", "text"), [(0.2, "1 s"), (42.4, "42 s"), (200, "3 min 20 s"), (3605, "60 min 05 s")])
def test_eta_reads_as_people_say_it(seconds, text):
    assert format_seconds(seconds) == text


def test_default_is_the_quick_set_and_all_the_full_table():
    from gas.commands.bench import chosen_models

    assert chosen_models([], everything=False) == list(QUICK_MODELS)
    assert chosen_models([], everything=True) == list(ALL_MODELS)
    assert chosen_models(["levit_128s"], everything=False) == ["levit_128s"]
    assert set(QUICK_MODELS) < set(ALL_MODELS) and QUICK_MODELS[:2] == ("turbovit", "faster_vit_0_224")


def test_cli_names_and_all_together_exit_2(capsys):
    assert main(["bench", "levit_128s", "--all"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "give model names or --all, not both" in err


def test_an_export_is_measured_at_the_size_it_was_made_for(tmp_path, monkeypatch):
    """A 32 px export (a small search's winner) is timed on 32 px input, not timm's default 224 px."""
    import shutil
    import sys

    import generated_archs
    from gas.benchmarking.zoo import build_candidate
    from gas.export import export_blueprint

    package = tmp_path / "generated_archs"
    package.mkdir()
    shutil.copy(Path(generated_archs.__file__), package / "__init__.py")
    export_blueprint(tiny_gas_blueprint(), "bench_export_32px", package)
    for module in [m for m in sys.modules if m == "generated_archs" or m.startswith("generated_archs.")]:
        monkeypatch.delitem(sys.modules, module)  # restored after the test
    monkeypatch.syspath_prepend(str(tmp_path))
    candidate = build_candidate("bench_export_32px")
    assert candidate.origin == "gas export" and candidate.input_size == (3, 32, 32)
    assert candidate.model(torch.zeros(1, *candidate.input_size)).shape == (1, 10)
