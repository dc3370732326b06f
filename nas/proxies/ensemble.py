"""Ensembles of zero-cost proxies.

A rank ensemble (mean rank over several proxies) needs the whole population, but
a search scores one candidate per trial. ``EnsembleProxy`` is therefore the
per-candidate form: a learned combination Σ w_i · f_i(score_i) of its members,
each entering raw and/or as its logarithm. The weights are data shipped with the
library; the fit that produced them (ridge, members by 5-fold cross-validation, the
cheapest set within one standard error) is research code in
``experiments/_lib/ensemble_fit.py``, run by ``python -m experiments.proxy_correlation``
on one half of NAS-Bench-Macro, the other half held out for the reported figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from nas.arch import ArchSpec
from nas.proxies.base import Proxy, Report


class EnsembleProxy(Proxy):
    """Σ w_i · score_i over data-free members (each evaluated with the same seed, no data)."""

    name = "ensemble"
    description = "ridge combination of naswot, synflow and depth (fitted on half of NAS-Bench-Macro; data-free)"
    evidence = (
        "Spearman 0.967 on NAS-Bench-Macro's held-out half B (250 networks), the benchmark it was fitted on "
        "(experiments/results/proxy_correlation.md); outside it +0.24 against FLOPs' +0.35 on 48 equal-latency "
        "mobiledet_cifar networks with 3-epoch truth (experiments/results/band_holdout.md)"
    )
    # Fitted on half A of experiments/proxy_correlation (seed 0) by fit_ridge: members by CV, each raw and as
    # its log. Read as: expressivity (naswot) up, with diminishing returns in depth (log up, raw down), and
    # synflow (a size-like saliency) down once those are known. Only ratios matter.
    weights: ClassVar[dict[str, float]] = {
        "naswot": 0.000758,
        "log:naswot": 1.0,
        "synflow": -0.005426,
        "log:synflow": -0.079557,
        "depth": -0.021382,
        "log:depth": 0.322874,
    }

    def score(self, arch: ArchSpec, *, seed: int = 0, data: Any = None, report: Report | None = None) -> float:
        used = [term for term, weight in self.weights.items() if weight]
        scores = {name: member_score(name, arch, seed=seed) for name in dict.fromkeys(member(t) for t in used)}  # each once
        return sum(self.weights[term] * feature(term, scores[member(term)]) for term in used)

    @staticmethod
    def combine(weights: Mapping[str, float], columns: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
        """The ensemble score of every key, from precomputed member scores."""
        keys = next(iter(columns.values())).keys()
        return {k: sum(w * feature(term, columns[member(term)][k]) for term, w in weights.items() if w) for k in keys}


def member(term: str) -> str:
    """``log:naswot`` → ``naswot``."""
    return term.removeprefix("log:")


def feature(term: str, score: float) -> float:
    """A term is a member's score, raw or (``log:`` prefix) as its logarithm."""
    return math.log(max(score, 1e-9)) if term.startswith("log:") else score


def member_score(name: str, arch: ArchSpec, *, seed: int = 0) -> float:
    """A member's data-free score, on a log scale where the proxy asks for it (params, MACs)."""
    from nas.proxies import get_proxy

    proxy = get_proxy(name)
    value = proxy.score(arch, seed=seed)
    return math.log(value) if proxy.log_scale else value
