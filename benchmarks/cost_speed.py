"""How fast is the analytic cost model compared with building + fvcore tracing the same blueprints?

    python benchmarks/cost_speed.py [--blueprints 5000] [--traced 10] [--img-size 224]

Prices the same random blueprints both ways (the traced ones are the first --traced of them), checks
the figures agree, and writes benchmarks/results/cost_speed.{json,md}. Targets (issue 2):
>= 20,000 blueprints/s analytically and >= 10,000x faster than tracing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import torch
from tabulate import tabulate

import gas
from evaluators.flops import traced_macs
from evaluators.machine import describe_machine, machine_line

RESULTS = Path(__file__).resolve().parent / "results"
MAX_GMACS = 5.0  # search-relevant sizes; tracing multi-hundred-GMAC samples would only flatter the ratio


def sample_blueprints(space, count: int) -> list:
    blueprints, seed = [], 0
    while len(blueprints) < count:
        bp = space.random(seed)
        if space.cost(bp).gmacs <= MAX_GMACS:
            blueprints.append(bp)
        seed += 1
    return blueprints


def analytic_rate(space, blueprints: list, repeats: int = 5) -> list[float]:
    """Blueprints per second, one figure per repeat."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for bp in blueprints:
            space.cost(bp)
        rates.append(len(blueprints) / (time.perf_counter() - start))
    return rates


def traced_seconds(space, blueprints: list) -> tuple[list[float], list[float], int]:
    """Per blueprint: seconds to trace, seconds to build + trace; and how many disagreed >0.5%."""
    trace_times, total_times, disagreements = [], [], 0
    for bp in blueprints:
        start = time.perf_counter()
        model = space.build(bp)
        built = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            macs = traced_macs(model, torch.zeros(1, bp.in_chans, bp.img_size, bp.img_size))
        done = time.perf_counter()
        trace_times.append(done - built)
        total_times.append(done - start)
        disagreements += abs(macs - space.cost(bp).macs) > 0.005 * macs
    return trace_times, total_times, disagreements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blueprints", type=int, default=5000)
    parser.add_argument("--traced", type=int, default=10)
    parser.add_argument("--img-size", type=int, default=224)
    args = parser.parse_args()

    space = gas.get_space("hiera", img_size=args.img_size)
    blueprints = sample_blueprints(space, args.blueprints)
    rates = analytic_rate(space, blueprints)
    trace_times, total_times, disagreements = traced_seconds(space, blueprints[: args.traced])
    rate = statistics.median(rates)
    per_analytic = 1.0 / rate
    report = {
        "machine": describe_machine(),
        "img_size": args.img_size,
        "blueprints": len(blueprints),
        "max_gmacs": MAX_GMACS,
        "analytic_blueprints_per_s": {"median": rate, "repeats": rates},
        "analytic_us_per_blueprint": per_analytic * 1e6,
        "traced_blueprints": len(trace_times),
        "trace_s_median": statistics.median(trace_times),
        "build_and_trace_s_median": statistics.median(total_times),
        "speedup_vs_trace": statistics.median(trace_times) / per_analytic,
        "speedup_vs_build_and_trace": statistics.median(total_times) / per_analytic,
        "macs_disagreements_over_0.5pct": disagreements,
    }
    write_report(report)


def write_report(report: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cost_speed.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Analytic cost vs fvcore tracing",
        "",
        (
            f"Machine: {machine_line(report['machine'])}. {report['blueprints']} random hiera blueprints at "
            f"{report['img_size']} px (<= {report['max_gmacs']} GMACs), {report['traced_blueprints']} of them traced."
        ),
        "",
        tabulate([
            ["analytic cost, blueprints/s (median of 5)", f"{report['analytic_blueprints_per_s']['median']:,.0f}"],
            ["analytic cost per blueprint", f"{report['analytic_us_per_blueprint']:.1f} us"],
            ["fvcore trace per blueprint (median)", f"{report['trace_s_median']:.3f} s"],
            ["build + trace per blueprint (median)", f"{report['build_and_trace_s_median']:.3f} s"],
            ["speed-up vs trace", f"{report['speedup_vs_trace']:,.0f}x"],
            ["speed-up vs build + trace", f"{report['speedup_vs_build_and_trace']:,.0f}x"],
            ["traced blueprints whose MACs differ > 0.5%", report["macs_disagreements_over_0.5pct"]],
        ], ["measure", "value"], tablefmt="github", disable_numparse=True),
    ]
    (RESULTS / "cost_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
