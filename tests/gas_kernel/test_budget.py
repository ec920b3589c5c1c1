"""Budgets: parsing with SI/time suffixes, clear errors, reachability and relative violations."""

from __future__ import annotations

import pytest

from gas_kernel.budget import Budgets, format_budget, parse_budgets
from gas_kernel.cost import Cost
from gas_kernel.errors import GasError
from search_spaces import get_space


def test_parse_all_kinds_and_comma_separated():
    budgets = parse_budgets(["flops=1G", "params=8M,latency=20ms", "throughput=500/s"])
    assert budgets == {"flops": 1e9, "params": 8e6, "latency": 20.0, "throughput": 500.0}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("flops=2.5e9", 2.5e9), ("flops=500K", 5e5), ("flops=1.5g", 1.5e9), ("latency=500us", 0.5),
     ("latency=0.02s", 20.0), ("throughput=1K/s", 1000.0), ("params=1T", 1e12)],
)
def test_parse_suffixes(spec, expected):
    name = spec.split("=")[0]
    assert parse_budgets([spec])[name] == pytest.approx(expected)


def test_mapping_accepts_numbers_and_strings():
    assert parse_budgets({"flops": 1e9, "latency": "5ms"}) == {"flops": 1e9, "latency": 5.0}


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [("flops", "malformed budget 'flops'"), ("flops=1X", "malformed budget value"), ("gpu=1", "unknown budget"),
     ("latency=20", "a time such as"), ("flops=0", "positive"), ("flops=1G,flops=2G", "given twice"),
     ("=1G", "malformed budget"), ("", "empty budget ''"), (" ,", "empty budget ' ,'")],
)
def test_malformed_budgets_name_the_problem(spec, fragment):
    with pytest.raises(GasError, match=fragment):
        parse_budgets([spec])


def test_format_round_trips_common_values():
    assert [format_budget("flops", 1e9), format_budget("params", 8e6), format_budget("latency", 20.0),
            format_budget("throughput", 500.0)] == ["1G", "8M", "20ms", "500/s"]


def test_budget_below_smallest_blueprint_is_impossible():
    space = get_space("hiera", img_size=32, num_classes=10)
    floor = space.min_cost()
    Budgets({"flops": floor.macs}).check_reachable(space)  # exactly reachable: fine
    with pytest.raises(GasError, match="impossible: the smallest hiera blueprint needs"):
        Budgets({"flops": floor.macs * 0.9}).check_reachable(space)
    with pytest.raises(GasError, match="params"):
        Budgets({"params": floor.params - 1}).check_reachable(space)


def test_min_cost_is_a_lower_bound_of_random_samples():
    space = get_space("hiera", img_size=32, num_classes=10)
    floor = space.min_cost()
    costs = [space.cost(space.random(seed)) for seed in range(300)]
    assert min(c.macs for c in costs) >= floor.macs
    assert min(c.params for c in costs) >= floor.params


def test_usage_and_violations_are_relative_to_each_limit():
    budgets = Budgets({"flops": 1e9, "params": 4e6, "latency": 10.0, "throughput": 100.0})
    cost = Cost(params=2_000_000, macs=1_500_000_000)
    assert budgets.usage(cost) == pytest.approx(1.5)
    assert budgets.analytic_violations(cost) == pytest.approx({"flops": 0.5, "params": -0.5})
    measured = budgets.measured_violations({"latency_ms": 5.0, "throughput_per_s": 50.0})
    assert measured == pytest.approx({"latency": -0.5, "throughput": 0.5})
