"""How close to the matmul peak an export can get: its own GEMMs, convolution and attention timed alone.

    python benchmarks/gemm_ceiling.py [--threads 2] [--rounds 15] [--malloc retain]

The peers benchmark reports each model's achieved GFLOP/s against a 2048^3 `torch.mm`. A model's
GEMMs are not 2048-square: TurboViT's have K = 192 or 480 and, at batch 1, a few hundred rows. This
records every Linear, Conv2d and attention call (SDPA, the batched matmuls of small mask units, the
elementwise kernel of one-query units) of a forward pass of each checked-in export (shapes from
forward hooks and wrapped `F.scaled_dot_product_attention`, `torch.bmm` and the export's
`_unit_attention_one_query`), times each op alone on contiguous inputs of that shape, and sums
them: the forward pass's time if every other step (norms, GELU, residual adds, pooling, reshapes)
took none. Against the same peak, that sum gives the **ceiling**: the % of peak the model could
reach with perfect non-GEMM code; the gap between it and the whole forward is the overhead that
model code can still remove. Ops are timed interleaved with the whole forward, round by round.
Writes benchmarks/results/gemm_ceiling{,_retain}.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from tabulate import tabulate

from evaluators.flops import traced_macs
from evaluators.machine import describe_machine
from gas.benchmarking import (
    FLOPS_PER_MAC,
    MALLOC_MODES,
    interleaved_medians,
    matmul_peak_gflops,
    use_malloc,
)
from generated_archs import get_model

RESULTS = Path(__file__).resolve().parent / "results"
EXPORTS = ("turbovit", "turbovit_12m", "turbovit_ref")
KINDS = ("linear", "conv", "attention")


def recorded_ops(model: torch.nn.Module, x: torch.Tensor) -> list[tuple[str, Callable[[], torch.Tensor]]]:
    """(kind, a call that repeats the op on fresh contiguous inputs of its shape) for every GEMM-like op."""
    ops: list[tuple[str, Callable[[], torch.Tensor]]] = []

    def on_linear(module, inputs, output):
        a, w, b = torch.randn_like(inputs[0]), module.weight, module.bias
        ops.append(("linear", lambda: F.linear(a, w, b)))

    def on_conv(module, inputs, output):
        a = torch.randn_like(inputs[0])
        ops.append(("conv", lambda: module(a)))

    sdpa, bmm = F.scaled_dot_product_attention, torch.bmm

    def recording(kernel):
        def call(*tensors, **kwargs):
            copies = [torch.randn(t.shape) for t in tensors]  # contiguous inputs of the shapes
            ops.append(("attention", lambda: kernel(*copies)))
            return kernel(*tensors, **kwargs)
        return call

    handles = [m.register_forward_hook(on_linear if isinstance(m, torch.nn.Linear) else on_conv)
               for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    model_code = sys.modules[type(model).__module__]  # the export's own copy of the model code
    one_query = model_code._unit_attention_one_query
    F.scaled_dot_product_attention, torch.bmm = recording(sdpa), recording(bmm)
    model_code._unit_attention_one_query = recording(one_query)
    try:
        with torch.inference_mode():
            model(x)
    finally:
        F.scaled_dot_product_attention, torch.bmm = sdpa, bmm
        model_code._unit_attention_one_query = one_query
        for handle in handles:
            handle.remove()
    return ops


def measure(name: str, batch: int, rounds: int) -> dict:
    """Median seconds of the whole forward and of each recorded op, interleaved round by round."""
    model = get_model(name)().eval()
    x = torch.randn(batch, 3, 224, 224)
    macs = traced_macs(model, torch.zeros(1, 3, 224, 224))
    ops = recorded_ops(model, x)
    forward_s, *op_seconds = interleaved_medians([lambda: model(x)] + [call for _, call in ops], rounds, warmup=3)
    by_kind = {kind: sum(s for (k, _), s in zip(ops, op_seconds) if k == kind) for kind in KINDS}
    return {"model": name, "batch": batch, "macs": macs, "ops": len(ops), "forward_s": forward_s,
            "ops_s": sum(op_seconds), "by_kind_s": by_kind}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds at batch 32 (x4 at batch 1)")
    parser.add_argument("--malloc", choices=MALLOC_MODES, default="default")
    args = parser.parse_args()
    use_malloc(args.malloc)
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    peaks = [matmul_peak_gflops()]
    rows = []
    for name in EXPORTS:
        for batch in (1, 32):
            rows.append(measure(name, batch, args.rounds * (4 if batch == 1 else 1)))
            print(rows[-1], flush=True)
    peaks.append(matmul_peak_gflops())
    peak = max(peaks)
    stem = "gemm_ceiling" + ("_retain" if args.malloc == "retain" else "")
    report = {"threads": args.threads, "malloc": args.malloc, "machine": describe_machine(), "peak_gflops": peaks,
              "load_average": [load_before, os.getloadavg()[0]], "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")

    def share(row: dict, seconds: float) -> str:
        return f"{FLOPS_PER_MAC * row['macs'] * row['batch'] / seconds / 1e9 / peak:.0%}"

    table = [[r["model"], r["batch"], r["ops"], f"{1e3 * r['forward_s']:.2f}", share(r, r["forward_s"]),
              f"{1e3 * r['ops_s']:.2f}", share(r, r["ops_s"]),
              *(f"{100 * r['by_kind_s'][k] / r['forward_s']:.0f}%" for k in KINDS),
              f"{100 * (1 - r['ops_s'] / r['forward_s']):.0f}%"] for r in rows]
    machine = report["machine"]
    text = "\n".join([
        "# How close to the matmul peak each export can get",
        "",
        (f"Machine: {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']}; fp32, {args.threads} threads, "
         f"glibc malloc {'retaining freed memory' if args.malloc == 'retain' else 'default'}; 224 px. Matmul peak "
         f"(2048^3 `torch.mm`) {peaks[0]:.1f} / {peaks[1]:.1f} GFLOP/s before / after; 1-min load average "
         f"{load_before:.2f} / {report['load_average'][1]:.2f}."),
        "",
        ("`ceiling`: the model's MACs over the summed time of its Linear, Conv2d and attention (SDPA, bmm or the one-query kernel) calls, each timed alone "
         "on contiguous inputs of its shape (every other step at zero time), as a % of the peak; `forward`: the "
         "whole forward pass. The op columns are each kind's share of the forward; `rest` is the time no GEMM-like "
         "op accounts for (norms, GELU, adds, pooling, the small units' softmax, reshapes, allocation)."),
        "",
        tabulate(table, ["export", "batch", "ops", "forward ms", "forward % peak", "ops alone ms", "ceiling % peak",
                         "linear", "conv", "attention", "rest"], tablefmt="github"),
        "",
    ])
    (RESULTS / f"{stem}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
