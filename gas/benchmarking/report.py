"""A benchmark result as a markdown report and a JSON file a program can read back."""

from __future__ import annotations

import json
from pathlib import Path

from tabulate import tabulate

from evaluators.machine import machine_line
from gas.benchmarking.claims import claim_ratios
from gas.benchmarking.results import BenchResult, BenchRow

__all__ = ["TABLE_COLUMNS", "markdown_report", "markdown_table", "write_report"]

TABLE_COLUMNS = (
    "model", "res", "params (M)", "GMACs", "latency b{lb} (ms, IQR)", "throughput b{tb} (img/s, IQR)",
    "peak mem (MB)", "GFLOP/s b{lb} (% peak)", "GFLOP/s b{tb} (% peak)", "top-1 (%)",
)


def markdown_table(result: BenchResult) -> list[str]:
    """The side-by-side table, fastest batch-1 latency first."""
    if not result.rows:
        return ["(no models measured)"]
    first = result.rows[0]
    header = [c.format(lb=first.latency.batch_size, tb=first.throughput.batch_size) for c in TABLE_COLUMNS]
    rows = [_cells(row) for row in sorted(result.rows, key=lambda r: r.latency.median_ms)]
    return tabulate(rows, header, tablefmt="github", disable_numparse=True).splitlines()


def _cells(row: BenchRow) -> list[str]:
    memory = "n/a" if row.peak_memory_mb is None else f"{row.peak_memory_mb:.0f}"
    top1 = f"{row.top1:.1f}" if row.top1 is not None else row.top1_source
    name = f"**{row.name}**" if row.origin.startswith("gas") else row.name
    return [
        name + (f" ({row.note})" if row.note else ""),
        str(row.resolution),
        f"{row.mparams:.2f}",
        f"{row.gmacs:.3f}",
        f"{row.latency.median_ms:.2f} ({row.latency.iqr_ms:.2f})",
        f"{row.throughput.throughput_per_s:.1f} ({row.throughput.throughput_iqr_per_s:.1f})",
        memory,
        f"{row.achieved_gflops_latency:.1f} ({100 * row.peak_fraction_latency:.0f}%)",
        f"{row.achieved_gflops_throughput:.1f} ({100 * row.peak_fraction_throughput:.0f}%)",
        top1,
    ]


def _claims_section(result: BenchResult) -> list[str]:
    claims = claim_ratios(result)
    subject = claims[0]["subject"] if claims else None
    lines = ["## Against the paper's claims", ""]
    if subject is None:
        return lines + ["No gas TurboViT model was measured."]
    rows = [[c["claim"], c["peer"], f">{c['claimed']}x", *_verdict(c)] for c in claims]
    table = tabulate(rows, ["claim", "peer", "paper", "measured", "verdict"], tablefmt="github", disable_numparse=True)
    return [*lines, f"Subject: `{subject}`.", "", table]


def _verdict(claim: dict) -> tuple[str, str]:
    """(measured ratio, verdict) cells of one paper claim."""
    if claim["measured"] is None:
        return "n/a", f"{claim['peer']} not measured"
    if claim["met"]:
        return f"{claim['measured']:.2f}x", "met"
    shortfall = f"missed by {100 * claim['shortfall']:.0f}% ({claim['measured']:.2f}x of {claim['claimed']}x)"
    return f"{claim['measured']:.2f}x", shortfall


def _load(result: BenchResult) -> str:
    values = result.machine.get("load_average") or [None, None]
    return " / ".join("n/a" if v is None else f"{v:.2f}" for v in values)


def _malloc(result: BenchResult) -> str:
    """The allocator clause of the machine line: only when it is not glibc's default (gas.benchmarking.allocator)."""
    if result.machine.get("malloc") != "retain":
        return ""
    return ", glibc malloc retaining freed memory (MALLOC_MMAP_MAX_=0, no page faults on reused activations)"


def _sources(result: BenchResult) -> list[str]:
    lines = ["## Top-1 sources (published ImageNet-1k figures, not measured here)", ""]
    return lines + [f"- {row.name}: {row.top1_source}" for row in result.rows]


def markdown_report(result: BenchResult, title: str, extra: list[str] | None = None) -> str:
    """Title, machine, conventions, table, claims, skipped models, sources, plus `extra` sections."""
    machine = (f"Machine: {machine_line(result.machine)}. Device {result.device}, {result.dtype}, "
               f"{result.threads} threads{_malloc(result)}; {result.rounds} interleaved rounds; {result.seconds:.0f} s.")
    spread = ", ".join(f"{g:.0f}" for g in result.matmul_peak_samples)
    peak = (f"Matmul peak: {result.matmul_peak_gflops:.1f} GFLOP/s (best of {spread}). 1-min load average at start/end: "
            f"{_load(result)} (above the thread count means other processes shared the cores).")
    lines = [f"# {title}", "", machine, peak, "", "Conventions:"]
    lines += [f"- {key}: {text}" for key, text in result.conventions.items()]
    lines += ["", *markdown_table(result), "", *_claims_section(result), ""]
    if result.unavailable:
        lines += ["## Not measured", ""] + [f"- {u['name']}: {u['reason']}" for u in result.unavailable] + [""]
    lines += [*(extra or []), *_sources(result)]
    return "\n".join(lines) + "\n"


def write_report(
    result: BenchResult, out_dir: Path, stem: str, title: str, extra: list[str] | None = None, data: dict | None = None
) -> tuple[Path, Path]:
    """Write `<stem>.md` and `<stem>.json` (result, claims and `data`) into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = result.to_dict() | {"claims": claim_ratios(result)} | (data or {})
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    md_path.write_text(markdown_report(result, title, extra))
    return md_path, json_path
