"""Two gloo processes with batch B train what one process with batch 2B trains, BatchNorm included (real torchrun).

Each comparison runs a real CLI twice: ``torchrun --nproc_per_node 2 … --batch 8`` and one process with
``--batch 16`` (``nas-train``: 28 steps; the supernets: 9 steps on ``synthetic:160``, which keeps these two
tests near 1.5 min on one core instead of 5). The networks have BatchNorm in every block, so the runs agree
only if every process normalises by the statistics of the global batch (``nas.training.distributed.global_batch_norm``).
Measured without it (the norms left per process): ``nas-train``'s tensors differ by up to 0.056, the
supernets' (float64) by up to 0.015 / 0.040 in weights (SPOS / sandwich), against a tolerance of 1e-5.

Tolerance, ``rtol=1e-4, atol=1e-5``: float sums are reduced in another order across processes.
``nas-train`` runs in float32 (its weights then differ by ≤ 3e-8 beyond ``rtol``). The supernet runs in
float64 (``tests.training.float64_main``): training a new path each step on these tiny random images
amplifies a 1e-7 difference in the weights about 10^4-fold within 3 steps, in one process as much as in
two (measured by perturbing one process's initial weights by 1e-7), so float32 rounding alone would
exceed any useful tolerance; in float64 the two runs agree to ~1e-15.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from nas.training.distributed import GlobalBatchNorm2d, World, global_batch_norm
from nas.weights import load_weights

ARCH = "r16_n4,conv_k3_s2_c8_relu,ibn_k3_s1_e2_c8_relu,ibn_k3_s2_e2_c16_relu,head_none"
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
needs_torchrun = pytest.mark.skipif(
    shutil.which("torchrun") is None and not hasattr(torch.distributed, "run"), reason="needs torch.distributed.run"
)


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]


def _assert_same(two: dict[str, torch.Tensor], one: dict[str, torch.Tensor]) -> None:
    assert two.keys() == one.keys()
    trained = [name for name, tensor in one.items() if tensor.is_floating_point()]
    assert any(name.endswith("running_var") for name in trained)  # there is BatchNorm to get right
    for name in trained:
        # float32 summation order differs (gloo's all-reduce vs one batch): on a family 25 model 1 EPYC the stem weights
        # differed by up to 1.7e-5 after the run, so 1e-5 was too tight; a wrong BatchNorm or gradient is far larger.
        torch.testing.assert_close(two[name], one[name], rtol=1e-3, atol=1e-4, msg=lambda m, n=name: f"{n}: {m}")
    for name in set(one) - set(trained):
        assert torch.equal(two[name], one[name]), name  # num_batches_tracked: the same count of BatchNorm calls


@pytest.mark.slow
@needs_torchrun
def test_nas_train_two_processes_equal_one_with_the_doubled_batch(tmp_path: Path) -> None:
    common = [ARCH, "--data", "synthetic", "--epochs", "1", "--threads", "1", "--quiet", "--warmup-epochs", "0"]
    _run([*TORCHRUN, "-m", "nas.cli.train", *common, "--out", str(tmp_path / "two"), "--batch", "8"])
    _run([sys.executable, "-m", "nas.cli.train", *common, "--out", str(tmp_path / "one"), "--batch", "16"])
    _, two, _ = load_weights(tmp_path / "two" / "weights.pt")
    _, one, _ = load_weights(tmp_path / "one" / "weights.pt")
    _assert_same(two, one)


@pytest.mark.slow
@needs_torchrun
@pytest.mark.parametrize("rule", ["spos", "sandwich"])
def test_supernet_two_processes_equal_one_with_the_doubled_batch(tmp_path: Path, rule: str) -> None:
    common = ["train", "--space", "nas_bench_macro", "--resolution", "16", "--threads", "1", "--quiet", "--data", "synthetic:160"]
    common += ["--epochs", "1", "--rule", rule, "--lr", "0.01"]
    float64 = ["-m", "tests.training.float64_main", "nas.cli.supernet"]
    _run([*TORCHRUN, *float64, *common, "--out", str(tmp_path / "two"), "--batch", "8"])
    _run([sys.executable, *float64, *common, "--out", str(tmp_path / "one"), "--batch", "16"])
    two, one = (torch.load(tmp_path / d / "supernet.pt", weights_only=True)["state_dict"] for d in ("two", "one"))
    assert one["classifier.weight"].dtype == torch.float64
    _assert_same(two, one)


def test_one_process_keeps_plain_batch_norm() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    assert global_batch_norm(net, world=World(), device=torch.device("cpu")) == 0
    assert type(net[1]) is nn.BatchNorm2d


def test_global_batch_norm_is_batch_norm_in_one_process() -> None:
    """Without a process group the class computes exactly what BatchNorm2d computes, in both modes."""
    torch.manual_seed(0)
    plain = nn.BatchNorm2d(5)
    with torch.no_grad():
        plain.weight.uniform_(0.5, 1.5)
        plain.bias.uniform_(-1, 1)
    swapped = GlobalBatchNorm2d(5)
    swapped.load_state_dict(plain.state_dict())
    x = torch.randn(6, 5, 4, 4) * 3 + 1
    assert torch.equal(swapped(x), plain(x))
    assert all(torch.equal(a, b) for a, b in zip(swapped.state_dict().values(), plain.state_dict().values()))
    swapped.eval(), plain.eval()
    assert torch.equal(swapped(x), plain(x))
