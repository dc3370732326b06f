"""Ensembles of zero-cost proxies.

A rank ensemble (mean rank over several proxies) needs the whole population, but
a search scores one candidate per trial. ``EnsembleProxy`` is therefore the
per-candidate form: a weighted sum of its members' (log-scale) scores, with
weights fitted by ``fit_weights`` on one half of NAS-Bench-Macro only (the other
half is held out; experiments/proxy_correlation.py). ``rank_average`` is the
population form, used by experiments and by callers that score a batch.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from nas.arch import ArchSpec
from nas.proxies.base import Proxy, Report


class EnsembleProxy(Proxy):
    """Σ w_i · score_i over data-free members (each evaluated with the same seed, no data)."""

    name = "ensemble"
    description = "weighted sum of data-free zero-cost and structural scores (weights fitted on half of NAS-Bench-Macro)"
    # Fitted on half A of experiments/proxy_correlation (seed 0) by fit_weights; only ratios matter.
    weights: ClassVar[dict[str, float]] = {"naswot": 0.2125, "synflow": 0.0442, "zen": 0.0, "macs": 0.0, "params": 0.0, "depth": 1.0}

    def score(self, arch: ArchSpec, *, seed: int = 0, data: Any = None, report: Report | None = None) -> float:
        return sum(weight * member_score(name, arch, seed=seed) for name, weight in self.weights.items() if weight)

    @staticmethod
    def combine(weights: Mapping[str, float], columns: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
        """The ensemble score of every key, from precomputed member scores."""
        keys = next(iter(columns.values())).keys()
        return {k: sum(w * columns[name][k] for name, w in weights.items()) for k in keys}


def member_score(name: str, arch: ArchSpec, *, seed: int = 0) -> float:
    """A member's data-free score, on a log scale where the proxy asks for it (params, MACs)."""
    from nas.proxies import get_proxy

    proxy = get_proxy(name)
    value = proxy.score(arch, seed=seed)
    return math.log(value) if proxy.log_scale else value


def _ranks(values: Sequence[float]) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(np.asarray(values, dtype=float))


def rank_average(columns: Sequence[Sequence[float]]) -> list[float]:
    """Mean rank of each item over several proxies (higher is better)."""
    return list(np.mean([_ranks(c) for c in columns], axis=0))


def fit_weights(members: Mapping[str, Sequence[float]], truth: Sequence[float]) -> dict[str, float]:
    """Non-negative least squares of rank(truth) on standardised member scores, mapped back to raw-score weights.

    Normalised so that the largest weight is 1 (rank correlation ignores the scale).
    """
    from scipy.optimize import nnls

    names = list(members)
    matrix = np.array([members[n] for n in names], dtype=float).T
    mean, std = matrix.mean(0), matrix.std(0) + 1e-12
    z = (matrix - mean) / std
    target = _ranks(truth)
    target = (target - target.mean()) / target.std()
    coef, _ = nnls(np.hstack([z, np.ones((len(z), 1)), -np.ones((len(z), 1))]), target)
    raw = coef[: len(names)] / std
    top = raw.max() if raw.max() > 0 else 1.0
    return {n: round(float(w / top), 4) for n, w in zip(names, raw)}
