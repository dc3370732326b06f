"""``nas-supernet train`` / ``nas.train_supernet``: a weight-sharing supernet trained by the one loop.

The sampling rule (``nas.supernet.sampling``: SPOS or the sandwich rule) is the
:class:`~nas.training.task.TrainingTask`; ``nas.training.loop.fit`` does the rest
(seeded batches, checkpoints, exact resume after SIGKILL, progress, several
processes, AMP on a GPU). The folder ends with ``supernet.pt`` in the format the
``supernet`` proxy reads. This module lives in ``nas.training`` rather than in
``nas.supernet`` because the loop reads ``nas.proxies.data`` and the proxies read
``nas.supernet``: a driver inside ``nas.supernet`` would close that cycle.

Defaults that differ from ``nas-train``'s recipe (why):
- no label smoothing: the sandwich rule's students learn from the largest path's soft labels, and
  SPOS's single path is scored by plain top-1; smoothing would blur both (the rules use plain cross-entropy);
- the space's own resolution, not the data's image size: a search scores candidates at the space's
  resolution, and ``load_supernet`` refuses a supernet trained at another.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from nas.io import atomic_write_text
from nas.proxies.data import ImageData, load_data
from nas.space import SearchSpace, get_space
from nas.training.checkpoint import check_out
from nas.training.recipe import Recipe, TrainingError

RESULT = "result.json"
RULES = ("spos", "sandwich", "fair")  # the names of nas.supernet.sampling.RULES, for parsers (a test keeps them equal)
# Measured on NAS-Bench-Macro at 32 px (experiments/results/supernet_macro.md, tuned on half A): the sandwich rule after
# 1 epoch (18 min on one core) ranks at Spearman +0.93 [0.91, 0.94], SPOS after 5 epochs (27 min) at +0.86 [0.83, 0.88].
DEFAULT_RULE = "sandwich"
OUTPUTS = ("checkpoint.pt", "supernet.pt", "metrics.jsonl", "curve.png", RESULT)
# The op warm-up (nas.supernet.sampling) over the first quarter of the steps, as TuNAS warms up its ops.
DEFAULT_TYPE_WARMUP = 0.25
SUPERNET_DEFAULTS: dict[str, Any] = {"epochs": 10, "batch_size": 64, "lr": 0.05, "label_smoothing": 0.0}


@dataclass(frozen=True)
class SupernetResult:
    """A finished supernet run: its folder, ``supernet.pt`` and the contents of result.json."""

    out: Path
    path: Path
    summary: dict[str, Any]


def supernet_recipe(settings: dict[str, Any]) -> Recipe:
    """A :class:`Recipe` with the supernet's defaults (SUPERNET_DEFAULTS) under the caller's settings."""
    unknown = sorted(set(settings) - set(Recipe.field_names()))
    if unknown:
        raise TrainingError(f"unknown training setting(s) {', '.join(unknown)} (known: {', '.join(Recipe.field_names())})")
    if settings.get("ema") is not None:
        raise TrainingError("--ema: a supernet keeps no EMA (every step trains another path; the shared weights are the model)")
    return Recipe(**{**SUPERNET_DEFAULTS, **{k: v for k, v in settings.items() if v is not None}})


def train_supernet(
    space: str | SearchSpace,
    *,
    data: str | ImageData,
    out: str | Path,
    rule: str = DEFAULT_RULE,
    random_paths: int = 2,
    type_warmup: float = DEFAULT_TYPE_WARMUP,
    progress: bool = True,
    **settings: Any,
) -> SupernetResult:
    """Train a supernet over ``space`` on ``data`` into ``out``; rerunning the same call resumes (or returns) it.

    ``settings``: fields of :class:`~nas.training.recipe.Recipe` (``epochs``, ``batch_size``, ``lr``,
    ``val_fraction``, ``seed``, ``resolution`` [the space's], ``threads``, ``checkpoint_minutes``, ...).
    ``random_paths``: the sandwich rule's random students per step (ignored by SPOS).
    ``type_warmup``: the fraction of all steps of the op warm-up over the stages' first layers' block types
    (``nas.supernet.sampling``; recorded, and acting, only where the space has such choices).
    """
    from nas.supernet.checkpoint import data_identity, space_identity
    from nas.supernet.sampling import RULES as TASKS
    from nas.supernet.sampling import has_first_layer_types

    if rule not in RULES:
        raise TrainingError(f"--rule {rule!r}: must be one of {', '.join(RULES)}")
    if isinstance(random_paths, bool) or not isinstance(random_paths, int) or random_paths < 0:
        raise TrainingError(f"--random-paths {random_paths!r}: must be an integer ≥ 0")
    if isinstance(type_warmup, bool) or not isinstance(type_warmup, (int, float)) or not 0 <= type_warmup <= 1:
        raise TrainingError(f"--type-warmup {type_warmup!r}: must be a fraction of the training steps from 0 to 1")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise TrainingError(f"--out {out}: is a file, not a folder")
    recipe = supernet_recipe(settings)
    dataset = load_data(data) if isinstance(data, str) else data
    the_space = space if isinstance(space, SearchSpace) else get_space(space)
    if the_space.is_fixed():
        raise TrainingError(f"--space {the_space.name}: has no choices; a supernet is for a space with choices (e.g. mobiledet)")
    resolution = recipe.resolution or the_space.resolution
    the_space = the_space.scaled(resolution=resolution, num_classes=dataset.num_classes)
    recipe = Recipe(**{**recipe.settings(), "resolution": resolution})
    sampling: dict[str, Any] = {"rule": rule, **({"random_paths": random_paths} if rule == "sandwich" else {})}
    if has_first_layer_types(the_space) and TASKS[rule].warms_up_types:
        sampling["type_warmup"] = float(type_warmup)
    identity = {
        "supernet": {"space": space_identity(the_space), "sampling": sampling},
        "data": data if isinstance(data, str) else dataset.name,
        "data_identity": data_identity(dataset),
    }
    from nas.proxies.data import holdout
    from nas.training.loop import epoch_steps, pick_device, run_identity

    full_identity = run_identity(identity, recipe)
    steps = recipe.epochs * epoch_steps(
        holdout(dataset, fraction=recipe.val_fraction, seed=recipe.seed), recipe, full_identity["processes"]
    )
    pick_device(recipe)
    state = check_out(out, full_identity, outputs=OUTPUTS)
    if state is not None and (out / RESULT).is_file() and (out / "supernet.pt").is_file():
        if state["position"]["epoch"] >= recipe.epochs:
            return SupernetResult(out, out / "supernet.pt", json.loads((out / RESULT).read_text()))
    return _train(the_space, dataset, recipe, sampling=sampling, steps=steps, out=out, identity=identity, progress=progress)


def _train(
    space: SearchSpace,
    data: ImageData,
    recipe: Recipe,
    *,
    sampling: dict[str, Any],
    steps: int,
    out: Path,
    identity: dict[str, Any],
    progress: bool,
) -> SupernetResult:
    from nas.supernet import Supernet
    from nas.supernet.checkpoint import save_supernet
    from nas.supernet.sampling import make_task
    from nas.training.loop import fit

    started = time.time()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        supernet = Supernet(space=space)
    options = {"random_paths": sampling["random_paths"]} if "random_paths" in sampling else {}
    warmup = round(sampling.get("type_warmup", 0.0) * steps)
    task = make_task(sampling["rule"], supernet=supernet, seed=recipe.seed, type_warmup=warmup, **options)
    if supernet.unshared and progress and int(os.environ.get("RANK", "0")) == 0:
        print(f"these choices keep their own weights (their block type does not slice): {supernet.unshared}", flush=True)
    title = f"supernet ({sampling['rule']}) of {space.name} on {data.name}: largest path"
    result = fit(task, data, recipe, out=out, identity=identity, progress=progress, title=title)
    supernet.load_state_dict(result.state_dict)
    training = {
        **{k: v for k, v in recipe.settings().items() if isinstance(v, (str, int, float, bool)) or v is None},
        "steps": result.history[-1]["step"] if result.history else 0,
        "processes": result.world.size,
        "global_batch": recipe.batch_size * result.world.size,
        "seconds": round(result.seconds, 1),
        "device": result.device,
    }
    summary = {
        "space": space.name,
        "resolution": space.resolution,
        "data": identity["data"],
        "sampling": sampling,
        "final_val_top1_largest": result.history[-1].get("val_top1") if result.history else None,
        "final_val_top1_smallest": result.history[-1].get("val_top1_smallest") if result.history else None,
        "test_top1_largest": result.test.get("top1"),
        "test_top1_smallest": result.test.get("top1_smallest"),
        "note": "top-1 of the largest and smallest paths with the shared BatchNorm statistics (no recalibration); "
        "the supernet proxy recalibrates per candidate",
        "settings": recipe.settings(),
        "training": training,
        "unshared": supernet.unshared,
        "wall_seconds_this_call": round(time.time() - started, 1),
        "precision": result.precision,
    }
    path = out / "supernet.pt"
    if result.world.is_main:
        save_supernet(
            out,
            supernet=supernet,
            data=data,
            validation={"fraction": recipe.val_fraction, "seed": recipe.seed},
            sampling={**sampling, "seed": recipe.seed},
            training=training,
        )
        atomic_write_text(out / RESULT, json.dumps(summary, indent=1) + "\n")
    return SupernetResult(out, path, summary)
