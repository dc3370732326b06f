"""Proxy ``supernet``: inherited weights, BN recalibrated, top-1 on the validation split of the training images."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from nas.errors import NasError
from nas.proxies import ProxyError, get_proxy
from nas.proxies.data import holdout, synthetic_data
from nas.space import get_space
from nas.supernet import Supernet, SupernetError
from nas.supernet.calibrate import recalibrate_bn
from nas.supernet.checkpoint import save_supernet

SPACE = "nas_bench_macro"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An (untrained) supernet for the CLI's ``--data synthetic`` (512 training images, 4 classes)."""
    torch.manual_seed(0)
    data = synthetic_data()
    supernet = Supernet(space=get_space(SPACE).scaled(num_classes=data.num_classes))
    out = tmp_path_factory.mktemp("supernet")
    save_supernet(out, supernet=supernet, data=data, validation={"fraction": 0.25, "seed": 3}, sampling={"rule": "spos"}, training={})
    return out


def test_score_is_top1_on_the_held_out_training_images_after_recalibration(folder: Path) -> None:
    data = synthetic_data()
    proxy = get_proxy("supernet", supernet=str(folder))
    proxy.prepare(space=get_space(SPACE), data=data)
    from nas.supernet.checkpoint import load_supernet

    supernet, _ = load_supernet(folder)
    split = holdout(data, fraction=0.25, seed=3)
    for arch in (get_space(SPACE).random(k) for k in (5, 6, 7)):
        score = proxy.evaluate(arch, seed=7, data=data).score
        # the same computation by hand, without the proxy's BatchNorm folding: the split the file names, the same seeded images
        rng = np.random.default_rng(7)
        size = min(proxy.calibration_batches * proxy.batch_size, len(split.train_images))
        picks = np.sort(rng.choice(len(split.train_images), size=size, replace=False))
        calibration = torch.split(split.tensors(split.train_images[picks], size=32), proxy.batch_size)
        val = np.sort(rng.choice(len(split.val_images), size=min(proxy.val_size, len(split.val_images)), replace=False))
        network = recalibrate_bn(supernet.extract(replace(arch, num_classes=4)), calibration)
        with torch.no_grad():
            predicted = network(split.tensors(split.val_images[val], size=32)).argmax(1).numpy()
        # the proxy folds BatchNorm into the convs (float rounding ~1e-6 of the logits): one prediction may flip where
        # two logits tie within it; this untrained supernet's logits lie ~0.01 apart, and one of its 3 × 128 flips
        assert abs(score - float((predicted == split.val_labels[val]).mean())) <= 1 / len(val) + 1e-9
    assert len(split.val_images) == 128 and len(data.val_images) == 256  # scored on training images, not the test split
    assert proxy.evaluate(arch, seed=7, data=data).score == score  # deterministic for a seed


def test_rescore_is_the_score_on_the_whole_validation_split(folder: Path) -> None:
    from nas.proxies.supernet import SupernetProxy

    data = synthetic_data()
    screening, whole = SupernetProxy(supernet=folder, val_size=16), SupernetProxy(supernet=folder, val_size=10_000)
    for proxy in (screening, whole):
        proxy.prepare(space=get_space(SPACE), data=data)
    archs = [get_space(SPACE).random(k) for k in range(6)]
    for arch in archs:
        # 128 held-out images; the calibration batches are the same whatever the validation sample's size
        assert screening.rescore(arch, seed=2, data=data) == whole.score(arch, seed=2, data=data)
        assert screening.score(arch, seed=2, data=data) * 16 == round(screening.score(arch, seed=2, data=data) * 16)
    assert any(screening.score(a, seed=2, data=data) != screening.rescore(a, seed=2, data=data) for a in archs)


def test_refusals_are_one_line(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(ProxyError, match="needs --supernet DIR"):
        get_proxy("supernet").prepare()
    with pytest.raises(NasError, match="--supernet is not an option of proxy 'naswot'"):
        get_proxy("naswot", supernet=str(folder))
    proxy = get_proxy("supernet", supernet=str(folder))
    with pytest.raises(SupernetError, match="trained for space 'nas_bench_macro'.*not 'mobiledet_cifar'"):
        proxy.prepare(space=get_space("mobiledet_cifar"))
    with pytest.raises(SupernetError, match="trained on another data set"):
        proxy.prepare(data=synthetic_data(seed=5))
    with pytest.raises(ProxyError, match="resolution 64"):
        proxy.evaluate(get_space(SPACE, resolution=64).random(0), data=synthetic_data())


def nas_inspect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nas.cli.inspect", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_inspect_scores_with_a_supernet_and_refuses_a_mismatch(folder: Path) -> None:
    ok = nas_inspect(SPACE, "--sample", "2", "--proxy", "supernet", "--supernet", str(folder), "--data", "synthetic", "--json")
    assert ok.returncode == 0, ok.stderr
    result = json.loads(ok.stdout)
    assert result["proxy_name"] == "supernet" and 0.0 <= result["proxy"] <= 1.0
    bad = nas_inspect(SPACE, "--sample", "2", "--proxy", "supernet", "--supernet", str(folder), "--data", "synthetic:600")
    assert bad.returncode == 2 and "trained on another data set" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
