"""Short-training proxy: learns, reports intermediate accuracies, can be pruned."""

from __future__ import annotations

import pytest

from nas.arch import ArchSpec
from nas.proxies import ProxyError, ProxyPruned, get_proxy
from nas.proxies.data import synthetic_data
from nas.proxies.train import TrainProxy

SMALL = "r16_n10,conv_k3_s1_c8_relu,ibn_k3_s2_e2_c16_relu,ibn_k3_s2_e2_c16_relu,head_none"


@pytest.fixture(scope="module")
def data():
    return synthetic_data(n_train=256, n_val=128, num_classes=4, size=16)


def test_trains_and_reports_intermediate_accuracies(data) -> None:
    reports: list[tuple[int, float]] = []
    proxy = TrainProxy(steps=30, batch_size=32, eval_every=10, val_size=128, device="cpu")
    result = proxy.evaluate(ArchSpec.from_string(SMALL), seed=0, data=data, report=lambda s, a: reports.append((s, a)) or False)
    assert [s for s, _ in reports] == [10, 20, 30]
    assert result.score == reports[-1][1]
    assert result.score > 0.6  # 4 classes: chance is 0.25; the synthetic classes are easy
    again = proxy.evaluate(ArchSpec.from_string(SMALL), seed=0, data=data)
    assert again.score == result.score


def test_report_can_prune(data) -> None:
    proxy = TrainProxy(steps=30, batch_size=32, eval_every=10, val_size=64, device="cpu")
    seen: list[int] = []

    def report(step: int, accuracy: float) -> bool:
        seen.append(step)
        return step >= 20

    with pytest.raises(ProxyPruned) as info:
        proxy.evaluate(ArchSpec.from_string(SMALL), seed=0, data=data, report=report)
    assert info.value.step == 20 and seen == [10, 20]


def test_needs_data() -> None:
    proxy = get_proxy("train")
    assert proxy.needs_data
    with pytest.raises(ProxyError, match="needs a data set"):
        proxy.evaluate(ArchSpec.from_string(SMALL), seed=0)


def test_bad_budget() -> None:
    with pytest.raises(ProxyError):
        TrainProxy(steps=0)
