"""The supernet's active path equals the standalone network built with the extracted weights."""

from __future__ import annotations

from functools import cache

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from nas.arch import ArchSpec
from nas.blocks import BLOCKS, Block, Conv
from nas.blocks.layers import ConvBNAct
from nas.builder import build_model
from nas.space import SearchSpace, get_space, parse_space, space_names
from nas.supernet import Supernet, SupernetError
from nas.supernet.elastic import slice_tensor

SHIPPED = space_names()


def _randomise(module: nn.Module, seed: int) -> nn.Module:
    """Random BatchNorm affine parameters and running statistics, so that their slicing is exercised too."""
    generator = torch.Generator().manual_seed(seed)
    for sub in module.modules():
        if isinstance(sub, nn.BatchNorm2d):
            with torch.no_grad():
                sub.weight.copy_(torch.rand(sub.weight.shape, generator=generator) + 0.5)
                sub.bias.copy_(torch.randn(sub.bias.shape, generator=generator) * 0.1)
                sub.running_mean.copy_(torch.randn(sub.running_mean.shape, generator=generator) * 0.1)
                sub.running_var.copy_(torch.rand(sub.running_var.shape, generator=generator) + 0.5)
    return module


@cache
def _supernet(name: str) -> Supernet:
    torch.manual_seed(0)
    return _randomise(Supernet(space=get_space(name)), 0).eval()  # type: ignore[return-value]


def _same_output(supernet: Supernet, arch: ArchSpec, *, size: int = 32) -> None:
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    standalone = build_model(arch)
    standalone.load_state_dict(supernet.extract_state(arch), strict=True)
    standalone.eval()
    with torch.no_grad():
        expected = standalone(x)
        active = supernet(x, arch)
        extracted = supernet.extract(arch).eval()(x)
    torch.testing.assert_close(active, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(extracted, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**31 - 1))
def test_active_path_equals_standalone_network_for_random_architectures(name: str, seed: int) -> None:
    # fully convolutional: 32-px inputs exercise every weight of the 224-px spaces at a fraction of the cost
    supernet = _supernet(name)
    _same_output(supernet, supernet.space.random(seed))


@pytest.mark.parametrize("name", ["nas_bench_macro", "mobiledet_cifar"])
def test_largest_and_smallest_choices_are_exact(name: str) -> None:
    from nas.supernet.sampling import extreme_arch

    supernet = _supernet(name)
    for largest in (True, False):
        _same_output(supernet, extreme_arch(supernet.space, largest=largest))


def test_smaller_choices_are_slices_of_the_largest() -> None:
    """Kernels from the centre, channels from the first ones: a k3 e3 ibn reads the k5 e6 ibn's weights."""
    supernet = _supernet("nas_bench_macro")
    layer = supernet.layers["s1_b2"]
    choice = next(c for c in layer.choices if c.spec.kernel == 3)
    big = dict(layer.shared["ibn"].named_parameters())
    small = layer.tensors(choice)
    depthwise = next(name for name, t in small.items() if t.dim() == 4 and t.shape[1] == 1)
    torch.testing.assert_close(small[depthwise], big[depthwise][: small[depthwise].shape[0], :, 1:4, 1:4])
    assert slice_tensor(torch.zeros(8, 8, 5, 5), (4, 4, 3, 3)) is not None
    assert slice_tensor(torch.zeros(8, 8, 5, 5), (4, 4, 2, 2)) is None  # no centre for an even kernel
    assert slice_tensor(torch.zeros(8, 8, 3, 3), (16, 8, 3, 3)) is None


def test_training_reaches_the_shared_weights_and_running_statistics() -> None:
    torch.manual_seed(0)
    supernet = Supernet(space=get_space("nas_bench_macro")).train()
    arch = supernet.space.random(3)
    before = {name: tensor.clone() for name, tensor in supernet.state_dict().items()}
    supernet(torch.randn(4, 3, 32, 32), arch).sum().backward()
    changed = [name for name, tensor in supernet.state_dict().items() if not torch.equal(before[name], tensor)]
    assert any("running_mean" in name for name in changed)
    with_grad = [name for name, p in supernet.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0]
    assert "classifier.weight" in with_grad and any(name.startswith("layers.") for name in with_grad)


def test_an_architecture_outside_the_space_is_refused_with_one_line() -> None:
    supernet = _supernet("nas_bench_macro")
    other = get_space("mobilenet_v2_cifar").arch()
    with pytest.raises(SupernetError, match="not in the supernet's space 'nas_bench_macro'") as caught:
        supernet(torch.randn(1, 3, 32, 32), other)
    assert "\n" not in str(caught.value)
    with pytest.raises(SupernetError, match="no active architecture"):
        supernet(torch.randn(1, 3, 32, 32))


class _DoubleConv(Block):
    """A plugin block without slicing support: two k×k convs."""

    name = "test_double_conv"
    description = "two regular convs (test plugin)"

    def module(self, spec, *, in_channels):  # type: ignore[no-untyped-def]
        return nn.Sequential(
            ConvBNAct(in_channels=in_channels, out_channels=spec.out, kernel=spec.kernel, stride=spec.stride, act=spec.act),
            ConvBNAct(in_channels=spec.out, out_channels=spec.out, kernel=spec.kernel, act=spec.act),
        )

    def convs(self, spec, *, in_channels):  # type: ignore[no-untyped-def]
        return [Conv(in_channels, spec.out, spec.kernel, spec.stride), Conv(spec.out, spec.out, spec.kernel)]


def _plugin_space() -> SearchSpace:
    if "test_double_conv" not in BLOCKS:
        BLOCKS.register("test_double_conv", _DoubleConv)
    data = {
        "name": "plugin_test",
        "resolution": 16,
        "num_classes": 5,
        "stem": {"type": "conv", "out": [8, 16], "kernel": 3, "stride": 1},  # width choices for stem and head too
        "head": {"out": [24, 32], "scaling": "none"},
        "stages": [
            {
                "out": [8, 16],
                "stride": 2,
                "layers": [1, 2],
                "block": {"type": ["test_double_conv", "ibn"], "kernel": [3, 5], "expansion": [2, 4]},
            },
            {"out": 24, "stride": 1, "layers": [1, 2], "block": {"type": ["test_double_conv", "skip", "tucker"], "kernel": 3}},
        ],
    }
    return SearchSpace(definition=parse_space(data, source="plugin_test"))


def test_a_plugin_block_without_slicing_keeps_its_own_weights_per_choice_and_stays_exact() -> None:
    torch.manual_seed(0)
    space = _plugin_space()
    supernet = _randomise(Supernet(space=space), 1).eval()
    assert isinstance(supernet, Supernet)
    unshared = supernet.unshared
    assert unshared and all("test_double_conv" in item for items in unshared.values() for item in items)
    assert not any(key.startswith("test_double_conv") for layer in supernet.layers.values() for key in layer.shared)
    seen: set[tuple[int, int, int]] = set()
    for seed in range(12):  # depth choices: stages of 1 or 2 layers, found again from the flat block list
        arch = space.random(seed)
        assert arch.head is not None
        seen.add((len(arch.blocks), arch.stem.out, arch.head.out))
        _same_output(supernet, arch, size=16)
    assert len({depth for depth, _, _ in seen}) > 1 and len({stem for _, stem, _ in seen}) == 2 and len({head for _, _, head in seen}) == 2
    assert (
        {"conv"} == set(supernet.stem.shared) and supernet.head is not None and {"conv"} == set(supernet.head.shared)
    )  # shared by slicing
