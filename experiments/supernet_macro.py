"""First, short measurement: a supernet trained on NAS-Bench-Macro's space ranks the benchmark's networks how well?

    taskset -c 1 nice -n 10 python -m experiments.supernet_macro --resolution 16 --train-minutes 20 --score-minutes 15 --n 200
                                                                     # results/supernet_macro.{md,json}

One supernet over ``nas_bench_macro`` at ``--resolution`` (the benchmark trained at 32 px; the banked run used 16 px,
CIFAR-10 downsampled, to fit this shared host's share of one core) is trained with a sampling rule of
``nas.supernet.sampling`` (SPOS by default) on CIFAR-10's training images minus a 10 % validation split
(``nas.proxies.data.holdout``, seed 0), by the small plain SGD loop below (batch 64, nesterov momentum 0.9,
weight decay 5e-4, learning rate from 0.05 down a cosine over the time budget, random flips and 4-px shifts;
training stops when ``--train-minutes`` have passed, because this shared host's speed varies threefold). ``nas-supernet train`` will use
``nas.training``'s one loop instead once the branches merge. Then ``--n`` distinct benchmark networks (the same
seeded draw as experiments/proxy_correlation.py, its halves A and B) are scored with the ``supernet`` proxy
(weights inherited, BN recalibrated on training batches, top-1 on the validation split) and ranked against the
benchmark's 50-epoch ``mean_acc`` beside FLOPs (the benchmark's own ``flops``), with 90 % bootstrap intervals
(networks are scored in the drawn order until ``--score-minutes`` have passed).
Nothing was tuned on these networks: the settings above were fixed before the run. The CIFAR-10 test split is
not used. One CPU core; the training budget is what fits in about 30 minutes, far from a converged supernet.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import platform
import random
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from experiments._lib.data import cifar10, load_bench
from nas.io import atomic_write_text
from nas.proxies import get_proxy
from nas.proxies.data import holdout
from nas.space import get_space
from nas.supernet import Supernet
from nas.supernet.checkpoint import save_supernet
from nas.supernet.sampling import make_task

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def augment(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Random horizontal flip and a random shift of up to 4 px (zero padding), one draw per batch."""
    if rng.random() < 0.5:
        x = x.flip(3)
    dx, dy = (int(v) for v in rng.integers(-4, 5, size=2))
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    size = x.shape[-1]
    return padded[:, :, 4 + dy : 4 + dy + size, 4 + dx : 4 + dx + size]


def train(supernet: Supernet, split, *, rule: str, minutes: float, batch: int, lr: float, seed: int, size: int) -> dict:
    """The plain loop: seeded batches of the training part of ``split`` for ``minutes``; returns losses and steps."""
    task = make_task(rule, supernet=supernet, seed=seed)
    optimiser = torch.optim.SGD(supernet.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(split.train_images))
    losses, start, budget = [], time.perf_counter(), minutes * 60
    for step in itertools.count():
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            break
        for group in optimiser.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * elapsed / budget))
        index = np.sort(np.take(order, np.arange(step * batch, (step + 1) * batch), mode="wrap"))
        images = augment(split.tensors(split.train_images[index], size=size), rng)
        labels = torch.from_numpy(split.train_labels[index].astype(np.int64))
        loss = task.loss(images, labels, step=step)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
        if step % 50 == 0:
            print(f"step {step + 1} loss {np.mean(losses[-50:]):.3f} {time.perf_counter() - start:.0f} s", flush=True)
    return {"rule": rule, "settings": task.settings(), "losses": losses, "steps": len(losses), "seconds": time.perf_counter() - start}


def rank(scores: list[float], truth: list[float], *, seed: int = 0, rounds: int = 1000) -> dict[str, list[float]]:
    """Spearman and Kendall with 90 % bootstrap intervals (networks resampled)."""
    scores_a, truth_a = np.asarray(scores), np.asarray(truth)
    rng = np.random.default_rng(seed)
    point = {"spearman": stats.spearmanr(scores_a, truth_a)[0], "kendall": stats.kendalltau(scores_a, truth_a)[0]}
    draws: dict[str, list[float]] = {name: [] for name in point}
    for _ in range(rounds):
        pick = rng.integers(0, len(scores_a), size=len(scores_a))
        draws["spearman"].append(stats.spearmanr(scores_a[pick], truth_a[pick])[0])
        draws["kendall"].append(stats.kendalltau(scores_a[pick], truth_a[pick])[0])
    return {name: [float(point[name]), *map(float, np.nanpercentile(draws[name], [5, 95]))] for name in point}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rule", default="spos", choices=["spos", "sandwich"])
    parser.add_argument("--train-minutes", type=float, default=22, help="training time budget")
    parser.add_argument("--score-minutes", type=float, default=14, help="scoring time budget")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--resolution", type=int, default=32, help="input size of training and scoring (the benchmark trained at 32)")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--n", type=int, default=240, help="distinct benchmark networks to score")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "cache" / "supernet_macro")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    data = cifar10()
    split = holdout(data, fraction=0.1, seed=0)
    space = get_space("nas_bench_macro", resolution=args.resolution, num_classes=data.num_classes)
    supernet = Supernet(space=space)
    training = train(
        supernet, split, rule=args.rule, minutes=args.train_minutes, batch=args.batch, lr=args.lr, seed=args.seed, size=args.resolution
    )
    steps = training["steps"]
    settings = {
        "steps": steps,
        "resolution": args.resolution,
        "batch": args.batch,
        "lr": args.lr,
        "seed": args.seed,
        "images": steps * args.batch,
    }
    save_supernet(
        args.out, supernet=supernet, data=data, validation={"fraction": 0.1, "seed": 0}, sampling=training["settings"], training=settings
    )

    bench = load_bench()
    keys = random.Random(args.seed).sample(sorted(bench), args.n)
    half_a = set(keys[: args.n // 2])
    names = list(space.parameters)
    proxy = get_proxy("supernet", supernet=str(args.out))
    proxy.prepare(space=get_space("nas_bench_macro", resolution=args.resolution), data=data)
    rows, seconds, cpu_seconds = [], [], []
    scoring_start = time.perf_counter()
    for number, key in enumerate(keys):
        if time.perf_counter() - scoring_start > args.score_minutes * 60:
            break
        arch = space.arch(dict(zip(names, key)), name=f"macro-{key}")
        cpu_start = time.process_time()
        result = proxy.evaluate(arch, seed=0, data=data)
        cpu_seconds.append(time.process_time() - cpu_start)
        seconds.append(result.seconds)
        rows.append({"key": key, "half": "A" if key in half_a else "B", "mean_acc": bench[key]["mean_acc"], "flops": bench[key]["flops"]})
        rows[-1]["supernet"] = result.score
        if number % 20 == 0:
            print(f"scored {number + 1}/{len(keys)}: {result.score:.3f} in {result.seconds:.2f} s", flush=True)

    table = {}
    for part in ("all", "A", "B"):
        chosen = [row for row in rows if part == "all" or row["half"] == part]
        truth = [row["mean_acc"] for row in chosen]
        table[part] = {column: rank([row[column] for row in chosen], truth) for column in ("supernet", "flops")}
        table[part]["n"] = len(chosen)  # type: ignore[assignment]
    host = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread on `taskset -c 1`"
    summary = {
        "training": {**settings, "rule": args.rule, "seconds": training["seconds"], "final_loss": float(np.mean(training["losses"][-50:]))},
        "proxy": {
            "budget": proxy.budget(),
            "median_s": float(np.median(seconds)),
            "range_s": [float(min(seconds)), float(max(seconds))],
            "median_cpu_s": float(np.median(cpu_seconds)),
        },
        "ranking": table,
        "host": host,
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / "supernet_macro.json", json.dumps(summary, indent=1) + "\n")
    lines = [
        "# Supernet on NAS-Bench-Macro: a first, short run",
        "",
        f"Written by `experiments/supernet_macro.py` ({args.rule}, {steps} steps of {args.batch} = "
        f"{steps * args.batch:,} images ≈ {steps * args.batch / len(split.train_images):.2f} epochs of the 45,000 "
        f"training images, {training['seconds'] / 60:.1f} min; {args.resolution} px). Truth: the benchmark's 50-epoch `mean_acc`. "
        "Spearman / Kendall with 90 % bootstrap intervals. A first, short run: the supernet is far from trained.",
        "",
        "| networks | supernet Spearman | supernet Kendall | FLOPs Spearman | FLOPs Kendall |",
        "| --- | --- | --- | --- | --- |",
    ]
    for part, cells in table.items():
        s, f = cells["supernet"], cells["flops"]
        fmt = lambda v: f"{v[0]:+.3f} [{v[1]:+.3f}, {v[2]:+.3f}]"  # noqa: E731
        lines.append(f"| {part} ({cells['n']}) | {fmt(s['spearman'])} | {fmt(s['kendall'])} | {fmt(f['spearman'])} | {fmt(f['kendall'])} |")
    lines += [
        "",
        f"Proxy cost per candidate ({proxy.budget()}): median {np.median(seconds):.2f} s, range "
        f"{min(seconds):.2f}–{max(seconds):.2f} s wall clock (median {np.median(cpu_seconds):.2f} s of CPU time: the core was shared), "
        f"host: {host}, 2-core AMD EPYC KVM shared with other jobs (load average {open('/proc/loadavg').read().split()[0]} at the end).",
        "",
    ]
    atomic_write_text(RESULTS / "supernet_macro.md", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
