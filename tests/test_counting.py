"""Analytic counts against the papers and NAS-Bench-Macro."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from nas.builder import build_model
from nas.counting import count
from nas.space import get_space
from tests.conftest import shared_file


def _within(value: float, expected: float, tolerance: float = 0.01) -> bool:
    return abs(value - expected) <= tolerance * expected


@pytest.mark.parametrize(("width", "macs_m", "params_m"), [(1.0, 569, 4.2), (0.75, 325, 2.6), (0.5, 149, 1.3), (0.25, 41, 0.5)])
def test_mobilenet_v1_width(width: float, macs_m: float, params_m: float) -> None:
    report = count(get_space("mobilenet_v1", width=width).arch())
    assert _within(report.macs / 1e6, macs_m)
    assert round(report.params / 1e6, 1) == params_m  # the paper rounds to 0.1 M


@pytest.mark.parametrize(("resolution", "macs_m"), [(192, 418), (160, 290), (128, 186)])
def test_mobilenet_v1_resolution(resolution: int, macs_m: float) -> None:
    assert _within(count(get_space("mobilenet_v1", resolution=resolution).arch()).macs / 1e6, macs_m)


def test_full_convolution_mobilenet_and_pointwise_share() -> None:
    arch = get_space("mobilenet_v1").arch()
    full = replace(arch, blocks=tuple(replace(block, type="conv") for block in arch.blocks))
    report = count(full)
    assert _within(report.macs / 1e6, 4866) and _within(report.params / 1e6, 29.3)
    assert count(arch).share_by_kind()["conv1x1"] == pytest.approx(0.949, abs=0.001)  # paper Table 2: 94.86 %


def test_mobilenet_v2_matches_reference_implementation() -> None:
    assert count(get_space("mobilenet_v2").arch()).params == 3_504_872
    assert _within(count(get_space("mobilenet_v2").arch()).macs / 1e6, 300)
    assert count(get_space("mobilenet_v2", width=0.5).arch()).params == 1_968_680


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v2"])
def test_analytic_params_equal_module(name: str) -> None:
    arch = get_space(name, width=0.75).arch()
    assert count(arch).params == sum(p.numel() for p in build_model(arch).parameters())


def test_every_nas_bench_macro_key_matches_the_benchmark() -> None:
    data = json.loads(shared_file("nas-bench-macro", "nas-bench-macro_cifar10.json").read_text())
    space = get_space("nas_bench_macro")
    names = list(space.parameters)
    assert len(data) == 6561
    mismatches = []
    for key, value in data.items():
        report = count(space.arch(dict(zip(names, key))))
        if (report.params, report.macs) != (value["params"], value["flops"]):
            mismatches.append(key)
    assert not mismatches, f"{len(mismatches)} keys differ, e.g. {mismatches[:3]}"
