"""The hiera space: registry, sampling (random, Optuna, frozen params), presets, options."""

import optuna
import pytest

import gas
from gas_kernel.errors import GasError
from search_spaces.base import RandomTrial


def test_unknown_space_lists_the_known_ones():
    with pytest.raises(KeyError, match="known spaces: hiera"):
        gas.get_space("resnet")


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(KeyError, match="hiera_tiny"):
        gas.get_space("hiera").preset("hiera_mega")


def test_random_is_deterministic_per_seed_and_varied_across_seeds():
    space = gas.get_space("hiera")
    assert space.random(7) == space.random(7)
    ids = {space.random(seed).arch_id for seed in range(200)}
    assert len(ids) == 200
    stage_counts = {space.random(seed).num_stages for seed in range(200)}
    assert stage_counts == {2, 3, 4, 5}


@pytest.mark.parametrize("img_size", [32, 64, 96, 224, 256])
def test_every_sample_is_valid_at_common_resolutions(img_size):
    space = gas.get_space("hiera", img_size=img_size, num_classes=10)
    for seed in range(300):
        bp = space.random(seed)  # validation happens in the Blueprint constructor
        assert bp.img_size == img_size and bp.num_classes == 10


def test_optuna_trials_drive_the_same_sampler_and_freeze_reproduces_them():
    space = gas.get_space("hiera", img_size=64, num_classes=10)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=5))
    for _ in range(15):
        trial = study.ask()
        bp = space.sample(trial)
        study.tell(trial, float(space.cost(bp).macs))
        assert space.freeze(trial.params) == bp


def test_random_trial_records_its_params_for_freeze():
    space = gas.get_space("hiera")
    trial = RandomTrial(3)
    bp = space.sample(trial)
    assert space.freeze(trial.params) == bp
    assert trial.params["num_stages"] == bp.num_stages


def test_width_scale_moves_cost_monotonically():
    space = gas.get_space("hiera")
    structure = space.sample_structure(RandomTrial(0))
    costs = [space.cost(space.with_width(structure, width)).macs for width in range(32, 193, 16)]
    assert costs == sorted(costs) and costs[0] < costs[-1]


def test_presets_follow_the_space_options():
    space = gas.get_space("hiera", img_size=64, num_classes=10)
    bp = space.preset("turbovit_ref")
    assert (bp.img_size, bp.num_classes) == (64, 10)
    assert space.cost(bp).params < gas.get_space("hiera").cost(gas.get_space("hiera").preset("turbovit_ref")).params


def test_space_without_any_valid_network_is_a_user_error():
    with pytest.raises(GasError, match="img_size=30"):
        gas.get_space("hiera", img_size=30)


def test_sampled_mask_unit_attention_always_mixes_several_tokens():
    # A mask unit pooled down to one token would make attention see only the token itself.
    space = gas.get_space("hiera")
    for seed in range(300):
        bp = space.random(seed)
        for index, stage in enumerate(bp.stages):
            if stage.mask_unit_attn:
                tokens_per_side = bp.mask_unit_size // bp.q_stride ** bp.pools_before(index)
                assert tokens_per_side >= 2, (seed, bp.describe())
