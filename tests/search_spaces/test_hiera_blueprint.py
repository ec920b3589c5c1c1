"""The hiera blueprint: exact JSON round-trips, stable ids, and validation errors that name the field."""

import pytest
from pydantic import ValidationError

import gas
from gas_kernel.blueprint import Blueprint
from search_spaces.hiera import HieraBlueprint, StageSpec

SPACE = gas.get_space("hiera")


def _stage(**changes) -> dict:
    return {"depth": 1, "dim": 64, "heads": 1, "mlp_ratio": 4.0, "mask_unit_attn": True, **changes}


def _valid(**changes) -> dict:
    stages = [_stage(), _stage(dim=128, heads=2), _stage(dim=256, heads=4, mask_unit_attn=False)]
    return {"img_size": 224, "q_pool": 2, "mask_unit_size": 4, "stages": stages, **changes}


@pytest.mark.parametrize("name", SPACE.preset_names())
def test_preset_round_trips_through_json(name):
    bp = SPACE.preset(name)
    again = HieraBlueprint.model_validate_json(bp.model_dump_json())
    assert again == bp
    assert again.canonical_json() == bp.canonical_json()
    assert again.arch_id == bp.arch_id


def test_random_blueprints_round_trip_and_ids_are_distinct():
    blueprints = [SPACE.random(seed) for seed in range(50)]
    for bp in blueprints:
        assert HieraBlueprint.model_validate_json(bp.model_dump_json()) == bp
    assert len({bp.arch_id for bp in blueprints}) == 50


def test_arch_id_is_stable_across_versions():
    # A changed canonical form would orphan every cached result and stored run: keep it fixed.
    assert SPACE.preset("hiera_tiny").arch_id == "985ae7b2e60c"
    assert SPACE.preset("turbovit_ref").arch_id == "cc9bcdd2e9e0"


def test_arch_id_changes_with_any_field():
    bp = HieraBlueprint(**_valid())
    assert HieraBlueprint(**_valid(num_classes=10)).arch_id != bp.arch_id
    assert HieraBlueprint(**_valid(drop_path_rate=0.1)).arch_id != bp.arch_id


def test_blueprint_is_frozen():
    bp = HieraBlueprint(**_valid())
    with pytest.raises(ValidationError):
        bp.q_pool = 1


def test_model_kwargs_describe_the_stages():
    kwargs = SPACE.preset("turbovit_ref").model_kwargs()
    assert kwargs["embed_dims"] == (64, 128, 256, 512)
    assert kwargs["num_heads"] == (1, 2, 4, 8)
    assert kwargs["depths"] == (1, 2, 8, 2)
    assert kwargs["mask_unit_attn"] == (True, True, False, False)
    assert kwargs["q_pool"] == 3 and kwargs["mask_unit_size"] == 8


BAD_BLUEPRINTS = [
    # (what is wrong, changes to a valid blueprint, field the error must name)
    ("heads do not divide dim", {"stages": [_stage(heads=3), _stage(dim=128, heads=2)]}, ("stages", 0, "heads")),
    ("q_pool not below stage count", {"q_pool": 3}, ("q_pool",)),
    ("negative q_pool", {"q_pool": -1}, ("q_pool",)),
    ("image not a multiple of patch stride", {"img_size": 226}, ("img_size",)),
    ("grid cannot unroll stages-1 times", {"img_size": 232}, ("img_size",)),
    ("patch conv gives wrong grid", {"patch_padding": 0}, ("patch_padding",)),
    ("mask unit not a power of q_stride", {"mask_unit_size": 6}, ("mask_unit_size",)),
    ("mask unit larger than the unroll", {"mask_unit_size": 8}, ("mask_unit_size",)),
    (
        "mask unit pooled away",
        {"mask_unit_size": 2, "q_pool": 2},
        ("stages", 1, "mask_unit_attn"),
    ),
    ("zero depth", {"stages": [_stage(depth=0)]}, ("stages", 0, "depth")),
    ("no stages", {"stages": []}, ("stages",)),
    ("drop path of 1", {"drop_path_rate": 1.0}, ("drop_path_rate",)),
    ("non-positive mlp ratio", {"stages": [_stage(mlp_ratio=0.0)]}, ("stages", 0, "mlp_ratio")),
    ("unknown field", {"window": 7}, ("window",)),
]


@pytest.mark.parametrize("what,changes,field", BAD_BLUEPRINTS, ids=[case[0] for case in BAD_BLUEPRINTS])
def test_bad_blueprint_error_names_the_field(what, changes, field):
    with pytest.raises(ValidationError) as info:
        HieraBlueprint(**_valid(**changes))
    locations = [tuple(error["loc"]) for error in info.value.errors()]
    assert field in locations, f"{what}: error located at {locations}, expected {field}"


def test_stage_spec_rejects_heads_not_dividing_dim_with_reason():
    with pytest.raises(ValidationError, match="heads=3 must divide dim=64"):
        StageSpec(depth=1, dim=64, heads=3)


def test_the_hiera_blueprint_meets_the_kernel_contract():
    assert SPACE.blueprint_type is HieraBlueprint and issubclass(HieraBlueprint, Blueprint)
    assert list(HieraBlueprint.model_fields)[:3] == ["img_size", "in_chans", "num_classes"]
    assert SPACE.parse(SPACE.preset("turbovit_ref").canonical_json()) == SPACE.preset("turbovit_ref")
