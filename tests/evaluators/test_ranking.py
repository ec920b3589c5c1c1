"""Kendall tau with a bootstrap interval: the yardstick every accuracy signal is reported with."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluators.ranking import kendall_with_interval


def test_agreeing_ranks_give_tau_one_and_a_tight_interval():
    x = np.arange(20.0)
    result = kendall_with_interval(x, x**2, resamples=200)
    assert result == {"tau": 1.0, "low": pytest.approx(1.0), "high": pytest.approx(1.0), "n": 20}


def test_noisy_ranks_give_an_interval_around_tau():
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    result = kendall_with_interval(x, x + rng.normal(size=40), resamples=300)
    assert 0.2 < result["tau"] < 0.8 and result["low"] < result["tau"] < result["high"]
    assert kendall_with_interval(x, x + rng.normal(size=40), resamples=300, seed=1)["low"] != result["low"]


def test_fewer_than_four_pairs_have_no_interval():
    result = kendall_with_interval([1, 2, 3], [1, 3, 2])
    assert result["n"] == 3 and math.isnan(result["low"]) and math.isnan(result["high"])
