"""Ensembles: the registered weighted sum, rank averaging and the weight fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nas.proxies.ensemble import EnsembleProxy, feature, fit_weights, member, member_score, rank_average
from nas.space import get_space


def test_ensemble_is_the_weighted_sum_of_its_members() -> None:
    arch = get_space("nas_bench_macro").random(5)
    expected = sum(w * feature(term, member_score(member(term), arch, seed=2)) for term, w in EnsembleProxy.weights.items() if w)
    assert EnsembleProxy().score(arch, seed=2) == pytest.approx(expected)
    assert any(EnsembleProxy.weights.values())


def test_member_score_takes_logs_of_counts() -> None:
    arch = get_space("nas_bench_macro").random(5)
    from nas.counting import count

    assert member_score("macs", arch) == pytest.approx(math.log(count(arch).macs))


def test_rank_average() -> None:
    assert rank_average([[1, 2, 3], [30, 10, 20]]) == [2.0, 1.5, 2.5]


def test_fit_weights_finds_the_informative_member() -> None:
    rng = np.random.default_rng(0)
    truth = rng.normal(size=200)
    members = {"signal": truth * 3 + rng.normal(scale=0.3, size=200), "noise": rng.normal(size=200) * 100}
    weights = fit_weights(members, truth)
    assert weights.get("signal", 0.0) == 1.0 and weights.get("noise", 0.0) < 0.01 and weights.get("log:noise", 0.0) == 0.0


def test_fit_weights_can_choose_a_log_term() -> None:
    rng = np.random.default_rng(1)
    first, second = rng.normal(size=300), rng.normal(size=300)
    members = {"a": np.exp(2 * first), "b": np.exp(2 * second)}  # the truth adds their logarithms
    weights = fit_weights(members, first + second)
    assert set(weights) == {"log:a", "log:b"} and min(weights.values()) > 0.9
