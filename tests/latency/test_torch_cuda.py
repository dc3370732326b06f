"""The torch (CUDA-graph) backend: BN folding is exact, the shipped gpu table prices its space, and CUDA is required."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nas import build_model, get_device, get_space
from nas.latency.backends import BACKENDS, BackendError, make_backend
from nas.latency.backends.torch_cuda import fold_batchnorm, time_networks
from nas.latency.profile import _randomise_bn

CUDA = torch.cuda.is_available()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(space=st.sampled_from(["mobiledet", "mobilenet_v2", "mobiledet_cifar", "proxylessnas"]), seed=st.integers(0, 10_000))
def test_folding_batchnorm_keeps_the_output_and_leaves_no_batchnorm(space: str, seed: int) -> None:
    arch = get_space(space).random(seed)
    model = build_model(arch)
    _randomise_bn(model)
    model.eval()
    x = torch.randn(1, 3, arch.resolution, arch.resolution, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expected = model(x)
        folded = fold_batchnorm(copy.deepcopy(model))
        got = folded(x)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-4 * float(expected.abs().max()))


def test_gpu_device_uses_the_torch_backend_and_its_table_prices_mobiledet() -> None:
    device = get_device("gpu")
    assert device.backend == "torch" and "torch" in BACKENDS.names()
    table = device.load_table()
    assert table.source == "measured" and table.header["runtime"] == "pytorch-cuda" and "H100" in table.header["gpu"]
    space = get_space("mobiledet")
    latencies = [table.latency(space.random(seed)) for seed in range(20)]
    assert all(0.05 < ms < 5.0 for ms in latencies)  # an H100 at batch 1: tenths of a millisecond


@pytest.mark.skipif(CUDA, reason="CUDA is available here: the backend would run")
def test_backend_without_cuda_is_a_clear_error() -> None:
    with pytest.raises(BackendError, match="needs an NVIDIA GPU"):
        make_backend("torch", device=get_device("gpu"))


@pytest.mark.skipif(not CUDA, reason="needs an NVIDIA GPU (torch.cuda.is_available() is False)")
def test_cuda_graph_timing_of_ops_and_networks() -> None:
    from nas.latency.backends import Job
    from nas.latency.profile import space_jobs

    space = get_space("nas_bench_macro")
    ops, heads = space.ops()
    jobs: list[Job] = space_jobs(ops, heads, "fp32")[:6]
    result = make_backend("torch", device=get_device("gpu"), progress=False).measure(jobs, precision="fp32")
    assert set(result.entries) == {job.key for job in jobs}
    assert all(entry.p10_ms <= entry.median_ms <= entry.p90_ms for entry in result.entries.values())
    [small, large] = time_networks([space.random(0), space.random(1)], rounds=3, runs_per_round=5, progress=False)
    assert small.median_ms > 0 and large.median_ms > 0
