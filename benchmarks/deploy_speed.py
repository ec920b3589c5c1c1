"""Deployment paths of an exported TurboViT, measured: which ones pay off on this machine.

    python benchmarks/deploy_speed.py [--models turbovit turbovit_12m] [--threads 2] [--rounds 12]

For each checked-in export and batch 1 / 32, the same weights run as:

    eager          the export as written, fp32, `torch.inference_mode` (the baseline)
    channels-last  model and input in `torch.channels_last` (only the patch-embedding conv is 4-d)
    compile        `torch.compile(model)` (inductor, default mode); its compile time is reported apart
    onnxruntime    `gas export --onnx` (opset 17, dynamic batch) run by onnxruntime's CPU provider with
                   the same thread count (the `deploy` extra; skipped, and said so, without it)
    cuda fp32/bf16/fp16  the export on the GPU, eager, with autocast for bf16 / fp16 (only where
                   CUDA is available; said so otherwise)

Every path's logits are compared with eager's (max abs difference). Timings interleave the paths
call by call in one process, so they share every moment's load; the report gives each path's
median and its speed-up over eager, measured side by side. Fused qkv is not a path to offer: the
model's attention already projects q, k and v with one Linear. Writes
benchmarks/results/deploy_speed.{md,json}.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from tabulate import tabulate

from evaluators.machine import describe_machine

RESULTS = Path(__file__).resolve().parent / "results"


def load_export(name: str) -> torch.nn.Module:
    """A checked-in export, built with its MODEL_ARGS and seeded weights, in eval mode."""
    module = importlib.import_module(f"generated_archs.{name}")
    torch.manual_seed(0)
    return module.Hiera(**module.MODEL_ARGS).eval()


def onnx_runner(model: torch.nn.Module, threads: int, workdir: Path) -> Callable[[torch.Tensor], torch.Tensor] | str:
    """A callable running `model` through onnxruntime, or why there is none."""
    try:
        import onnxruntime
    except ImportError:
        return "not installed (pip install -e '.[deploy]')"
    from gas.export import to_onnx

    path, args = workdir / f"{type(model).__module__}.onnx", _args(model)
    to_onnx(model, path, args["img_size"], args["in_chans"], check=False)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # its idle threads would spin
    # on the cores for a while after each call, slowing whatever path is timed next
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: torch.from_numpy(session.run(["logits"], {"pixels": x.numpy()})[0])


def cpu_paths(model: torch.nn.Module, threads: int, workdir: Path) -> tuple[dict[str, Callable], dict[str, str]]:
    """name -> callable(input) for every CPU path, and name -> why a path is missing."""
    paths: dict[str, Callable] = {"eager": model}
    missing: dict[str, str] = {}
    last = importlib.import_module(type(model).__module__).Hiera(**_args(model)).eval()
    last.load_state_dict(model.state_dict())
    last = last.to(memory_format=torch.channels_last)
    paths["channels-last"] = lambda x: last(x.contiguous(memory_format=torch.channels_last))
    paths["compile"] = torch.compile(model)
    runner = onnx_runner(model, threads, workdir)
    if isinstance(runner, str):
        missing["onnxruntime"] = runner
    else:
        paths["onnxruntime"] = runner
    return paths, missing


def cuda_paths(model: torch.nn.Module) -> tuple[dict[str, Callable], dict[str, str]]:
    """fp32 / bf16 / fp16 on the GPU (inputs moved there, logits back), or why there are none."""
    if not torch.cuda.is_available():
        return {}, {"cuda fp32/bf16/fp16": "no CUDA device on this machine"}
    gpu = importlib.import_module(type(model).__module__).Hiera(**_args(model)).eval().cuda()
    gpu.load_state_dict(model.state_dict())

    def run(dtype: torch.dtype | None) -> Callable:
        def call(x: torch.Tensor) -> torch.Tensor:
            with torch.autocast("cuda", dtype=dtype, enabled=dtype is not None):
                out = gpu(x.cuda(non_blocking=True))
            torch.cuda.synchronize()
            return out.float().cpu()
        return call

    return {"cuda fp32": run(None), "cuda bf16": run(torch.bfloat16), "cuda fp16": run(torch.float16)}, {}


def _args(model: torch.nn.Module) -> dict:
    return dict(importlib.import_module(type(model).__module__).MODEL_ARGS)


def time_paths(paths: dict[str, Callable], x: torch.Tensor, rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median seconds per call of every path (interleaved call by call) and the first call's seconds
    (compilation, for `torch.compile`)."""
    first: dict[str, float] = {}
    samples: dict[str, list[float]] = {name: [] for name in paths}
    with torch.inference_mode():
        for name, path in paths.items():
            started = time.perf_counter()
            path(x)
            first[name] = time.perf_counter() - started
            for _ in range(2):
                path(x)
        for _ in range(rounds):
            for name, path in paths.items():
                started = time.perf_counter()
                path(x)
                samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}, first


def differences(paths: dict[str, Callable], x: torch.Tensor) -> dict[str, float]:
    """Max abs logit difference of every path from eager's, on `x`."""
    with torch.inference_mode():
        reference = paths["eager"](x)
        return {name: float((path(x).float() - reference).abs().max()) for name, path in paths.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["turbovit", "turbovit_12m"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=12, help="timed calls per path at batch 32 (x4 at batch 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows, missing, load_before = [], {}, os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.models:
            model = load_export(name)
            paths, why = cpu_paths(model, args.threads, Path(workdir))
            gpu, why_gpu = cuda_paths(model)
            paths.update(gpu)
            missing.update(why | why_gpu)
            probe = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
            diff = differences(paths, probe)
            for batch in (1, 32):
                x = torch.randn(batch, 3, 224, 224)
                medians, first = time_paths(paths, x, args.rounds * (4 if batch == 1 else 1))
                for path in paths:
                    rows.append({"model": name, "batch": batch, "path": path, "ms": 1e3 * medians[path],
                                 "speedup": medians["eager"] / medians[path], "first_call_s": first[path],
                                 "max_abs_diff": diff[path]})
                    print(rows[-1], flush=True)
    report = {"threads": args.threads, "machine": describe_machine(), "rows": rows, "missing": missing,
              "load_average": [load_before, os.getloadavg()[0]], "torch": torch.__version__}
    write_report(report)


def write_report(report: dict) -> None:
    """deploy_speed.{json,md}: every path's median, speed-up over eager, first call and logit difference."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "deploy_speed.json").write_text(json.dumps(report, indent=2) + "\n")
    machine = report["machine"]
    table = [[r["model"], r["batch"], r["path"], f"{r['ms']:.2f}", f"{r['speedup']:.2f}x", f"{r['first_call_s']:.1f}",
              f"{r['max_abs_diff']:.1e}"] for r in report["rows"]]
    lines = ["# Deployment paths of the exported TurboViTs", "",
             (f"Machine: {machine['cpu']}, {machine['cores']} cores, torch {report['torch']}; {report['threads']} "
              f"threads, fp32 on the CPU; 224 px; paths timed interleaved call by call in one process; 1-min load "
              f"average {report['load_average'][0]:.2f} / {report['load_average'][1]:.2f} before / after."), "",
             tabulate(table, ["export", "batch", "path", "median ms", "vs eager", "first call s", "max |logit diff|"],
                      tablefmt="github"), ""]
    lines += [f"- {path}: not measured, {why}" for path, why in report["missing"].items()]
    (RESULTS / "deploy_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
