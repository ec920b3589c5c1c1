"""Mask unit attention kernels: SDPA's fused CPU kernel against batched matmuls, on real models' calls.

    python benchmarks/unit_attention.py [--threads 2] [--rounds 15]

`search_spaces/hiera/model.py` sends CPU inference's mask unit attention to `_unit_attention_bmm`
(two batched matmuls per image over strided views, softmax written out) unless a unit has a single
query, or where its scores would exceed 4 MiB, where it keeps `F.scaled_dot_product_attention`.
This records the mask unit attention calls of the checked-in exports and of timm's Hiera-Tiny layout
(`hiera_tiny`, 8x8 units) at batch 1 and 32 (224 px, fp32, `torch.inference_mode`; one per distinct
shape, as batch 32 runs in chunks of images), times both kernels on the recorded q, k, v (the
model's own strided views), interleaved call by call, and checks that the rule picks the faster
one. Writes benchmarks/results/unit_attention.{md,json}.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
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
Tensors = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def recorded_calls(model: torch.nn.Module, batch: int) -> list[Tensors]:
    """The (q, k, v) of each mask unit attention call in one inference forward pass, as the model made them."""
    calls: list[Tensors] = []
    unit_attention = hiera_model._unit_attention

    def recording(q, k, v):
        calls.append((q, k, v))
        return unit_attention(q, k, v)

    hiera_model._unit_attention = recording
    try:
        with torch.inference_mode():
            model(torch.randn(batch, 3, 224, 224))
    finally:
        hiera_model._unit_attention = unit_attention
    return calls


def distinct_shapes(calls: list[Tensors]) -> list[Tensors]:
    """One call per distinct (q, k) shape: a chunked batch repeats its blocks' calls chunk by chunk."""
    seen: dict[tuple, Tensors] = {}
    for q, k, v in calls:
        seen.setdefault((q.shape, k.shape), (q, k, v))
    return list(seen.values())


def sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The fused kernel on the same [B, T, U, d] views (what `_unit_attention` calls)."""
    return F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)).transpose(1, 2)


def compare_kernels(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, rounds: int) -> dict:
    """Both kernels' median times on one call's q, k, v, which one `_unit_attention` picks, and their difference."""
    seconds = interleaved_medians([lambda: sdpa(q, k, v), lambda: hiera_model._unit_attention_bmm(q, k, v)], rounds)
    times = {"sdpa": 1e3 * seconds[0], "bmm": 1e3 * seconds[1]}
    with torch.inference_mode():
        difference = (sdpa(q, k, v) - hiera_model._unit_attention_bmm(q, k, v)).abs().max().item()
    chosen = "bmm" if hiera_model._bmm_is_faster(q, k) else "sdpa"
    return {"images": q.shape[0], "keys": k.shape[1], "queries": q.shape[1], "problems": q.shape[0] * q.shape[2],
            "head_dim": q.shape[3],
            "sdpa_ms": times["sdpa"], "bmm_ms": times["bmm"], "chosen": chosen,
            "chosen_is_faster": times[chosen] == min(times.values()), "max_abs_diff": difference}


def models() -> dict[str, torch.nn.Module]:
    space = gas.get_space("hiera")
    # this checkout's model code with each export's arguments (an export's own copy may predate it)
    built = {name: Hiera(**importlib.import_module(f"generated_archs.{name}").MODEL_ARGS).eval() for name in EXPORTS}
    built["hiera_tiny"] = space.build(space.preset("hiera_tiny")).eval()
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=15, help="timed calls per kernel at batch 32 (x4 at batch 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    rows = []
    for name, model in models().items():
        for batch in (1, 32):
            for index, (q, k, v) in enumerate(distinct_shapes(recorded_calls(model, batch))):
                rows.append({"model": name, "call": index, "batch": batch,
                             **compare_kernels(q, k, v, args.rounds * (4 if batch == 1 else 1))})
                print(rows[-1], flush=True)
    report = {"threads": args.threads, "rounds": args.rounds, "machine": describe_machine(),
              "load_average": [load_before, os.getloadavg()[0]], "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "unit_attention.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "unit_attention.md").write_text(markdown(report))
    print(markdown(report))


def markdown(report: dict) -> str:
    rows = report["rows"]
    machine = report["machine"]
    table = [[r["model"], r["call"], r["batch"], r["images"], r["keys"], r["queries"], r["problems"], r["head_dim"],
              f"{r['sdpa_ms']:.3f}", f"{r['bmm_ms']:.3f}", f"{r['sdpa_ms'] / r['bmm_ms']:.2f}x", r["chosen"],
              "yes" if r["chosen_is_faster"] else "**no**", f"{r['max_abs_diff']:.1e}"] for r in rows]

    return "\n".join([
        "# Mask unit attention: SDPA's fused CPU kernel against batched matmuls",
        "",
        (f"Machine: {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']}; fp32, {report['threads']} threads, "
         f"`torch.inference_mode`, 224 px; each model's own q, k, v views; the two kernels called alternately, medians "
         f"of {report['rounds']} calls (x4 at batch 1). 1-min load average {report['load_average'][0]:.2f} / "
         f"{report['load_average'][1]:.2f}."),
        "",
        (f"`chosen`: what `_unit_attention` runs (batched matmuls unless a unit has one query or the scores would "
         f"exceed 4 MiB). It is the faster kernel in {sum(r['chosen_is_faster'] for r in rows)} of {len(rows)} calls. "
         "At batch 32 the model runs in chunks of `images` (`Hiera.forward_features`); one row per distinct call shape."),
        "",
        tabulate(table, ["model", "call", "batch", "images", "keys", "queries", "problems", "head dim", "SDPA ms", "bmm ms",
                         "SDPA / bmm", "chosen", "chosen faster", "max |diff|"], tablefmt="github"),
        "",
    ])


if __name__ == "__main__":
    main()
