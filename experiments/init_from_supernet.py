"""How many epochs does ``nas-train --init supernet:DIR`` save against training from scratch? (small scale)

    nice -n 10 taskset -c 1 python -m experiments.init_from_supernet       # resumable; about 20 CPU-minutes here
    python -m experiments.init_from_supernet --report                      # only rewrite the summary

Question: a candidate of a search space trained by ``nas.train`` from the weights it inherits from a trained
supernet (BatchNorm recalibrated, ``init="supernet:DIR"``) against the same candidate trained from a random
initialisation with the same recipe: how many epochs of the scratch run does the supernet's start save?

Method (SMALL SCALE, what one shared CPU core allows in ~25 minutes; not a statement about full CIFAR-10 or
ImageNet schedules): NAS-Bench-Macro's space at 16 px (CIFAR-10 downsampled on the fly), on a seeded subset of
CIFAR-10 (``--train-images`` training images, of which nas.train holds out 10 % for validation, seed 0; ``--test-images``
test images for the final test top-1). One supernet is trained with SPOS (``nas.supernet.sampling.make_task``) by
``nas.training``'s own loop (``nas.training.fit``; ``nas-supernet train`` was not merged when this was written) for
``--supernet-epochs`` epochs, and saved with ``nas.supernet.checkpoint.save_supernet`` with the same validation split as
the runs. Then ``--candidates`` seeded random architectures of the space are each trained twice by ``nas.train``
for ``--epochs`` epochs, with ``init="supernet:DIR"`` and from scratch, with one fixed recipe (SGD + Nesterov,
lr 0.05, 0.5-epoch warm-up then cosine, batch 64, label smoothing 0.1, seed 0), chosen before the run. The
validation top-1 after each epoch is read from the runs' metrics (epoch 0: the network before the first step).
"Epochs saved at k" = (epochs the scratch curve needs to reach the init run's validation top-1 after k epochs) − k;
when the scratch run never reaches it within ``--epochs``, it is reported as "> E − k". Both runs of a candidate use
one schedule of E epochs, so epoch j of a curve is not what a j-epoch schedule would reach (the cosine has not
decayed): a caveat of reading curves instead of training one run per budget, which the budget here did not allow.

Result files: experiments/results/init_from_supernet.{json,md}; runs in experiments/cache/init_from_supernet/<setting>/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nas.io import atomic_write_text

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BANK = RESULTS / "init_from_supernet.json"
CACHE = HERE / "cache" / "init_from_supernet"
SPACE = "nas_bench_macro"
VALIDATION = {"fraction": 0.1, "seed": 0}  # the supernet's held-out split = the runs' (val_fraction 0.1, seed 0)
RECIPE = {"batch_size": 64, "lr": 0.05, "warmup_epochs": 0.5, "label_smoothing": 0.1, "seed": 0, "val_fraction": 0.1}


def subset(data: Any, *, train: int, test: int, seed: int) -> Any:
    """A seeded subset of CIFAR-10 (training and test images drawn independently, sorted)."""
    from nas.proxies.data import ImageData

    rng = np.random.default_rng(seed)
    tr = np.sort(rng.choice(len(data.train_images), size=train, replace=False))
    te = np.sort(rng.choice(len(data.val_images), size=test, replace=False))
    return ImageData(
        f"cifar10-subset-{train}-{test}-seed{seed}",
        data.train_images[tr],
        data.train_labels[tr],
        data.val_images[te],
        data.val_labels[te],
        data.classes,
    )


class ReportedTask:
    """The SPOS rule as nas.training's loop reports a task: ``val_top1`` / ``val_loss`` (of the largest path) per epoch.

    The rule's own ``evaluate`` gives only the extreme paths' top-1 as fractions, and the loop's curve plot wants a
    top-1 in percent and a loss; ``nas-supernet train`` (another branch) settles this in the package.
    """

    def __init__(self, rule: Any) -> None:
        self.rule, self.module = rule, rule.module

    def loss(self, images: torch.Tensor, labels: torch.Tensor, *, step: int) -> torch.Tensor:
        return self.rule.loss(images, labels, step=step)

    def evaluate(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        extremes = self.rule.evaluate(images, labels)
        with torch.no_grad():
            logits = self.rule.supernet(images, self.rule.largest).float()
        return {
            "top1": 100.0 * extremes["top1_largest"],
            "top1_smallest": 100.0 * extremes["top1_smallest"],
            "loss": float(torch.nn.functional.cross_entropy(logits, labels)),
        }


def train_supernet(data: Any, *, folder: Path, epochs: int, resolution: int) -> dict[str, Any]:
    """SPOS through nas.training.fit; ``folder/supernet.pt`` (skipped when it is already there)."""
    from nas.space import get_space
    from nas.supernet import Supernet
    from nas.supernet.checkpoint import save_supernet
    from nas.supernet.sampling import make_task
    from nas.training import Recipe, fit

    record_path = folder / "training.json"
    if (folder / "supernet.pt").is_file() and record_path.is_file():
        return json.loads(record_path.read_text())
    space = get_space(SPACE, resolution=resolution).scaled(num_classes=data.num_classes)
    torch.manual_seed(0)
    supernet = Supernet(space=space)
    rule = make_task("spos", supernet=supernet, seed=0)
    task = ReportedTask(rule)
    recipe = Recipe(epochs=epochs, resolution=resolution, threads=1, checkpoint_minutes=2.0, **RECIPE)
    run = folder.parent / "supernet-run"
    identity = {"supernet": space.name, "resolution": resolution, "data": data.name, "rule": "spos"}
    started = time.time()
    result = fit(task, data, recipe, out=run, identity=identity, progress=False, title=f"SPOS supernet of {space.name}")
    save_supernet(folder, supernet=supernet, data=data, validation=VALIDATION, sampling=rule.settings(), training=recipe.settings())
    record = {
        "epochs": epochs,
        "settings": recipe.settings(),
        "history": result.history,
        "test": result.test,
        "train_seconds": round(result.seconds, 1),
        "wall_seconds_last_call": round(time.time() - started, 1),
    }
    atomic_write_text(record_path, json.dumps(record, indent=1) + "\n")
    return record


def scratch_epoch0(arch: Any, data: Any, resolution: int) -> float:
    """Validation top-1 of the random initialisation nas.train starts from (built with the run's seed)."""
    from dataclasses import replace

    from nas.builder import build_model
    from nas.training import Recipe
    from nas.training.init import initial_validation

    arch = replace(arch, num_classes=data.num_classes, resolution=resolution)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RECIPE["seed"])
        model = build_model(arch)
    recipe = Recipe(epochs=1, resolution=resolution, **RECIPE)
    return initial_validation(model, data, recipe, size=resolution)["val_top1"]


def epochs_saved(init: list[float], scratch: list[float]) -> list[str]:
    """Per k = 0..E: (first epoch j with scratch[j] ≥ init[k]) − k, or '> E − k' when scratch never gets there."""
    last = len(scratch) - 1
    saved = []
    for k, target in enumerate(init):
        reach = next((j for j, value in enumerate(scratch) if value >= target), None)
        saved.append(str(reach - k) if reach is not None else f"> {last - k}")
    return saved


def run_candidate(index: int, arch: Any, data: Any, *, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    from nas.api import train
    from nas.counting import count

    curves: dict[str, list[float]] = {}
    tests: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for mode in ("init", "scratch"):
        result = train(
            arch,
            data=data,
            out=folder.parent / f"c{index}-{mode}-e{args.epochs}",
            epochs=args.epochs,
            resolution=args.resolution,
            threads=1,
            checkpoint_minutes=2.0,
            progress=False,
            init=f"supernet:{folder}" if mode == "init" else None,
            **RECIPE,
        )
        start = result.summary["init"]["before_training"]["val_top1"] if mode == "init" else scratch_epoch0(arch, data, args.resolution)
        curves[mode] = [start, *(row["val_top1"] for row in result.history)]
        tests[mode] = result.test_top1
        seconds[mode] = result.summary["train_seconds"]
    return {
        "candidate": index,
        "arch": arch.to_string(),
        "macs": count(arch).macs,
        "val_top1": curves,
        "test_top1": tests,
        "train_seconds": seconds,
        "epochs_saved": epochs_saved(curves["init"], curves["scratch"]),
    }


def report() -> None:
    bank = json.loads(BANK.read_text())
    rows, setup = bank["candidates"], bank["setup"]
    sn = bank["supernet"]
    epochs = setup["epochs"]
    lines = [
        "# Epochs saved by `nas-train --init supernet:DIR` (small scale)",
        "",
        f"From `{setup['command']}` (see its docstring). **Small scale**: NAS-Bench-Macro's space at {setup['resolution']} px,",
        f"{setup['train_images']} CIFAR-10 training images (10 % held out for validation) and {setup['test_images']} test images;",
        f"SPOS supernet trained {sn['epochs']} epochs by nas.training's loop ({sn['train_seconds'] / 60:.1f} min); each candidate",
        f"trained {epochs} epochs by nas.train from the supernet's weights and from scratch, one recipe",
        f"({', '.join(f'{k} {v}' for k, v in setup['recipe'].items())}). Host: {setup['host']}.",
        "",
        f"Validation top-1 (%) after epoch 0…{epochs} (epoch 0: before the first step); epochs saved at k = epochs",
        "scratch needs to reach the init run's top-1 after k epochs, minus k.",
        "",
        "| candidate | MMACs | init: val top-1 per epoch | scratch: val top-1 per epoch | test top-1 init / scratch | epochs saved at k = 0…E |",
        "| --- | ---: | --- | --- | --- | --- |",
    ]
    for row in rows:
        curve = {m: " → ".join(f"{v:.1f}" for v in row["val_top1"][m]) for m in ("init", "scratch")}
        lines.append(
            f"| {row['candidate']} | {row['macs'] / 1e6:.1f} | {curve['init']} | {curve['scratch']} "
            f"| {row['test_top1']['init']:.2f} / {row['test_top1']['scratch']:.2f} | {', '.join(row['epochs_saved'])} |"
        )
    if rows:
        gain = [r["val_top1"]["init"][-1] - r["val_top1"]["scratch"][-1] for r in rows]
        start = [r["val_top1"]["init"][0] for r in rows]
        test_gain = [r["test_top1"]["init"] - r["test_top1"]["scratch"] for r in rows]
        spread = f" ± {statistics.stdev(gain):.2f}" if len(gain) > 1 else ""
        lines += [
            "",
            f"Over {len(rows)} candidates: init before any training {statistics.mean(start):.1f} % validation top-1 (mean);",
            f"after {epochs} epochs init − scratch = {statistics.mean(gain):+.2f}{spread} points validation,",
            f"{statistics.mean(test_gain):+.2f} points test (mean). Supernet: {sn['epochs']} SPOS epochs, largest/smallest path",
            f"validation top-1 {sn['history'][-1]['val_top1']:.1f} / {sn['history'][-1]['val_top1_smallest']:.1f} % "
            "(shared BN statistics, no recalibration).",
        ]
    atomic_write_text(RESULTS / "init_from_supernet.md", "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-images", type=int, default=10000)
    parser.add_argument("--test-images", type=int, default=2000)
    parser.add_argument("--resolution", type=int, default=16)
    parser.add_argument("--supernet-epochs", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--candidates", type=int, default=3)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if args.report:
        report()
        return
    torch.set_num_threads(1)
    from experiments._lib.data import cifar10
    from nas.space import get_space

    data = subset(cifar10(), train=args.train_images, test=args.test_images, seed=0)
    key = f"r{args.resolution}-n{args.train_images}-s{args.supernet_epochs}"
    folder = CACHE / key / "supernet"
    supernet = train_supernet(data, folder=folder, epochs=args.supernet_epochs, resolution=args.resolution)
    setup = {
        "command": "nice -n 10 taskset -c 1 python -m experiments.init_from_supernet "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "report"),
        "resolution": args.resolution,
        "train_images": args.train_images,
        "test_images": args.test_images,
        "epochs": args.epochs,
        "recipe": RECIPE,
        "host": f"{os.uname().machine}, 1 torch thread, taskset core {sorted(os.sched_getaffinity(0))}, load average {os.getloadavg()[0]:.2f} at start",
    }
    bank = json.loads(BANK.read_text()) if BANK.is_file() else {}
    if bank.get("setup", {}).get("command") != setup["command"]:
        bank = {"candidates": []}
    bank.update(setup=setup, supernet=supernet)
    space = get_space(SPACE, resolution=args.resolution)
    done = {row["candidate"] for row in bank["candidates"]}
    for index in range(args.candidates):
        if index in done:
            continue
        arch = space.random(100 + index).with_name(f"macro-candidate{index}")
        print(f"candidate {index}: {arch.to_string()}", flush=True)
        row = run_candidate(index, arch, data, folder=folder, args=args)
        bank["candidates"].append(row)
        bank["setup"]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        atomic_write_text(BANK, json.dumps(bank, indent=1) + "\n")
        report()
        print(f"candidate {index}: init {row['val_top1']['init']}, scratch {row['val_top1']['scratch']}", flush=True)


if __name__ == "__main__":
    main()
