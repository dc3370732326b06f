"""Fitting proxy ensembles (research code, moved out of ``nas.proxies.ensemble``).

- ``fit_ridge`` (produced ``EnsembleProxy.weights``): members chosen by 5-fold cross-validation,
  each entering raw *and* as its logarithm (a curve, e.g. diminishing returns of depth), ridge
  weights of either sign; among the member sets whose CV score is within one standard error of
  the best, the cheapest to evaluate wins.
- ``fit_weights``: single terms chosen by CV, non-negative (or signed) least squares.
- ``rank_average``: the population form (mean rank), which a per-trial search cannot use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from nas.proxies.ensemble import feature, member


def _ranks(values: Sequence[float]) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(np.asarray(values, dtype=float))


def rank_average(columns: Sequence[Sequence[float]]) -> list[float]:
    """Mean rank of each item over several proxies (higher is better)."""
    return list(np.mean([_ranks(c) for c in columns], axis=0))


def _signed_fit(matrix: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Least-squares weights (any sign, on raw features) with a free intercept."""
    design = np.hstack([matrix, np.ones((len(matrix), 1))])
    coef, *_ = np.linalg.lstsq(design, truth, rcond=None)
    return coef[: matrix.shape[1]]


def _nnls_fit(matrix: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Non-negative weights (on raw features) of the least-squares fit of ``truth`` with a free intercept."""
    from scipy.optimize import nnls

    mean, std = matrix.mean(0), matrix.std(0) + 1e-12
    z = (matrix - mean) / std
    coef, _ = nnls(np.hstack([z, np.ones((len(z), 1)), -np.ones((len(z), 1))]), truth - truth.mean())
    return coef[: matrix.shape[1]] / std


def fit_weights(
    members: Mapping[str, Sequence[float]], truth: Sequence[float], *, max_members: int = 3, folds: int = 5, signed: bool = False
) -> dict[str, float]:
    """Choose ≤ ``max_members`` terms by k-fold cross-validated Spearman, then fit their weights on all given data.

    Only the data passed in is used (the caller passes the fitting half), so the
    held-out half stays out of both the choice of members and the weights.
    Weights are normalised so that the largest magnitude is 1 (rank correlation ignores scale).
    ``signed`` allows negative weights (plain least squares): a member may then count
    against a network, e.g. size once expressivity is accounted for.
    """
    from scipy.stats import spearmanr

    fit = _signed_fit if signed else _nnls_fit
    names = [term for n in members for term in (n, f"log:{n}")]
    features = np.array([[feature(t, v) for v in members[member(t)]] for t in names], dtype=float).T
    target = np.asarray(truth, dtype=float)
    order = np.random.default_rng(0).permutation(len(target))
    parts = np.array_split(order, folds)
    best: tuple[float, tuple[int, ...]] = (-2.0, (0,))
    for size in range(1, max_members + 1):
        for combo in combinations(range(len(names)), size):
            scores = []
            for k in range(folds):
                test = parts[k]
                train = np.concatenate([parts[j] for j in range(folds) if j != k])
                weights = fit(features[np.ix_(train, combo)], target[train])
                prediction = features[np.ix_(test, combo)] @ weights
                scores.append(spearmanr(prediction, target[test])[0] if np.ptp(prediction) > 0 else -1.0)
            mean = float(np.nanmean(scores))
            if mean > best[0]:
                best = (mean, combo)
    weights = fit(features[:, best[1]], target)
    top = np.abs(weights).max() or 1.0
    return {names[i]: round(float(w / top), 4) for i, w in zip(best[1], weights)}


RIDGE_PENALTIES = (0.01, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0)


def _terms(members: Mapping[str, Sequence[float]], names: Sequence[str]) -> list[str]:
    """Each member raw and, where all its values are positive, as its logarithm."""
    return [t for n in names for t in (n, f"log:{n}") if not t.startswith("log:") or min(members[n]) > 0]


def _ridge(matrix: np.ndarray, truth: np.ndarray, penalty: float) -> np.ndarray:
    """Ridge weights in the features' own units (standardised for the penalty; intercept free)."""
    mean, std = matrix.mean(0), matrix.std(0) + 1e-12
    z = (matrix - mean) / std
    coef = np.linalg.solve(z.T @ z + penalty * np.eye(z.shape[1]), z.T @ (truth - truth.mean()))
    return coef / std


def fit_ridge(
    members: Mapping[str, Sequence[float]],
    truth: Sequence[float],
    *,
    cost: Mapping[str, float] | None = None,
    max_members: int = 4,
    folds: int = 5,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Member set and ridge weights by k-fold CV on the data given; one-standard-error rule towards the cheapest set.

    Returns the weights (largest magnitude 1) and what was chosen: the members, the
    penalty, its CV Spearman and standard error, and the best set's, for the record.
    ``cost`` (seconds per member; missing = free) breaks ties inside one standard error.
    """
    from scipy.stats import spearmanr

    target = np.asarray(truth, dtype=float)
    parts = np.array_split(np.random.default_rng(0).permutation(len(target)), folds)
    tried = []
    for size in range(1, max_members + 1):
        for names in combinations(members, size):
            terms = _terms(members, names)
            matrix = np.array([[feature(t, v) for v in members[member(t)]] for t in terms], dtype=float).T
            for penalty in RIDGE_PENALTIES:
                scores = []
                for k in range(folds):
                    train = np.concatenate([parts[j] for j in range(folds) if j != k])
                    prediction = matrix[parts[k]] @ _ridge(matrix[train], target[train], penalty)
                    scores.append(spearmanr(prediction, target[parts[k]])[0] if np.ptp(prediction) > 0 else -1.0)
                tried.append((float(np.mean(scores)), float(np.std(scores, ddof=1) / np.sqrt(folds)), names, penalty, terms, matrix))
    best = max(tried, key=lambda t: t[0])
    price = cost or {}
    close = [t for t in tried if t[0] >= best[0] - best[1]]
    chosen = min(close, key=lambda t: (sum(price.get(n, 0.0) for n in t[2]), len(t[2]), -t[0]))
    mean, se, names, penalty, terms, matrix = chosen
    weights = _ridge(matrix, target, penalty)
    top = np.abs(weights).max() or 1.0
    record = {
        "members": list(names),
        "penalty": penalty,
        "cv_spearman": mean,
        "cv_se": se,
        "best": {"members": list(best[2]), "penalty": best[3], "cv_spearman": best[0], "cv_se": best[1]},
    }
    return {t: round(float(w / top), 6) for t, w in zip(terms, weights)}, record
