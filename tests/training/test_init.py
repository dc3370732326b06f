"""``nas.train(..., init="supernet:DIR")``: the run starts from the candidate the supernet proxy scores, or refuses in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import nas
from nas.arch import ArchSpec
from nas.proxies import get_proxy
from nas.proxies.data import holdout, synthetic_data
from nas.space import get_space
from nas.supernet import Supernet
from nas.supernet.checkpoint import load_supernet, save_supernet
from nas.supernet.sampling import make_task
from nas.training import Recipe, TrainingError
from nas.training.init import CALIBRATION_BATCH, CALIBRATION_BATCHES, InitSpec, start_from
from nas.weights import load_weights

SPACE = "nas_bench_macro"
VALIDATION = {"fraction": 0.25, "seed": 3}  # the supernet's held-out split; runs below use the same (val_fraction, seed)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny supernet over NAS-Bench-Macro at 16 px, trained 12 SPOS steps on ``synthetic`` by a plain loop."""
    torch.manual_seed(0)
    data = synthetic_data()
    supernet = Supernet(space=get_space(SPACE, resolution=16).scaled(num_classes=data.num_classes))
    split = holdout(data, fraction=VALIDATION["fraction"], seed=VALIDATION["seed"])
    task = make_task("spos", supernet=supernet, seed=0)
    optimizer = torch.optim.SGD(supernet.parameters(), lr=0.05, momentum=0.9)
    images, labels = split.tensors(split.train_images, size=16), torch.from_numpy(split.train_labels)
    supernet.train()
    for step in range(12):
        batch = slice((step * 32) % 352, (step * 32) % 352 + 32)
        loss = task.loss(images[batch], labels[batch], step=step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    out = tmp_path_factory.mktemp("supernet")
    save_supernet(out, supernet=supernet, data=data, validation=VALIDATION, sampling={"rule": "spos"}, training={"steps": 12})
    return out


def candidate(seed: int = 5) -> ArchSpec:
    return get_space(SPACE, resolution=16).random(seed)


def test_the_run_starts_from_the_network_the_supernet_proxy_scores(folder: Path, tmp_path: Path) -> None:
    data = synthetic_data()
    arch = candidate()
    result = nas.train(
        arch, data=data, out=tmp_path, epochs=1, batch_size=32, val_fraction=0.25, seed=3, init=f"supernet:{folder}", progress=False
    )
    init = result.summary["init"]
    proxy = get_proxy("supernet", supernet=str(folder))
    assert len(holdout(data, fraction=0.25, seed=3).val_images) <= proxy.val_size  # it scores every image the run validates on
    proxy.prepare(space=get_space(SPACE, resolution=16), data=data)
    score = proxy.evaluate(arch, seed=3, data=data).score
    assert init["before_training"]["val_top1"] == pytest.approx(100 * score, abs=1e-9)
    assert init["validation_split_is_the_supernets"] and init["space"]["name"] == SPACE
    assert (proxy.calibration_batches, proxy.batch_size) == (CALIBRATION_BATCHES, CALIBRATION_BATCH)  # the proxy's rule
    assert json.loads((tmp_path / "init.json").read_text()) == init
    assert load_weights(result.weights)[2]["init"] == f"supernet:{folder.resolve()}"


def test_the_start_is_the_inherited_weights_with_recalibrated_batchnorm(folder: Path) -> None:
    data = synthetic_data()
    arch = candidate().with_name("x")
    arch = ArchSpec.from_string(arch.to_string().replace("_n10,", "_n4,", 1), name="x")
    start = start_from(InitSpec.parse(f"supernet:{folder}"), arch=arch, data=data, recipe=Recipe(seed=3, val_fraction=0.25))
    inherited = load_supernet(folder)[0].extract_state(arch)
    assert set(start.state_dict) == set(inherited)
    for key, tensor in inherited.items():
        if "running_" in key or "num_batches" in key:
            continue  # re-estimated on the calibration batches
        assert torch.equal(start.state_dict[key], tensor), key
    changed = [k for k in inherited if k.endswith("running_mean") and not torch.equal(start.state_dict[k], inherited[k])]
    assert changed  # BatchNorm statistics are the candidate's own, not the supernet's shared ones


def test_refusals_are_one_line_and_leave_out_unwritten(folder: Path, tmp_path: Path) -> None:
    data = synthetic_data()
    other_space = "r16_n4,conv_k3_s2_c8_relu,ibn_k3_s1_e2_c8_relu,ibn_k3_s2_e2_c16_relu,head_none"
    cases = [
        (other_space, f"supernet:{folder}", {}, "not in the supernet's space 'nas_bench_macro'"),
        (candidate(), f"supernet:{folder}", {"resolution": 24}, "trained at resolution 16, this run trains at 24"),
        (candidate(), f"supernet:{tmp_path / 'none'}", {}, "no supernet.pt there"),
        (candidate(), "imagenet:x", {}, "expected supernet:DIR"),
    ]
    for index, (arch, init, extra, message) in enumerate(cases):
        with pytest.raises(TrainingError, match=message) as caught:
            nas.train(arch, data=data, out=tmp_path / f"run{index}", epochs=1, batch_size=32, init=init, progress=False, **extra)
        assert "\n" not in str(caught.value)
    with pytest.raises(TrainingError, match="trained on another data set"):
        nas.train(candidate(), data=synthetic_data(seed=5), out=tmp_path / "other", epochs=1, init=f"supernet:{folder}", progress=False)
    assert not any(tmp_path.glob("run*")) and not (tmp_path / "other").exists()


def test_a_run_with_init_is_not_resumed_as_one_without(folder: Path, tmp_path: Path) -> None:
    data = synthetic_data()
    nas.train(candidate(), data=data, out=tmp_path, epochs=1, batch_size=64, init=f"supernet:{folder}", progress=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(TrainingError, match="other settings.*init"):
        nas.train(candidate(), data=data, out=tmp_path, epochs=1, batch_size=64, progress=False)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_nas_train_init_refuses_another_space_in_one_line(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    arch = "r16_n4,conv_k3_s2_c8_relu,ibn_k3_s1_e2_c8_relu,head_none"
    command = [sys.executable, "-m", "nas.cli.train", arch, "--data", "synthetic", "--out", str(out), "--init", f"supernet:{folder}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not in the supernet's space 'nas_bench_macro'" in lines[0], done.stderr
    assert not out.exists()
