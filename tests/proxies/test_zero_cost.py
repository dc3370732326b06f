"""Zero-cost and structural proxies: determinism, sanity on broken networks, failure → ProxyError."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nas.proxies import PROXIES, ProxyError, get_proxy
from nas.proxies.data import ImageData, synthetic_data
from nas.space import get_space

ZERO_COST = ["synflow", "naswot", "swap", "grad_norm", "snip", "zen", "zico", "ensemble"]
STRUCTURAL = ["params", "macs", "depth"]


def macro(key: str):
    space = get_space("nas_bench_macro")
    return space.arch(dict(zip(space.parameters, key)), name=f"macro-{key}")


@pytest.fixture(scope="module")
def data() -> ImageData:
    return synthetic_data(n_train=128, n_val=64, num_classes=10, size=32)


@pytest.mark.parametrize("name", ZERO_COST + STRUCTURAL)
def test_deterministic_for_a_seed(name: str, data: ImageData) -> None:
    proxy = get_proxy(name)
    arch = macro("12021100")
    first = proxy.evaluate(arch, seed=3, data=data)
    second = proxy.evaluate(arch, seed=3, data=data)
    assert math.isfinite(first.score) and first.score == second.score
    assert first.seconds > 0


@pytest.mark.parametrize("name", ["naswot", "swap", "grad_norm", "snip", "zen"])
def test_seed_changes_the_draw(name: str, data: ImageData) -> None:
    proxy, arch = get_proxy(name), macro("12021100")
    assert proxy.score(arch, seed=0, data=data) != proxy.score(arch, seed=1, data=data)


@pytest.mark.parametrize("name", ZERO_COST + STRUCTURAL)
def test_all_skip_network_ranks_below_a_real_one(name: str, data: ImageData) -> None:
    """00000000 is stem + three 1×1 projections + head: clearly worse than any real network (45 % vs 92 %)."""
    proxy = get_proxy(name)
    broken = proxy.score(macro("00000000"), seed=0, data=data)
    assert broken < proxy.score(macro("11111111"), seed=0, data=data)
    assert broken < proxy.score(macro("22222222"), seed=0, data=data)


def test_data_free_proxies_ignore_data(data: ImageData) -> None:
    arch = macro("21102220")
    for name in ("synflow", "zen", "ensemble"):
        proxy = get_proxy(name)
        assert proxy.score(arch, seed=0, data=data) == proxy.score(arch, seed=0)


def test_data_dependent_proxies_read_the_data(data: ImageData) -> None:
    arch = macro("21102220")
    for name in ("naswot", "swap", "grad_norm", "snip"):
        proxy = get_proxy(name)
        assert proxy.uses_data and proxy.score(arch, seed=0, data=data) != proxy.score(arch, seed=0)


def test_swap_counts_distinct_unit_patterns() -> None:
    """Units whose on/off vectors over the batch coincide count once; always-off units are one pattern."""
    import torch
    from torch import nn

    from nas.proxies.zero_cost import SwapProxy

    inputs = torch.tensor([[1.0, 1.0, -1.0, -1.0, 2.0], [1.0, -1.0, 1.0, -1.0, 2.0]]).reshape(2, 5, 1, 1)
    # units (channels): patterns (on,on), (on,off), (off,on), (off,off), (on,on) → 4 distinct
    assert SwapProxy().measure(nn.Sequential(nn.ReLU()), inputs, torch.zeros(2)) == pytest.approx(math.log(4))


def test_224_candidate_is_scored_at_reduced_resolution() -> None:
    arch = get_space("mobiledet").random(0)
    assert arch.resolution == 224
    proxy = get_proxy("naswot")
    images, _ = proxy.inputs(arch, size=min(arch.resolution, proxy.resolution), seed=0, data=None)
    assert images.shape[-1] == 32
    assert math.isfinite(proxy.evaluate(arch, seed=0).score)


class NanImages(ImageData):
    """Real-looking data whose batches are NaN: the loss and gradients become NaN."""

    def batch(self, n, *, seed, size=None):  # type: ignore[override]
        images, labels = super().batch(n, seed=seed, size=size)
        return images * float("nan"), labels


@pytest.mark.parametrize("name", ["grad_norm", "snip"])
def test_nan_inputs_raise_proxy_error(name: str, data: ImageData) -> None:
    poisoned = NanImages(data.name, data.train_images, data.train_labels, data.val_images, data.val_labels, data.classes)
    with pytest.raises(ProxyError, match=name):
        get_proxy(name).evaluate(macro("11111111"), seed=0, data=poisoned)


def test_nan_and_failures_become_proxy_errors() -> None:
    from nas.proxies.base import Proxy

    class NanProxy(Proxy):
        name = "nan-test"

        def score(self, arch, *, seed=0, data=None, report=None):  # type: ignore[override]
            return float("nan")

    class Broken(Proxy):
        name = "broken-test"

        def score(self, arch, *, seed=0, data=None, report=None):  # type: ignore[override]
            raise RuntimeError("mat1 and mat2 shapes cannot be multiplied\nmore")

    with pytest.raises(ProxyError, match="returned nan"):
        NanProxy().evaluate(macro("11111111"))
    with pytest.raises(ProxyError, match="shapes cannot be multiplied$"):
        Broken().evaluate(macro("11111111"))


def test_registry_and_default() -> None:
    from nas.proxies import DEFAULT_PROXY

    assert set(ZERO_COST + STRUCTURAL + ["train"]) <= set(PROXIES.names())
    default = get_proxy("default")
    assert default.name == DEFAULT_PROXY and not default.needs_data


def test_synflow_sees_through_saturating_activations() -> None:
    """ReLU6 saturates on synflow's all-positive flow; linearised, wider MobileNetV2s score higher."""
    scores = [get_proxy("synflow").score(get_space("mobilenet_v2_cifar", width=w).arch(name=f"w{w}"), seed=0) for w in (0.35, 0.5, 1.0)]
    assert scores[0] < scores[1] < scores[2] and scores[2] - scores[0] > 1.0


@settings(max_examples=40, deadline=None)
@given(key=st.text(alphabet="012", min_size=8, max_size=8))
def test_depth_counts_the_non_identity_choices(key: str) -> None:
    """A skip at a stride-2 position is a 1×1 projection, still the benchmark's identity choice."""
    assert get_proxy("depth").score(macro(key)) == sum(digit != "0" for digit in key)
