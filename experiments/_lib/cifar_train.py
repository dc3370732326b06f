"""The CIFAR-10 trainer of the CIFAR studies (moved out of experiments/cifar_search_vs_mobilenetv2.py).

One network trained from scratch per job (SGD + Nesterov, warm-up + cosine, crop + flip; top-1 on the
10,000 test images), in a process pool; each finished run is cached under experiments/cache/cifar/runs
by its key (network, arch digest, seed, schedule), so a rerun adds only the missing runs.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import time
from pathlib import Path

import numpy as np

from nas import ArchSpec, build_model
from nas.io import atomic_write_text

CACHE = Path(__file__).resolve().parents[1] / "cache" / "cifar"


def train_run(job: dict) -> dict:
    """Train one network from scratch (SGD + Nesterov, warm-up + cosine, crop + flip); top-1 on the test set."""
    import torch
    from torch import nn

    from experiments._lib.data import cifar10

    torch.set_num_threads(job["threads"])
    data = cifar10()
    arch = ArchSpec.from_string(job["arch"])
    rng = np.random.default_rng(job["seed"])
    torch.manual_seed(job["seed"])
    model = build_model(arch).to(memory_format=torch.channels_last)
    steps, batch = job["steps"], job["batch"]
    optimiser = torch.optim.SGD(model.parameters(), lr=job["lr"], momentum=0.9, nesterov=True, weight_decay=5e-4)
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, steps - warmup)))
    )
    order = np.concatenate([rng.permutation(len(data.train_images)) for _ in range(math.ceil(steps * batch / len(data.train_images)))])
    start = time.perf_counter()
    model.train()
    for step in range(steps):
        index = order[step * batch : (step + 1) * batch]
        x = torch.from_numpy(augment(data.train_images[index], rng))
        x = data.tensors(x.numpy()).contiguous(memory_format=torch.channels_last)
        y = torch.from_numpy(data.train_labels[index].astype(np.int64))
        loss = nn.functional.cross_entropy(model(x), y)
        if not torch.isfinite(loss):
            return {**job, "top1": None, "error": f"loss {float(loss)} at step {step}"}
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
    train_s = time.perf_counter() - start
    model.eval()
    correct = 0
    with torch.no_grad():
        for first in range(0, len(data.val_images), 500):
            x = data.tensors(data.val_images[first : first + 500]).contiguous(memory_format=torch.channels_last)
            correct += int((model(x).argmax(1).numpy() == data.val_labels[first : first + 500]).sum())
    return {**job, "top1": 100.0 * correct / len(data.val_images), "train_s": round(train_s, 1), "final_loss": loss.item()}


def augment(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random 32×32 crop of the 4-pixel reflect-padded image and a random horizontal flip, per image."""
    padded = np.pad(images, ((0, 0), (4, 4), (4, 4), (0, 0)), mode="reflect")
    out = np.empty_like(images)
    size = images.shape[1]
    for i, (dy, dx, flip) in enumerate(
        zip(rng.integers(0, 9, len(images)), rng.integers(0, 9, len(images)), rng.random(len(images)) < 0.5)
    ):
        crop = padded[i, dy : dy + size, dx : dx + size]
        out[i] = crop[:, ::-1] if flip else crop
    return out


def training_job(name: str, arch: ArchSpec, *, seed: int, steps: int, batch: int, lr: float) -> dict:
    """One run's job; its key (network, arch digest, seed, schedule) names its cache file."""
    digest = hashlib.sha1(arch.to_string().encode()).hexdigest()[:10]
    return {
        "net": name,
        "arch": arch.to_string(),
        "seed": seed,
        "steps": steps,
        "batch": batch,
        "lr": lr,
        "threads": 1,
        "key": f"{name}-{digest}-seed{seed}-s{steps}b{batch}lr{lr:g}",
    }


def start_training(pool, jobs: list[dict]) -> list:  # type: ignore[no-untyped-def]
    """Queue the runs not cached yet (per network, seed and schedule); cached ones come back as plain dicts."""
    pending = []
    for job in jobs:
        cached = CACHE / "runs" / f"{job['key']}.json"
        pending.append(json.loads(cached.read_text()) if cached.is_file() else pool.apply_async(train_run, (job,), callback=cache_run))
    return pending


def cache_run(result: dict) -> None:
    atomic_write_text(CACHE / "runs" / f"{result['key']}.json", json.dumps(result, indent=1))


def finish_training(pending: list, *, deadline: float | None) -> list[dict]:
    """Wait for the queued runs (each is cached as it ends, by ``cache_run``) until ``deadline`` (epoch s)."""
    from tqdm import tqdm

    runs = []
    for item in tqdm(pending, desc="training", unit="run"):
        if isinstance(item, dict):
            runs.append(item)
            continue
        try:
            runs.append(item.get(timeout=None if deadline is None else max(1.0, deadline - time.time())))
        except multiprocessing.TimeoutError:
            print("deadline reached: reporting the runs finished so far; rerun the same command to add the rest", flush=True)
            break
    # after a cut: cached runs queued behind the one that did not finish, and runs that finished out of order
    later = [item if isinstance(item, dict) else item.get() for item in pending if isinstance(item, dict) or item.ready()]
    return runs + [run for run in later if run not in runs]
