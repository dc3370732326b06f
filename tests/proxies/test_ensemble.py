"""The registered ensemble: a weighted sum of its members (the weight fit: tests/experiments/test_ensemble_fit.py)."""

from __future__ import annotations

import math

import pytest

from nas.proxies.ensemble import EnsembleProxy, feature, member, member_score
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
