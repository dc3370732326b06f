"""``nas-train`` / ``nas.train``: one found network, trained on the user's data, with every output in one folder.

The architecture comes in any form ``nas-export`` accepts (arch YAML, compact string,
space name with a width, a study trial); its classifier is sized to the data set's
classes and it trains at the recipe's resolution (default: the data's image size).
Everything that can be wrong with the input is checked before anything is written.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from nas.arch import ArchSpec
from nas.errors import NasError
from nas.io import atomic_write_text
from nas.proxies.data import ImageData, load_data
from nas.training.checkpoint import check_out
from nas.training.init import Start
from nas.training.recipe import Recipe, TrainingError

RESULT = "result.json"


@dataclass(frozen=True)
class TrainResult:
    """A finished run: its folder, final test accuracies (percent) and the contents of result.json."""

    out: Path
    test_top1: float
    test_top5: float
    weights: Path
    summary: dict[str, Any]

    @property
    def history(self) -> list[dict[str, Any]]:
        path = self.out / "metrics.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def resolve_arch(
    target: Any = None,
    *,
    storage: str | None = None,
    study_name: str | None = None,
    trial: str | int = "best",
    width: float | None = None,
    sample: int | None = None,
) -> ArchSpec:
    """The architecture to train, named the way ``nas-export`` names one (reuses its parsing and trial selection)."""
    if storage is not None:
        if target is not None:
            raise NasError("give either TARGET or --storage with --trial, not both")
        from nas.study.selection import load_study, select

        study = load_study(storage, study_name)
        chosen = select(study, str(trial))
        if len(chosen) != 1:
            raise NasError(f"--trial {trial}: nas-train trains one network; pass best or a trial number")
        return chosen[0].arch_spec().with_name(f"{study.study_name}-trial{chosen[0].number}")
    if target is None:
        raise NasError("give a TARGET (space, arch YAML or arch string) or --storage with a study")
    if isinstance(target, ArchSpec):
        return target
    from nas.target import load_target

    return load_target(str(target), width=width, sample=sample)[0]


def recipe_from(settings: dict[str, Any]) -> Recipe:
    unknown = sorted(set(settings) - set(Recipe.field_names()))
    if unknown:
        raise TrainingError(f"unknown training setting(s) {', '.join(unknown)} (known: {', '.join(Recipe.field_names())})")
    return Recipe(**settings)


def train(
    target: Any = None,
    *,
    data: str | ImageData,
    out: str | Path,
    storage: str | None = None,
    study_name: str | None = None,
    trial: str | int = "best",
    width: float | None = None,
    sample: int | None = None,
    num_classes: int | None = None,
    progress: bool = True,
    init: str | None = None,
    **settings: Any,
) -> TrainResult:
    """Train one architecture; ``settings`` are the fields of :class:`~nas.training.recipe.Recipe`.

    ``init="supernet:DIR"`` starts from the weights the architecture inherits from ``DIR/supernet.pt``
    (BatchNorm recalibrated) instead of a random initialisation. Rerunning the same call resumes an
    interrupted run (or returns a finished one); other settings on the same ``out`` are refused.
    """
    from nas.training.init import InitSpec

    recipe = recipe_from(settings)
    start_spec = InitSpec.parse(init) if init is not None else None
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise TrainingError(f"--out {out}: is a file, not a folder")
    arch = resolve_arch(target, storage=storage, study_name=study_name, trial=trial, width=width, sample=sample)
    dataset = load_data(data) if isinstance(data, str) else data
    if num_classes is not None and num_classes != dataset.num_classes:
        raise TrainingError(f"--num-classes {num_classes}: the data set {dataset.name} has {dataset.num_classes} classes")
    arch = replace(arch, num_classes=dataset.num_classes, resolution=recipe.resolution or dataset.size)
    identity = {
        "arch": arch.to_string(),
        "data": data if isinstance(data, str) else dataset.name,
        "train_images": int(len(dataset.train_images)),
        "test_images": int(len(dataset.val_images)),
    }
    if start_spec is not None:
        identity["init"] = start_spec.identity()
    from nas.proxies.data import holdout
    from nas.training.loop import epoch_steps, pick_device, run_identity

    full_identity = run_identity(identity, recipe)
    epoch_steps(holdout(dataset, fraction=recipe.val_fraction, seed=recipe.seed), recipe, full_identity["processes"])
    pick_device(recipe)
    state = check_out(out, full_identity)
    if state is not None and (out / RESULT).is_file() and (out / "weights.pt").is_file():
        if state["position"]["epoch"] >= recipe.epochs:
            summary = json.loads((out / RESULT).read_text())
            return TrainResult(out, summary["test_top1"], summary["test_top5"], out / "weights.pt", summary)
    start = None
    if start_spec is not None and state is None:  # a resumed run continues from its checkpoint, not from the init
        from nas.training.init import start_from

        start = start_from(start_spec, arch=arch, data=dataset, recipe=recipe)
    return _train(arch, dataset, recipe, out=out, identity=identity, progress=progress, start=start)


def _train(
    arch: ArchSpec, data: ImageData, recipe: Recipe, *, out: Path, identity: dict[str, Any], progress: bool, start: Start | None = None
) -> TrainResult:
    from nas.builder import build_model
    from nas.training.init import initial_validation, read_record, write_record
    from nas.training.loop import fit
    from nas.training.task import StandaloneTask
    from nas.weights import save_weights

    main_process = int(os.environ.get("RANK", "0")) == 0
    if main_process:
        atomic_write_text(out / "arch.yaml", arch.to_yaml())
    started = time.time()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        model = build_model(arch)
    if start is not None:
        model.load_state_dict(start.state_dict, strict=True)
        if main_process:
            before = initial_validation(model, data, recipe, size=arch.resolution)
            write_record(out, {**start.record, "before_training": before})
    task = StandaloneTask(model, label_smoothing=recipe.label_smoothing)
    result = fit(task, data, recipe, out=out, identity=identity, progress=progress, title=f"{arch.name} on {data.name}")
    mean, std = data.mean_std
    meta = {
        "data": identity["data"],
        "classes": list(data.classes),
        "normalise_mean": [float(v) for v in mean.flatten()],
        "normalise_std": [float(v) for v in std.flatten()],
        "epochs": recipe.epochs,
        "ema": recipe.ema,
        "init": f"{identity['init']['kind']}:{identity['init']['path']}" if "init" in identity else None,
        "test_top1": result.test.get("top1"),
        "test_top5": result.test.get("top5"),
    }
    summary = {
        "arch": arch.to_string(),
        "name": arch.name,
        "data": identity["data"],
        "test_top1": result.test.get("top1"),
        "test_top5": result.test.get("top5"),
        "test_loss": result.test.get("loss"),
        "test_images": identity["test_images"],
        "final_val_top1": result.history[-1].get("val_top1") if result.history else None,
        "settings": recipe.settings(),
        "processes": result.world.size,
        "global_batch": recipe.batch_size * result.world.size,
        "train_seconds": round(result.seconds, 1),
        "wall_seconds_this_call": round(time.time() - started, 1),
        "device": result.device,
        "precision": result.precision,
        "host": _host(result.device),
        "weights_from": "ema" if recipe.ema is not None else "final",
        "normalise": {"mean": meta["normalise_mean"], "std": meta["normalise_std"]},
        "init": read_record(out) if "init" in identity else None,
    }
    if main_process:
        save_weights(out / "weights.pt", arch=arch, state_dict=result.state_dict, meta=meta)
        atomic_write_text(out / RESULT, json.dumps(summary, indent=1) + "\n")
    return TrainResult(out, float(summary["test_top1"] or 0.0), float(summary["test_top5"] or 0.0), out / "weights.pt", summary)


def _host(device: str) -> dict[str, Any]:
    from nas.latency.host import fingerprint

    host = fingerprint(runtime="torch", provider=device, threads=torch.get_num_threads())
    host.pop("runtime_build", None)
    if device.startswith("cuda"):
        host["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return host
