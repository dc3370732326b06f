"""The training loop: deterministic for a seed, exact resume, EMA, and two processes equal one with the doubled batch."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
from torch import nn

from nas.arch import ArchSpec
from nas.builder import build_model
from nas.proxies.data import ImageData, synthetic_data
from nas.training import Recipe, StandaloneTask, TrainingError, fit, train
from nas.training import checkpoint
from nas.weights import load_weights

ARCH = "r16_n4,conv_k3_s2_c8_relu,ibn_k3_s1_e2_c8_relu,ibn_k3_s2_e2_c16_relu,head_none"


@pytest.fixture(scope="module")
def data() -> ImageData:
    return synthetic_data(n_train=256, n_val=64, size=16)


def _task(seed: int = 0) -> StandaloneTask:
    torch.manual_seed(seed)
    return StandaloneTask(build_model(ArchSpec.from_string(ARCH)), label_smoothing=0.1)


def _fit(task: StandaloneTask, data: ImageData, out: Path, **settings: object) -> object:
    recipe = Recipe(**{"epochs": 2, "batch_size": 32, "threads": 1, **settings})  # type: ignore[arg-type]
    return fit(task, data, recipe, out=out, identity={"arch": ARCH}, progress=False)


def test_two_runs_with_one_seed_give_identical_weights(tmp_path: Path, data: ImageData) -> None:
    first = train(ARCH, data=data, out=tmp_path / "a", epochs=2, batch_size=32, threads=1, progress=False)
    second = train(ARCH, data=data, out=tmp_path / "b", epochs=2, batch_size=32, threads=1, progress=False)
    a, b = load_weights(first.weights)[1], load_weights(second.weights)[1]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    other = train(ARCH, data=data, out=tmp_path / "c", epochs=2, batch_size=32, threads=1, seed=1, progress=False)
    c = load_weights(other.weights)[1]
    assert not all(torch.equal(a[k], c[k]) for k in a)


class _Interrupted(Exception):
    pass


class _StopsAt(StandaloneTask):
    """Raises at one step, as a killed process stops: after the checkpoint of the step before."""

    def __init__(self, module: nn.Module, stop: int) -> None:
        super().__init__(module, label_smoothing=0.1)
        self.stop = stop

    def loss(self, images: torch.Tensor, labels: torch.Tensor, *, step: int) -> torch.Tensor:
        if step == self.stop:
            raise _Interrupted
        return super().loss(images, labels, step=step)


def test_a_resumed_run_computes_what_the_uninterrupted_run_computes(tmp_path: Path, data: ImageData) -> None:
    whole = _fit(_task(), data, tmp_path / "whole", checkpoint_minutes=0)
    torch.manual_seed(0)
    interrupted = _StopsAt(build_model(ArchSpec.from_string(ARCH)), stop=10)  # epoch 2 (7 steps per epoch), step 4
    with pytest.raises(_Interrupted):
        _fit(interrupted, data, tmp_path / "part", checkpoint_minutes=0)
    saved = checkpoint.load(tmp_path / "part")
    assert saved is not None and saved["position"]["epoch"] == 1 and saved["position"]["step"] == 3
    (tmp_path / "part" / "metrics.jsonl").unlink()  # as if killed between the epoch's checkpoint and its metrics line
    resumed = _fit(_task(seed=123), data, tmp_path / "part", checkpoint_minutes=0)  # other initial weights: the checkpoint's win
    assert all(torch.equal(whole.state_dict[k], resumed.state_dict[k]) for k in whole.state_dict)  # type: ignore[attr-defined]
    strip = [{k: v for k, v in row.items() if k not in ("seconds", "images_per_s")} for row in whole.history]  # type: ignore[attr-defined]
    assert strip == [{k: v for k, v in row.items() if k not in ("seconds", "images_per_s")} for row in resumed.history]  # type: ignore[attr-defined]
    assert whole.test == resumed.test  # type: ignore[attr-defined]
    assert (tmp_path / "part" / "metrics.jsonl").read_text().count("\n") == 2


def test_other_settings_on_a_checkpoint_are_refused(tmp_path: Path, data: ImageData) -> None:
    _fit(_task(), data, tmp_path, epochs=1)
    with pytest.raises(TrainingError, match=r"other settings \(recipe.batch_size: 32 here, 16 asked\)"):
        _fit(_task(), data, tmp_path, epochs=1, batch_size=16)


def test_ema_weights_are_evaluated_and_returned(tmp_path: Path, data: ImageData) -> None:
    result = _fit(_task(), data, tmp_path, ema=0.9)
    saved = checkpoint.load(tmp_path)
    assert saved is not None
    ema_state = {k.removeprefix("module."): v for k, v in saved["ema"].items() if k.startswith("module.")}
    assert all(torch.equal(result.state_dict[k], ema_state[k]) for k in result.state_dict)  # type: ignore[attr-defined]
    assert not all(torch.equal(result.state_dict[k], saved["model"][k]) for k in result.state_dict)  # type: ignore[attr-defined]


def test_a_diverging_loss_stops_with_one_line(tmp_path: Path, data: ImageData) -> None:
    with pytest.raises(TrainingError, match="the loss became .* lower --lr"):
        _fit(_task(), data, tmp_path, lr=1e30, warmup_epochs=0.0)


# -- two processes -----------------------------------------------------------------------------------


def _plain_net() -> nn.Module:
    """No BatchNorm: the loop alone (gradient averaging, sharding, metrics); tests/training/test_distributed.py adds BatchNorm."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 4),
    )


def _worker(rank: int, world: int, port: int, out: str, batch: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank))
    data = synthetic_data(n_train=200, n_val=64, size=16)
    recipe = Recipe(epochs=2, batch_size=batch, threads=1, label_smoothing=0.0, warmup_epochs=0.5)
    result = fit(StandaloneTask(_plain_net()), data, recipe, out=Path(out), identity={}, progress=False)
    if rank == 0:
        torch.save({"state": result.state_dict, "history": result.history, "test": result.test}, Path(out) / "result.pt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_two_gloo_processes_with_batch_b_equal_one_process_with_batch_2b(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path / "two"), 8), nprocs=2, join=True)
    _worker(0, 1, 0, str(tmp_path / "one"), 16)
    two = torch.load(tmp_path / "two" / "result.pt", weights_only=True)
    one = torch.load(tmp_path / "one" / "result.pt", weights_only=True)
    for name, tensor in one["state"].items():
        torch.testing.assert_close(two["state"][name], tensor, rtol=1e-4, atol=1e-5)
    assert [r["step"] for r in two["history"]] == [r["step"] for r in one["history"]] == [11, 22]
    assert two["history"][-1]["loss"] == pytest.approx(one["history"][-1]["loss"], rel=1e-4)
    assert two["test"]["top1"] == pytest.approx(one["test"]["top1"])
    assert (tmp_path / "two" / "metrics.jsonl").read_text().count("\n") == 2  # rank 0 wrote it once per epoch
