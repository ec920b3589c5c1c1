"""SearchConfig is the one source of the search settings: `gas search`'s flags and `gas.search()`'s
keywords are derived from it, errors name the flag, and the device option resolves as documented."""

from __future__ import annotations

import argparse
import inspect
from typing import Annotated

import pytest
from pydantic import Field

import gas
from evaluators import DEFAULT_PROXY
from gas.cli import build_parser
from gas.commands.config_options import add_config_options, given_options
from gas.config import (
    Flag,
    SearchConfig,
    config_signature,
    field_default,
    make_config,
    option_flag,
)
from gas_kernel.errors import GasError


class _Extended(SearchConfig):
    """A config with one option more, as a developer would add it."""

    warmup_trials: Annotated[int, Flag(metavar="K")] = Field(3, ge=0, description="trials before the sampler learns")


def _search_help() -> str:
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices["search"].format_help()


def test_every_field_is_a_flag_of_gas_search_and_a_keyword_of_gas_search():
    text, keywords = _search_help(), inspect.signature(gas.search).parameters
    for name, info in SearchConfig.model_fields.items():
        assert name in keywords and keywords[name].default == field_default(info)
        if Flag.of(info).cli:
            assert option_flag(name) in text, name
    assert {"runs_dir", "progress"} <= set(keywords)


def test_a_new_field_appears_in_the_cli_and_the_signature():
    parser = argparse.ArgumentParser()
    add_config_options(parser, _Extended)
    assert "--warmup-trials K" in parser.format_help() and "(default: 3)" in parser.format_help()
    assert given_options(parser.parse_args(["--warmup-trials", "5"]), _Extended) == {"warmup_trials": "5"}
    assert given_options(parser.parse_args([]), _Extended) == {}
    signature = config_signature(inspect.signature(lambda *, runs_dir=None: None), _Extended)
    assert signature.parameters["warmup_trials"].default == 3
    assert next(iter(signature.parameters)) == "runs_dir"


def test_help_shows_the_real_defaults():
    text = " ".join(_search_help().split())
    assert f"(default: {DEFAULT_PROXY})" in text  # the proxy a search really uses, not a pointer to it
    assert "--band X lowest share" in text and "(default: 0.6)" in text
    assert "--device {auto,cpu,cuda}" in text and "(default: auto)" in text
    assert make_config().proxy == DEFAULT_PROXY


def test_cli_values_reach_the_config_as_typed_values():
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    args = subparsers.choices["search"].parse_args(
        ["--budget", "flops=1G", "--budget", "params=8M", "--img-size", "32", "--space-option", "in_chans=1",
         "--cpus-per-trial", "2", "--objective", "proxy,macs"])
    config = make_config(**given_options(args))
    assert config.budgets == {"flops": 1e9, "params": 8e6}
    assert config.space_options == {"img_size": 32, "in_chans": 1}
    assert config.cpus_per_trial == 2.0 and config.objectives == ("proxy", "macs")


def test_errors_name_the_flag_not_the_field():
    with pytest.raises(GasError, match=r"^invalid --cpus-per-trial 0: Input should be greater than 0$"):
        make_config(cpus_per_trial=0)
    with pytest.raises(GasError, match=r"invalid --trial-timeout 'soon'"):
        make_config(trial_timeout="soon")
    with pytest.raises(GasError, match=r"^unknown search option 'cpu_per_trial'$"):
        make_config(cpu_per_trial=2)
    with pytest.raises(GasError, match="unknown search option"):
        gas.search(no_such_option=1)


def test_device_auto_follows_the_gpus_of_a_trial():
    assert make_config().device == "cpu"
    assert make_config(gpus_per_trial=1).device == "cuda"
    assert make_config(device="cpu", gpus_per_trial=1).device == "cpu"
    with pytest.raises(GasError, match="--device cuda needs --gpus-per-trial > 0"):
        make_config(device="cuda")
    with pytest.raises(GasError, match="invalid --device 'tpu'"):
        make_config(device="tpu")


def test_a_named_dataset_sets_the_models_input_and_classes_unless_given():
    from gas.config import make_config

    assert make_config(data="fashion-mnist").space_options == {"in_chans": 1, "img_size": 32, "num_classes": 10}
    assert make_config(data="cifar10:/data/c10", space_options={"img_size": 64}).space_options == {
        "in_chans": 3, "img_size": 64, "num_classes": 10}
    assert make_config(data="/some/imagefolder").space_options == {}
