"""A tiny gas candidate for the `gas bench` tests (imported by them; not a test module)."""

from __future__ import annotations

import gas
from gas.benchmarking import Candidate
from search_spaces.hiera import HieraBlueprint, StageSpec


def tiny_gas_blueprint() -> HieraBlueprint:
    """32 px, two single-block stages, mask unit attention in the first: built and timed in milliseconds."""
    return HieraBlueprint(
        img_size=32, num_classes=10, patch_kernel=3, patch_stride=2, patch_padding=1, mask_unit_size=2, q_pool=1,
        stages=[StageSpec(depth=1, dim=16, heads=1, mask_unit_attn=True), StageSpec(depth=1, dim=32, heads=2)],
    )


def tiny_gas() -> Candidate:
    model = gas.get_space("hiera").build(tiny_gas_blueprint()).eval()
    return Candidate("turbovit_ref", model, (3, 32, 32), "gas preset")
