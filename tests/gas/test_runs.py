"""Run directories: names, creation, atomic views, and reading them back."""

from __future__ import annotations

import re

import pytest

from gas.runs import (
    check_run_name,
    create_run,
    list_runs,
    load_config,
    load_pareto,
    new_run_name,
    open_storage,
    resolve_run,
    write_config,
    write_pareto,
)
from gas_kernel.errors import GasError
from search_spaces import get_space


def test_generated_names_carry_space_budgets_and_time_and_never_collide(tmp_path):
    first = new_run_name("hiera", {"flops": "1G"}, tmp_path)
    assert re.fullmatch(r"hiera-flops1G-\d{8}-\d{4}", first)
    create_run(first, tmp_path)
    assert new_run_name("hiera", {"flops": "1G"}, tmp_path) == f"{first}-2"
    assert "throughput500s" in new_run_name("hiera", {"throughput": "500/s"}, tmp_path)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "-x", "x" * 200, "sp ace"])
def test_bad_run_names_are_refused(name):
    with pytest.raises(GasError, match="invalid run name"):
        check_run_name(name)


def test_create_refuses_an_existing_run(tmp_path):
    create_run("r1", tmp_path)
    with pytest.raises(GasError, match="already exists"):
        create_run("r1", tmp_path)


def test_pareto_round_trip_and_listing(tmp_path):
    run = create_run("r1", tmp_path)
    write_config(run, {"space": "hiera", "budgets": {"flops": 1e9}})
    blueprint = get_space("hiera", img_size=32, num_classes=10).random(0)
    entry = {"number": 3, "arch_id": blueprint.arch_id, "blueprint": blueprint.model_dump(mode="json"),
             "metrics": {"synflow": 1.5, "macs": 1e6}, "extra": "dropped"}
    write_pareto(run, [{"name": "synflow", "direction": "maximize"}], {"flops": 1e9}, [entry])
    header, entries = load_pareto(run)
    assert header == {"objectives": [{"name": "synflow", "direction": "maximize"}], "budgets": {"flops": 1e9}}
    assert entries[0].blueprint == blueprint and entries[0].metrics["synflow"] == 1.5
    assert "extra" not in entries[0]
    assert load_config(run)["space"] == "hiera"
    assert [p.name for p in list_runs(tmp_path)] == ["r1"] and resolve_run(None, tmp_path) == run


def test_sqlite_storage_uses_wal(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'study.db'}")
    with storage.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
