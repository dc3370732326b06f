"""``--init supernet:DIR``: start a run from the weights the network inherits from a trained supernet.

The candidate is cut out of the supernet (``Supernet.extract``) and its BatchNorm
statistics are re-estimated on seeded training batches, exactly as the ``supernet``
proxy does before it scores a candidate (same split, same images, same count), so the
run starts from the network the search saw. Everything that can be refused (no or a
broken file, another data set, another resolution, an architecture outside the
supernet's space) is refused with one line before the run writes anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nas.arch import ArchSpec
from nas.io import atomic_write_text
from nas.proxies.data import ImageData, holdout
from nas.training.recipe import Recipe, TrainingError

FILE = "init.json"
# The supernet proxy's defaults (nas.proxies.supernet.SupernetProxy): the init is the network it scores.
# tests/training/test_init.py checks the two agree.
CALIBRATION_BATCHES = 2
CALIBRATION_BATCH = 64


@dataclass(frozen=True, kw_only=True)
class InitSpec:
    """A parsed ``--init KIND:PATH``."""

    kind: str
    path: Path

    @classmethod
    def parse(cls, text: str) -> InitSpec:
        kind, sep, path = str(text).partition(":")
        if not sep or kind not in STARTS or not path:
            raise TrainingError(f"--init {text!r}: expected {' or '.join(f'{k}:DIR' for k in STARTS)}")
        return cls(kind=kind, path=Path(path))

    def __str__(self) -> str:
        return f"{self.kind}:{self.path}"

    def identity(self) -> dict[str, str]:
        """What a resumed run must match: the kind and the resolved folder."""
        return {"kind": self.kind, "path": str(self.path.resolve())}


@dataclass(frozen=True)
class Start:
    """The weights a run starts from (a state dict of ``build_model(arch)``) and what to record about them."""

    state_dict: dict[str, torch.Tensor]
    record: dict[str, Any]


def calibration_batches(data: ImageData, payload: dict[str, Any], *, seed: int, size: int) -> list[torch.Tensor]:
    """The supernet proxy's BatchNorm batches for ``seed``: seeded images of the training part of the supernet's own split."""
    validation = payload["validation"]
    split = holdout(data, fraction=float(validation["fraction"]), seed=int(validation["seed"]))
    rng = np.random.default_rng(seed)
    count = min(CALIBRATION_BATCHES * CALIBRATION_BATCH, len(split.train_images))
    picks = np.sort(rng.choice(len(split.train_images), size=count, replace=False))
    return list(torch.split(split.tensors(split.train_images[picks], size=size), CALIBRATION_BATCH))


def supernet_start(init: InitSpec, *, arch: ArchSpec, data: ImageData, recipe: Recipe) -> Start:
    """``arch``'s inherited weights from ``init.path/supernet.pt``, BatchNorm recalibrated; one-line TrainingError otherwise."""
    from nas.errors import NasError
    from nas.supernet.calibrate import recalibrate_bn
    from nas.supernet.checkpoint import load_supernet

    where = f"--init {init}"
    try:
        supernet, payload = load_supernet(init.path, data=data)  # refuses a file trained on another data set
    except NasError as error:
        raise TrainingError(f"{where}: {str(error).removeprefix(f'--supernet {init.path}: ')}") from None
    space = supernet.space
    if arch.resolution != space.resolution:
        raise TrainingError(
            f"{where}: the supernet of space {space.name!r} was trained at resolution {space.resolution}, "
            f"this run trains at {arch.resolution} (pass --resolution {space.resolution})"
        )
    try:
        supernet.path(arch)
    except NasError as error:
        raise TrainingError(f"{where}: {error}") from None
    network = supernet.extract(arch)
    recalibrate_bn(network, calibration_batches(data, payload, seed=recipe.seed, size=space.resolution))
    validation = payload["validation"]
    same_split = float(validation["fraction"]) == recipe.val_fraction and int(validation["seed"]) == recipe.seed
    record = {
        "init": str(init),
        "kind": init.kind,
        "file": payload["path"],
        "space": payload["space"],
        "sampling": payload.get("sampling", {}),
        "supernet_training": payload.get("training", {}),
        "supernet_validation": dict(validation),
        "batchnorm": (
            f"recalibrated on {CALIBRATION_BATCHES} x {CALIBRATION_BATCH} seeded training images "
            f"(seed {recipe.seed}; the supernet proxy's rule)"
        ),
        "validation_split_is_the_supernets": same_split,
    }
    if not same_split:
        record["note"] = (
            f"this run holds out --val-fraction {recipe.val_fraction} with --seed {recipe.seed}, the supernet held out "
            f"{validation['fraction']} with seed {validation['seed']}: the supernet may have trained on this run's "
            "validation images, so its validation top-1 may read high (the test split is untouched by both)"
        )
    return Start({k: v.detach().clone() for k, v in network.state_dict().items()}, record)


STARTS: dict[str, Callable[..., Start]] = {"supernet": supernet_start}


def start_from(init: InitSpec, *, arch: ArchSpec, data: ImageData, recipe: Recipe) -> Start:
    return STARTS[init.kind](init, arch=arch, data=data, recipe=recipe)


def initial_validation(model: torch.nn.Module, data: ImageData, recipe: Recipe, *, size: int) -> dict[str, float]:
    """Top-1 / top-5 / loss of the initial network on this run's validation split, before the first step."""
    from nas.training.task import StandaloneTask

    split = holdout(data, fraction=recipe.val_fraction, seed=recipe.seed)
    task = StandaloneTask(model)
    totals: dict[str, float] = {}
    model.eval()
    with torch.no_grad():
        for first in range(0, len(split.val_images), 500):
            x = split.tensors(split.val_images[first : first + 500], size=size)
            y = torch.from_numpy(split.val_labels[first : first + 500].astype(np.int64))
            for key, value in task.evaluate(x, y).items():
                totals[key] = totals.get(key, 0.0) + value * len(y)
    model.train()
    return {f"val_{key}": value / max(1, len(split.val_images)) for key, value in totals.items()}


def write_record(out: Path, record: dict[str, Any]) -> None:
    atomic_write_text(out / FILE, json.dumps(record, indent=1) + "\n")


def read_record(out: Path) -> dict[str, Any] | None:
    path = out / FILE
    return json.loads(path.read_text()) if path.is_file() else None


__all__ = ["InitSpec", "Start", "calibration_batches", "initial_validation", "read_record", "start_from", "write_record"]
