"""The one training loop: any :class:`~nas.training.task.TrainingTask`, one or many processes, resumable.

Per step: this process's slice of the seeded global batch, crop + flip, ``task.loss``,
backward (AMP with bf16, or fp16 with a GradScaler, on a GPU), gradients averaged
across processes, optimiser and schedule step, EMA update. A checkpoint is written
every ``checkpoint_minutes`` and at each epoch end; each epoch ends with validation on
the images held out from the training set, and the run with one evaluation on the
data set's test split. A rerun with the same settings continues from the checkpoint
and, on the CPU, computes exactly what the uninterrupted run computes.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ContextManager

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from nas.proxies.data import ImageData, holdout
from nas.training.checkpoint import NAME as CHECKPOINT
from nas.training.checkpoint import load as load_checkpoint
from nas.training.checkpoint import mismatch
from nas.training.checkpoint import save as save_checkpoint
from nas.training.batches import augment, shard, step_indices, steps_per_epoch, to_float
from nas.training.distributed import World, barrier, global_batch_norm, join, leave, step_loss, sum_across
from nas.training.metrics import plot_curve, write_metrics
from nas.training.recipe import Recipe, TrainingError, build_optimizer, build_schedule
from nas.training.task import TrainingTask

EVAL_BATCH = 500


@dataclass(frozen=True)
class FitResult:
    """What a finished run hands back: per-epoch metrics, the test metrics, the final (EMA) weights."""

    history: list[dict[str, Any]]
    test: dict[str, float]
    state_dict: dict[str, torch.Tensor]
    seconds: float
    world: World
    device: str
    precision: str


def run_identity(identity: dict[str, Any], recipe: Recipe) -> dict[str, Any]:
    """The settings a checkpoint must match: the caller's (network, data), the recipe's, and the number of processes."""
    import os

    return {**identity, "recipe": recipe.identity(), "processes": int(os.environ.get("WORLD_SIZE", "1"))}


def epoch_steps(split: ImageData, recipe: Recipe, processes: int) -> int:
    """Optimiser steps per epoch on ``split`` (the training part after the hold-out); refuses a batch larger than it."""
    global_batch = recipe.batch_size * processes
    steps = steps_per_epoch(len(split.train_images), global_batch)
    if steps < 1:
        raise TrainingError(
            f"--batch {recipe.batch_size}: {len(split.train_images)} training images are fewer than one step of "
            f"{global_batch} images ({processes} process(es)); lower --batch"
        )
    return steps


def pick_device(recipe: Recipe) -> torch.device:
    if recipe.device is not None:
        if recipe.device.startswith("cuda") and not torch.cuda.is_available():
            raise TrainingError(f"--device {recipe.device}: no CUDA GPU is available here (torch {torch.__version__})")
        return torch.device(recipe.device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class _Normalise:
    """uint8 images → normalised tensors on the device, in the network's float type, with the full training set's statistics."""

    def __init__(self, data: ImageData, device: torch.device, channels_last: bool, dtype: torch.dtype = torch.float32) -> None:
        mean, std = data.mean_std
        self.mean, self.std, self.device, self.channels_last = mean.to(device, dtype), std.to(device, dtype), device, channels_last
        self.dtype = dtype

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = (x.to(self.device, self.dtype, non_blocking=True) - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def fit(
    task: TrainingTask, data: ImageData, recipe: Recipe, *, out: Path, identity: dict[str, Any], progress: bool = True, title: str = ""
) -> FitResult:
    """Train ``task.module`` on ``data`` by ``recipe``, keeping ``out/checkpoint.pt``, ``metrics.jsonl`` and ``curve.png``."""
    device = pick_device(recipe)
    if device.type == "cuda" and device.index is None:
        import os

        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if recipe.threads is not None:
        torch.set_num_threads(recipe.threads)
    full_identity = run_identity(identity, recipe)
    world = join(device)
    try:
        return _fit(task, data, recipe, out=out, identity=full_identity, world=world, device=device, progress=progress, title=title)
    finally:
        leave(world)


def _precision(device: torch.device, recipe: Recipe) -> torch.dtype | None:
    if device.type != "cuda" or not recipe.amp:
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _fit(
    task: TrainingTask,
    data: ImageData,
    recipe: Recipe,
    *,
    out: Path,
    identity: dict[str, Any],
    world: World,
    device: torch.device,
    progress: bool,
    title: str,
) -> FitResult:
    split = holdout(data, fraction=recipe.val_fraction, seed=recipe.seed)
    size = recipe.resolution or data.size
    per_epoch = epoch_steps(split, recipe, world.size)
    channels_last = device.type == "cuda"
    module = task.module.to(device)
    global_batch_norm(module, world=world, device=device)  # N processes × batch B train what 1 process × N·B trains
    compute_loss = step_loss(task, world=world, device=device)  # DDP: rank 0's weights everywhere, gradients averaged
    if channels_last:
        module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # a documented keyword torch's stubs lack
    weights_type = next((p.dtype for p in module.parameters() if p.is_floating_point()), torch.float32)  # float64 in tests
    normalise = _Normalise(data, device, channels_last, weights_type)
    dtype = _precision(device, recipe)
    autocast: ContextManager[Any] = torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    optimizer = build_optimizer(module, recipe)
    schedule = build_schedule(optimizer, recipe, per_epoch)
    ema = AveragedModel(module, multi_avg_fn=get_ema_multi_avg_fn(recipe.ema), use_buffers=True) if recipe.ema is not None else None

    state = load_checkpoint(out) if out.is_dir() else None
    position: dict[str, Any] = {"epoch": 0, "step": 0, "global_step": 0, "loss_sum": 0.0, "seen": 0, "epoch_seconds": 0.0, "seconds": 0.0}
    history: list[dict[str, Any]] = []
    if state is not None:
        differing = mismatch(state.get("identity"), identity)
        if differing:
            raise TrainingError(f"--out {out}: holds a run with other settings ({differing}); pass another --out")
        try:
            module.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            schedule.load_state_dict(state["schedule"])
            scaler.load_state_dict(state["scaler"])
            if ema is not None:
                ema.load_state_dict(state["ema"])
            torch.set_rng_state(state["rng_cpu"])
            if device.type == "cuda" and state.get("rng_cuda") is not None:
                torch.cuda.set_rng_state(state["rng_cuda"], device)
            position = dict(state["position"])
            history = list(state["history"])
        except (KeyError, RuntimeError, ValueError, TypeError) as error:
            raise TrainingError(f"{out / CHECKPOINT}: cannot resume from it ({type(error).__name__}); remove it to start over") from None
        if world.is_main and history:  # a kill between the checkpoint and these files must not leave them behind it
            write_metrics(out / "metrics.jsonl", history)
            plot_curve(out / "curve.png", history, title=title)

    def save_state() -> None:
        if world.is_main:
            save_checkpoint(
                out,
                {
                    "identity": identity,
                    "position": position,
                    "history": history,
                    "model": module.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(),
                    "scaler": scaler.state_dict(),
                    "ema": ema.state_dict() if ema is not None else None,
                    "rng_cpu": torch.get_rng_state(),
                    "rng_cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                },
            )

    def evaluate(images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
        return _evaluate(task, ema, images, labels, size=size, normalise=normalise, autocast=autocast, world=world)

    from tqdm import tqdm

    last_save = time.monotonic()
    module.train()
    for epoch in range(position["epoch"], recipe.epochs):
        started = time.monotonic() - position["epoch_seconds"]
        bar = tqdm(
            total=per_epoch,
            initial=position["step"],
            desc=f"epoch {epoch + 1}/{recipe.epochs}",
            unit="step",
            disable=not (progress and world.is_main),
            dynamic_ncols=True,
            leave=False,
        )
        for step in range(position["step"], per_epoch):
            index = step_indices(
                len(split.train_images),
                seed=recipe.seed,
                epoch=epoch,
                step=step,
                batch=recipe.batch_size,
                rank=world.rank,
                world=world.size,
            )
            images = augment(
                split.train_images[index], seed=recipe.seed, epoch=epoch, step=step, offset=world.rank * recipe.batch_size, size=size
            )
            x, y = normalise(images), torch.from_numpy(split.train_labels[index].astype(np.int64)).to(device, non_blocking=True)
            with autocast:
                loss = compute_loss(x, y, position["global_step"])
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            schedule.step()
            if ema is not None:
                ema.update_parameters(module)
            total = sum_across(torch.tensor([float(loss.detach()) * len(index), float(len(index))], dtype=torch.float64), world)
            if not math.isfinite(float(total[0])):
                raise TrainingError(
                    f"the loss became {float(loss.detach())} at epoch {epoch + 1} step {step + 1}; lower --lr (now {recipe.learning_rate:g})"
                )
            position.update(
                step=step + 1,
                global_step=position["global_step"] + 1,
                loss_sum=position["loss_sum"] + float(total[0]),
                seen=position["seen"] + int(total[1]),
                epoch_seconds=time.monotonic() - started,
            )
            bar.update(1)
            bar.set_postfix(loss=f"{position['loss_sum'] / position['seen']:.3f}", lr=f"{schedule.get_last_lr()[0]:.3g}", refresh=False)
            if step + 1 < per_epoch and time.monotonic() - last_save >= recipe.checkpoint_minutes * 60:
                save_state()
                last_save = time.monotonic()
        bar.close()
        val = evaluate(split.val_images, split.val_labels)
        seconds = time.monotonic() - started
        history.append(
            {
                "epoch": epoch + 1,
                "loss": position["loss_sum"] / max(1, position["seen"]),
                **{f"val_{k}": v for k, v in val.items()},
                "lr": schedule.get_last_lr()[0],
                "seconds": round(seconds, 3),
                "images_per_s": round(position["seen"] / max(seconds, 1e-9), 1),
                "step": position["global_step"],
            }
        )
        position = {**position, "epoch": epoch + 1, "step": 0, "loss_sum": 0.0, "seen": 0, "epoch_seconds": 0.0}
        position["seconds"] += seconds
        save_state()
        last_save = time.monotonic()
        if world.is_main:
            write_metrics(out / "metrics.jsonl", history)
            plot_curve(out / "curve.png", history, title=title)
            if progress:
                row = history[-1]
                left = (recipe.epochs - row["epoch"]) * sum(r["seconds"] for r in history) / len(history)
                print(
                    f"epoch {row['epoch']}/{recipe.epochs}: loss {row['loss']:.4f}, val top-1 {row.get('val_top1', float('nan')):.2f}%, "
                    f"{row['seconds']:.0f} s ({row['images_per_s']:.0f} img/s); the run's ETA {left / 60:.0f} min",
                    flush=True,
                )
    test = evaluate(data.val_images, data.val_labels)
    final = ema.module if ema is not None else module
    barrier(world)
    return FitResult(
        history=history,
        test=test,
        state_dict={k: v.detach().cpu().clone() for k, v in final.state_dict().items()},
        seconds=position["seconds"],
        world=world,
        device=str(device),
        precision=str(dtype).removeprefix("torch.") if dtype is not None else "float32",
    )


def _evaluate(
    task: TrainingTask,
    ema: AveragedModel | None,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    size: int,
    normalise: _Normalise,
    autocast: ContextManager[Any],
    world: World,
) -> dict[str, float]:
    """Batch-size-weighted means of ``task.evaluate`` over this process's shard, summed across processes.

    With an EMA the task is evaluated with the EMA weights (swapped in, then swapped back).
    """
    module = task.module
    saved = {k: v.detach().clone() for k, v in module.state_dict().items()} if ema is not None else None
    if ema is not None:
        module.load_state_dict(ema.module.state_dict())
    part = shard(len(images), rank=world.rank, world=world.size)
    sums: dict[str, float] = {}
    count = 0
    module.eval()
    try:
        with torch.no_grad():
            for first in range(part.start, part.stop, EVAL_BATCH):
                last = min(first + EVAL_BATCH, part.stop)
                x = normalise(to_float(images[first:last], size=size))
                y = torch.from_numpy(labels[first:last].astype(np.int64)).to(x.device)
                with autocast:
                    metrics = task.evaluate(x, y)
                for key, value in metrics.items():
                    sums[key] = sums.get(key, 0.0) + float(value) * (last - first)
                count += last - first
    finally:
        module.train()
        if saved is not None:
            module.load_state_dict(saved)
    keys = sorted(sums) or ["top1"]
    totals = sum_across(torch.tensor([sums.get(k, 0.0) for k in keys] + [float(count)], dtype=torch.float64), world).tolist()
    return {k: totals[i] / max(1.0, totals[-1]) for i, k in enumerate(keys)}
