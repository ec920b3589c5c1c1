"""Objectives: the one place that decides which way a metric points and which trial is best."""

from __future__ import annotations

import pytest

from gas_kernel.errors import GasError
from gas_kernel.objectives import Objectives, parse_objectives

UP = Objectives(("proxy", "latency"), proxy_key="synflow")
DOWN = Objectives(("macs", "proxy"), proxy_key="val_loss", proxy_higher_is_better=False)


def test_directions_follow_the_proxy_and_costs_go_down():
    assert UP.keys == ("synflow", "latency_ms") and UP.directions == ["maximize", "minimize"]
    assert DOWN.keys == ("macs", "val_loss") and DOWN.directions == ["minimize", "minimize"]
    assert UP.maximises("synflow") and not UP.maximises("params") and not DOWN.maximises("val_loss")
    with pytest.raises(GasError, match="no direction is known for metric 'top5'"):
        UP.maximises("top5")


def test_best_is_the_proxy_even_when_it_is_not_the_first_objective():
    entries = [{"n": 1, "val_loss": 0.9, "macs": 1.0}, {"n": 2, "val_loss": 0.4, "macs": 9.0}]
    assert DOWN.primary_key == "val_loss"
    assert DOWN.best(entries, lambda e: e["val_loss"])["n"] == 2
    assert DOWN.best(entries, lambda e: e["macs"], key="macs")["n"] == 1
    assert UP.best([], lambda e: e) is None


def test_best_ties_go_to_the_earliest_item():
    items = [("a", 3.0), ("b", 5.0), ("c", 5.0)]
    assert UP.best(items, lambda item: item[1])[0] == "b"
    assert UP.best(items, lambda item: item[1], key="latency_ms")[0] == "a"


def test_better_and_running_best_use_the_direction():
    assert UP.better(2.0, None) and UP.better(2.0, 1.0) and not UP.better(1.0, 1.0)
    assert DOWN.better(0.3, 0.5) and DOWN.better(0.3, 0.5, key="macs") and not UP.better(0.3, 0.5, key="synflow")
    assert UP.running_best([1.0, 3.0, 2.0, 4.0]) == [1.0, 3.0, 3.0, 4.0]
    assert DOWN.running_best([1.0, 3.0, 0.5, 0.7]) == [1.0, 1.0, 0.5, 0.5]


def test_header_round_trips_through_pareto_json():
    for objectives in (UP, DOWN, Objectives(parse_objectives("proxy,params"), proxy_key="grad_norm")):
        assert Objectives.from_header(objectives.header()) == objectives
    assert UP.header() == [{"name": "synflow", "direction": "maximize"}, {"name": "latency_ms", "direction": "minimize"}]


def test_from_header_reads_plain_names_and_name_direction_strings():
    plain = Objectives.from_header(["synflow", "latency_ms"])
    assert plain.names == ("proxy", "latency") and plain.maximises("synflow")
    assert Objectives.from_header(["val_loss:minimize"]).directions == ["minimize"]
    costs_only = Objectives.from_header(["latency_ms"])
    assert costs_only.primary_key == "latency_ms" and not costs_only.maximises("latency_ms")
    with pytest.raises(GasError, match="unknown direction 'up'"):
        Objectives.from_header([{"name": "synflow", "direction": "up"}])
    with pytest.raises(GasError, match="two accuracy objectives"):
        Objectives.from_header(["synflow", "grad_norm"])
    with pytest.raises(GasError, match="no objectives"):
        Objectives.from_header([]).primary_key  # noqa: B018 - the property raises
