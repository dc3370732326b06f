"""The research fit of the proxy ensemble (experiments/_lib/ensemble_fit.py): rank averaging, NNLS and ridge with one-SE choice."""

from __future__ import annotations

import numpy as np

from experiments._lib.ensemble_fit import fit_ridge, fit_weights, rank_average


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


def test_fit_ridge_recovers_a_curve_of_one_member() -> None:
    """Diminishing returns (truth = log x) is fitted from x's raw and log terms; the noise member is left out."""
    rng = np.random.default_rng(2)
    x = rng.uniform(1, 20, size=300)
    members = {"x": x, "noise": rng.normal(size=300)}
    weights, choice = fit_ridge(members, np.log(x) + rng.normal(scale=0.01, size=300), max_members=2)
    assert choice["members"] == ["x"] and weights["log:x"] == 1.0 and choice["cv_spearman"] > 0.99


def test_fit_ridge_prefers_the_cheaper_set_within_one_standard_error() -> None:
    """Two members carrying the same signal (one a rescaled copy): CV scores tie, so cost decides."""
    rng = np.random.default_rng(3)
    truth = rng.normal(size=300)
    signal = truth + rng.normal(scale=0.5, size=300)
    members = {"costly": signal, "free": 3 * signal}
    _, choice = fit_ridge(members, truth, cost={"costly": 0.3}, max_members=1)
    assert choice["members"] == ["free"]
    _, choice = fit_ridge(members, truth, cost={"free": 0.3}, max_members=1)
    assert choice["members"] == ["costly"]
