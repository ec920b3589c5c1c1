"""Mask unit attention kernels and Q-pooling in CPU inference, timed on real models' calls.

    python benchmarks/unit_attention.py [--threads 2] [--rounds 60]

`search_spaces/hiera/model.py` sends CPU inference's mask unit attention to one of three kernels
(`_inference_kernel`): `_unit_attention_one_query` (elementwise, for units Q-pooled to one query),
`_unit_attention_bmm` (two batched matmuls per image over strided views, softmax written out) or
`F.scaled_dot_product_attention` (scores over 8 MiB, keys over 32 MiB). It Q-pools strided query
views by a running `torch.maximum` (`_max_pool`) instead of `amax`. This records the mask unit
attention and Q-pooling calls of the checked-in exports and of timm's Hiera-Tiny layout
(`hiera_tiny`, 8x8 units) at batch 1 and 32 (224 px, fp32, `torch.inference_mode`; one per distinct
shape, as batch 32 runs in chunks of images), times every applicable kernel on the recorded
tensors (the model's own strided views), interleaved call by call, and checks that the rule picks
the fastest. Writes benchmarks/results/unit_attention.{md,json}.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from tabulate import tabulate

import gas
from evaluators.machine import describe_machine
from gas.benchmarking import interleaved_medians
from search_spaces.hiera import Hiera
from search_spaces.hiera import model as hiera_model

RESULTS = Path(__file__).resolve().parent / "results"
EXPORTS = ("turbovit", "turbovit_12m", "turbovit_ref")


def recorded_calls(model: torch.nn.Module, batch: int, function: str) -> list[tuple]:
    """The arguments of each call to `hiera_model.<function>` in one inference forward pass, as the model made them."""
    calls: list[tuple] = []
    original = getattr(hiera_model, function)

    def recording(*args, **kwargs):
        calls.append(args + tuple(kwargs.values()))
        return original(*args, **kwargs)

    setattr(hiera_model, function, recording)
    try:
        with torch.inference_mode():
            model(torch.randn(batch, 3, 224, 224))
    finally:
        setattr(hiera_model, function, original)
    return calls


def distinct_shapes(calls: list[tuple]) -> list[tuple]:
    """One call per distinct argument shapes: a chunked batch repeats its blocks' calls chunk by chunk."""
    seen: dict[tuple, tuple] = {}
    for call in calls:
        seen.setdefault(tuple(getattr(a, "shape", a) for a in call), call)
    return list(seen.values())


def sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The fused kernel on the same [B, T, U, d] views (what `_unit_attention` calls)."""
    return F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)).transpose(1, 2)


def kernels(q: torch.Tensor) -> dict[str, Callable]:
    """The kernels that can compute these units: the elementwise one needs a single query per unit."""
    found = {"sdpa": sdpa, "bmm": hiera_model._unit_attention_bmm}
    if q.shape[1] == 1:
        found["one_query"] = hiera_model._unit_attention_one_query
    return found


def compare_kernels(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, rounds: int) -> dict:
    """Each kernel's median time on one call's q, k, v, which one `_unit_attention` picks, and the
    largest difference of any kernel from SDPA's output."""
    candidates = kernels(q)
    seconds = interleaved_medians([lambda f=f: f(q, k, v) for f in candidates.values()], rounds)
    times = {name: 1e3 * s for name, s in zip(candidates, seconds)}
    with torch.inference_mode():
        expected = sdpa(q, k, v)
        difference = max((f(q, k, v) - expected).abs().max().item() for f in candidates.values())
    chosen = hiera_model._inference_kernel(q, k)
    return {"images": q.shape[0], "keys": k.shape[1], "queries": q.shape[1], "problems": q.shape[0] * q.shape[2],
            "head_dim": q.shape[3], **{f"{name}_ms": t for name, t in times.items()}, "chosen": chosen,
            "chosen_is_faster": times[chosen] == min(times.values()), "max_abs_diff": difference}


def compare_pooling(x: torch.Tensor, dim: int, rounds: int) -> dict:
    """`amax` against `_max_pool` (a running maximum where x is strided) on one Q-pooling call's input."""
    seconds = interleaved_medians([lambda: x.amax(dim=dim), lambda: hiera_model._max_pool(x, dim)], rounds)
    with torch.inference_mode():
        identical = torch.equal(x.amax(dim=dim), hiera_model._max_pool(x, dim))
    return {"shape": list(x.shape), "strided": not x.is_contiguous(), "amax_ms": 1e3 * seconds[0],
            "max_pool_ms": 1e3 * seconds[1], "bitwise_equal": identical}


def models() -> dict[str, torch.nn.Module]:
    space = gas.get_space("hiera")
    # this checkout's model code with each export's arguments (an export's own copy may predate it)
    built = {name: Hiera(**importlib.import_module(f"generated_archs.{name}").MODEL_ARGS).eval() for name in EXPORTS}
    built["hiera_tiny"] = space.build(space.preset("hiera_tiny")).eval()
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=60, help="timed calls per kernel at batch 32 (x4 at batch 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    rows, pooling = [], []
    for name, model in models().items():
        for batch in (1, 32):
            rounds = args.rounds * (4 if batch == 1 else 1)
            for index, (q, k, v) in enumerate(distinct_shapes(recorded_calls(model, batch, "_unit_attention"))):
                rows.append({"model": name, "call": index, "batch": batch, **compare_kernels(q, k, v, rounds)})
                print(rows[-1], flush=True)
            for x, dim in distinct_shapes(recorded_calls(model, batch, "_max_pool")):
                pooling.append({"model": name, "batch": batch, **compare_pooling(x, dim, rounds)})
                print(pooling[-1], flush=True)
    report = {"threads": args.threads, "rounds": args.rounds, "machine": describe_machine(),
              "load_average": [load_before, os.getloadavg()[0]], "rows": rows, "pooling": pooling}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "unit_attention.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "unit_attention.md").write_text(markdown(report))
    print(markdown(report))


def _ms(row: dict, kernel: str) -> str:
    return f"{row[kernel + '_ms']:.3f}" if kernel + "_ms" in row else "-"


def markdown(report: dict) -> str:
    rows, pooling = report["rows"], report["pooling"]
    machine = report["machine"]
    table = [[r["model"], r["call"], r["batch"], r["images"], r["keys"], r["queries"], r["problems"], r["head_dim"],
              _ms(r, "sdpa"), _ms(r, "bmm"), _ms(r, "one_query"),
              f"{r['sdpa_ms'] / r[r['chosen'] + '_ms']:.2f}x", r["chosen"],
              "yes" if r["chosen_is_faster"] else "**no**", f"{r['max_abs_diff']:.1e}"] for r in rows]
    pooling_table = [[p["model"], p["batch"], "x".join(map(str, p["shape"])), "yes" if p["strided"] else "no",
                      f"{p['amax_ms']:.3f}", f"{p['max_pool_ms']:.3f}", f"{p['amax_ms'] / p['max_pool_ms']:.2f}x",
                      "yes" if p["bitwise_equal"] else "**no**"] for p in pooling]
    strided = [p for p in pooling if p["strided"]]
    return "\n".join([
        "# Mask unit attention kernels and Q-pooling in CPU inference",
        "",
        (f"Machine: {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']}; fp32, {report['threads']} threads, "
         f"`torch.inference_mode`, 224 px; each model's own tensors (strided views); the candidates called alternately, "
         f"medians of {report['rounds']} calls (x4 at batch 1). 1-min load average {report['load_average'][0]:.2f} / "
         f"{report['load_average'][1]:.2f}."),
        "",
        (f"`chosen`: what `_unit_attention` runs (`_inference_kernel`: one_query where a unit has one query and its "
         f"keys fit 32 MiB, else bmm where the scores fit 8 MiB, else SDPA). It is the fastest kernel in "
         f"{sum(r['chosen_is_faster'] for r in rows)} of {len(rows)} calls. `speedup`: SDPA's time over the chosen "
         "kernel's. At batch 32 the model runs in chunks of `images` (`Hiera.forward_features`); one row per distinct "
         "call shape. `max |diff|`: the largest difference of any kernel's output from SDPA's."),
        "",
        tabulate(table, ["model", "call", "batch", "images", "keys", "queries", "problems", "head dim", "SDPA ms",
                         "bmm ms", "one_query ms", "speedup", "chosen", "chosen fastest", "max |diff|"],
                 tablefmt="github"),
        "",
        "## Q-pooling",
        "",
        (f"`_max_pool` against `amax` on each distinct Q-pooling input (strided query views in the attention, the "
         f"contiguous residual in the block, which keeps `amax`). On the strided views it is "
         f"{min(p['amax_ms'] / p['max_pool_ms'] for p in strided):.2f}-"
         f"{max(p['amax_ms'] / p['max_pool_ms'] for p in strided):.2f}x faster; bit-identical in "
         f"{sum(p['bitwise_equal'] for p in pooling)} of {len(pooling)} calls."),
        "",
        tabulate(pooling_table, ["model", "batch", "input", "strided", "amax ms", "_max_pool ms", "speedup",
                                 "bitwise equal"], tablefmt="github"),
        "",
    ])


if __name__ == "__main__":
    main()
