"""Does a path of the ``mobiledet_cifar`` supernet learn when the paths change every step?

    nice -n 10 taskset -c 1 python -m experiments.supernet_path_learning --steps 40   # results/supernet_path_learning.md

Why: a SPOS supernet over ``mobiledet_cifar`` trained on CIFAR-10 (experiments/supernet_band.py) kept a running
training loss of 2.31–2.37, above ln 10 = 2.303, for 482 steps at peak lr 0.02 (and rose to 2.47 by step 142 at
peak lr 0.05). This check separates the supernet's own code from weight sharing. On the same 1,280 training
images (20 batches of 64, seeded), with SGD + Nesterov momentum at ``--lr`` and no learning-rate warm-up, it trains:

- ``standalone``: the first band network built by ``nas.build_model``;
- ``fixed``: the same architecture as one fixed path of a fresh ``Supernet``;
- ``band``: a fresh supernet, each step one of the 48 band networks (seeded uniform draw): similar networks;
- ``spos``: a fresh supernet, each step ``space.random`` (the SPOS rule's draw);
- ``elastic``: one random network of the space (seed 0) whose kernels, expansions and Tucker ratios are drawn
  again each step (block types, widths and depths fixed): only the sliced choices change;
- ``types``: the same network with only the block types drawn again each step;
- ``types_first``: only the block types of each stage's first layer (no residual: it changes width or stride);
- ``types_residual``: only the block types of the other layers (residual, or ``skip``);
- ``widths``: only the stages' width multipliers (channels sliced from the first ones).

``--type-warmup N`` runs the supernet modes after ``fixed`` and ``band`` through ``nas.supernet.sampling``'s
op warm-up: for the first N steps, with a probability falling from 1 to 0, the stages' first layers
run as the mean of their block types.

Mean training loss of each block of 10 steps is reported. One torch thread; CPU.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from experiments.supernet_band import HERE, RESULTS, SPACE, band_networks, cpu_model
from nas import ArchSpec, SearchSpace, build_model, get_space
from nas.io import atomic_write_text
from nas.proxies.data import load_data
from nas.supernet import Supernet
from nas.supernet.sampling import UniformPath

MODES = ("standalone", "fixed", "band", "spos", "elastic", "types", "types_first", "types_residual", "widths")
ELASTIC = ("kernel", "expansion", "in_ratio", "out_ratio")  # the choices sliced inside one block type's weights


def redraw(space: SearchSpace, step: int, *, keys: Callable[[str], bool]) -> dict[str, object]:
    """The seed-0 draw of every parameter, with the parameters ``keys`` selects drawn again for ``step``."""
    base, rng = random.Random(0), random.Random(step + 1)
    params = {name: base.choice(values) for name, values in space.parameters.items()}
    params.update({name: rng.choice(values) for name, values in space.parameters.items() if keys(name)})
    return params


class _Drawn(UniformPath):
    """SPOS with this script's draws of the parameters (and the rule's own type warm-up)."""

    def __init__(self, *, supernet: Supernet, type_warmup: int, draw: Callable[[int], dict[str, object]]) -> None:
        super().__init__(supernet=supernet, type_warmup=type_warmup)
        self.draw = draw

    def random_params(self, step: int, draw: int = 0) -> dict[str, object]:
        return self.draw(step)


def losses(mode: str, *, x: torch.Tensor, y: torch.Tensor, steps: int, lr: float, batch: int, type_warmup: int) -> list[float]:
    space = get_space(SPACE).scaled(resolution=32, num_classes=10)
    band = [ArchSpec.from_string(row["arch"], name=row["net"]) for row in band_networks()]
    torch.manual_seed(0)
    net: nn.Module
    if mode == "standalone":
        net = build_model(band[0])
        forward: Callable[[torch.Tensor, int], torch.Tensor] = lambda images, step: net(images)  # noqa: E731
    elif mode in ("fixed", "band"):
        supernet = net = Supernet(space=space)
        pick = (lambda step: band[0]) if mode == "fixed" else (lambda step: random.Random(step).choice(band))
        forward = lambda images, step: supernet(images, pick(step))  # noqa: E731
    else:
        supernet = net = Supernet(space=space)
        draw: Callable[[int], dict[str, object]] = {
            "spos": lambda step: space.random_params(random.Random(step)),
            "elastic": lambda step: redraw(space, step, keys=lambda name: name.rsplit(".", 1)[-1] in ELASTIC),
            "types": lambda step: redraw(space, step, keys=lambda name: name.endswith(".type")),
            "types_first": lambda step: redraw(space, step, keys=lambda name: name.endswith(".b1.type")),
            "types_residual": lambda step: redraw(space, step, keys=lambda name: name.endswith(".type") and not name.endswith(".b1.type")),
            "widths": lambda step: redraw(space, step, keys=lambda name: name.endswith(".width")),
        }[mode]
        task = _Drawn(supernet=supernet, type_warmup=type_warmup, draw=draw)
        forward = lambda images, step: task.random_logits(images, step=step)  # noqa: E731
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, nesterov=True)
    net.train()
    out = []
    for step in range(steps):
        start = (step % (len(x) // batch)) * batch
        loss = nn.functional.cross_entropy(forward(x[start : start + batch], step), y[start : start + batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out.append(float(loss.detach()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--images", type=int, default=1280)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--data", default=f"imagefolder:{HERE / 'cache' / 'cifar10'}")
    parser.add_argument("--type-warmup", type=int, default=0, help="steps of the rule's op warm-up over the first layers' types [0]")
    parser.add_argument("--results", type=Path, default=RESULTS / "supernet_path_learning.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_data(args.data)
    pick = np.random.default_rng(0).choice(len(data.train_images), size=args.images, replace=False)  # the folder is sorted by class
    x = data.tensors(data.train_images[pick], size=32)
    y = torch.from_numpy(data.train_labels[pick].astype(np.int64))
    blocks = range(0, args.steps, 10)
    flag = f" --type-warmup {args.type_warmup}" if args.type_warmup else ""
    lines = [
        "# Does a supernet path learn when the paths change every step? (`mobiledet_cifar`, CIFAR-10)",
        "",
        f"Written by `python -m experiments.supernet_path_learning --steps {args.steps} --lr {args.lr}{flag}` (its docstring says what "
        f"each row trains). {args.images} training images, batch 64, SGD + Nesterov, lr {args.lr}, no learning-rate warm-up. "
        "Mean training loss per block of 10 steps (ln 10 = 2.303 is a uniform guess).",
        "",
        "| trains | " + " | ".join(f"steps {b + 1}–{min(b + 10, args.steps)}" for b in blocks) + " | seconds |",
        "| --- | " + " | ".join("---" for _ in blocks) + " | --- |",
    ]
    for mode in args.modes:
        started = time.perf_counter()
        values = losses(mode, x=x, y=y, steps=args.steps, lr=args.lr, batch=64, type_warmup=args.type_warmup)
        cells = " | ".join(f"{np.mean(values[b : b + 10]):.3f}" for b in blocks)
        lines.append(f"| {mode} | {cells} | {time.perf_counter() - started:.0f} |")
        print(lines[-1], flush=True)
        load = Path("/proc/loadavg").read_text().split()[0]
        body = lines + [
            "",
            f"Host: {cpu_model()}, {os.cpu_count()} cores (shared, noisy), 1 torch thread on "
            f"core(s) {sorted(os.sched_getaffinity(0))}; load average {load} at the end.",
            "",
        ]
        atomic_write_text(args.results, "\n".join(body))


if __name__ == "__main__":
    main()
