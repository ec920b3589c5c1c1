"""TurboViT's comparative claims (arXiv 2308.11421) and the same ratios measured by gas.

The paper claims, against FasterViT-0 at batch 1: >3.21x lower latency, >3.18x higher throughput,
>2.47x fewer params; and >3.4x fewer FLOPs than MobileViTv2-2.0. gas checks its own exported
`turbovit` (or the `turbovit_ref` preset until a winner is exported) on the machine at hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gas.benchmarking.results import BenchResult, BenchRow
from gas.benchmarking.zoo import FASTERVIT_0, GAS_EXPORTED, MOBILEVITV2_200

__all__ = ["PAPER_CLAIMS", "Claim", "claim_ratios", "subject_name"]

REFERENCE_PRESET = "turbovit_ref"


@dataclass(frozen=True)
class Claim:
    """A ratio `measure(peer, ours)` the paper says exceeds `claimed`."""

    key: str
    description: str
    peer: str
    claimed: float
    measure: Callable[[BenchRow, BenchRow], float]


PAPER_CLAIMS: tuple[Claim, ...] = (
    Claim("latency", "lower batch-1 latency than FasterViT-0", FASTERVIT_0, 3.21,
          lambda peer, ours: peer.latency.median_ms / ours.latency.median_ms),
    Claim("throughput", "higher throughput than FasterViT-0", FASTERVIT_0, 3.18,
          lambda peer, ours: ours.throughput.throughput_per_s / peer.throughput.throughput_per_s),
    Claim("params", "fewer params than FasterViT-0", FASTERVIT_0, 2.47,
          lambda peer, ours: peer.params / ours.params),
    Claim("gmacs", "fewer GMACs than MobileViTv2-2.0", MOBILEVITV2_200, 3.4,
          lambda peer, ours: peer.macs / ours.macs),
)


def subject_name(result: BenchResult) -> str | None:
    """The gas model the claims are checked on: the exported turbovit, else turbovit_ref."""
    for name in (GAS_EXPORTED, REFERENCE_PRESET):
        if result.row(name) is not None:
            return name
    return None


def claim_ratios(result: BenchResult) -> list[dict]:
    """Each claim with the measured ratio, whether it is met, and by how much it is missed."""
    subject = subject_name(result)
    ours = result.row(subject) if subject else None
    out = []
    for claim in PAPER_CLAIMS:
        peer = result.row(claim.peer)
        entry = {"key": claim.key, "claim": claim.description, "subject": subject, "peer": claim.peer,
                 "claimed": claim.claimed, "measured": None, "met": None, "shortfall": None}
        if ours is not None and peer is not None:
            measured = claim.measure(peer, ours)
            entry.update(measured=measured, met=measured >= claim.claimed,
                         shortfall=max(0.0, 1.0 - measured / claim.claimed))
        out.append(entry)
    return out
