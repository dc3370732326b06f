"""The training recipe: one frozen, validated settings object, and the optimiser and schedule it names.

Defaults (why):
- SGD with Nesterov momentum 0.9, lr 0.1 for a batch of 128, weight decay 5e-4: the standard CIFAR
  recipe for MobileNet-sized networks; AdamW (lr 2e-3, weight decay 0.05) for users who prefer it.
- No weight decay on BatchNorm parameters and biases (every parameter with fewer than 2 dimensions):
  decaying scales and shifts only fights the normalisation (Goyal et al. 2017, "bag of tricks").
- Linear warm-up (1 epoch) then cosine to zero, per step: large early steps on a random network
  diverge without warm-up; cosine needs no milestones to tune.
- Label smoothing 0.1: a cheap, reliable regulariser for small networks (Szegedy et al. 2016).
- EMA of the weights off by default: it helps long runs, and a short run's EMA lags the weights.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable

import torch
from torch import nn

from nas.errors import NasError


class TrainingError(NasError):
    """Training settings, an output folder or a checkpoint that cannot be used; says which and why."""


OPTIMIZERS = ("sgd", "adamw")
DEFAULT_LR = {"sgd": 0.1, "adamw": 2e-3}
DEFAULT_WEIGHT_DECAY = {"sgd": 5e-4, "adamw": 0.05}
# Settings that change how a run is carried out, not what it computes: a resumed run may change them.
OPERATIONAL = ("checkpoint_minutes", "threads", "device", "amp")


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """Everything that decides what a training run computes (and a few operational knobs, see OPERATIONAL).

    ``batch_size`` is per process: under ``torchrun`` with N processes a step sees N × batch_size images.
    ``lr`` and ``weight_decay`` of ``None`` take the optimiser's default (DEFAULT_LR, DEFAULT_WEIGHT_DECAY).
    ``resolution`` of ``None`` trains at the data's image size.
    """

    epochs: int = 30
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float | None = None
    weight_decay: float | None = None
    momentum: float = 0.9
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    ema: float | None = None
    val_fraction: float = 0.1
    seed: int = 0
    resolution: int | None = None
    checkpoint_minutes: float = 5.0
    threads: int | None = None
    device: str | None = None
    amp: bool = True

    def __post_init__(self) -> None:
        def bad(option: str, value: Any, allowed: str) -> TrainingError:
            return TrainingError(f"--{option.replace('_', '-')} {value!r}: {allowed}")

        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise bad(name, value, "must be a positive integer")
        if self.optimizer not in OPTIMIZERS:
            raise bad("optimizer", self.optimizer, f"must be one of {', '.join(OPTIMIZERS)}")
        checks: list[tuple[str, Any, bool, str]] = [
            ("lr", self.lr, self.lr is None or _finite(self.lr) and self.lr > 0, "must be a positive number"),
            (
                "weight_decay",
                self.weight_decay,
                self.weight_decay is None or _finite(self.weight_decay) and self.weight_decay >= 0,
                "must be a number ≥ 0",
            ),
            ("momentum", self.momentum, _finite(self.momentum) and 0 <= self.momentum < 1, "must be in [0, 1)"),
            (
                "warmup_epochs",
                self.warmup_epochs,
                _finite(self.warmup_epochs) and 0 <= self.warmup_epochs <= self.epochs,
                f"must be between 0 and --epochs ({self.epochs})",
            ),
            ("label_smoothing", self.label_smoothing, _finite(self.label_smoothing) and 0 <= self.label_smoothing < 1, "must be in [0, 1)"),
            ("ema", self.ema, self.ema is None or _finite(self.ema) and 0 < self.ema < 1, "the EMA decay must be in (0, 1), e.g. 0.999"),
            ("val_fraction", self.val_fraction, _finite(self.val_fraction) and 0 < self.val_fraction < 1, "must be in (0, 1)"),
            (
                "seed",
                self.seed,
                isinstance(self.seed, int) and not isinstance(self.seed, bool) and self.seed >= 0,
                "must be an integer ≥ 0",
            ),
            (
                "resolution",
                self.resolution,
                self.resolution is None or isinstance(self.resolution, int) and 8 <= self.resolution <= 1024,
                "must be an integer in 8..1024",
            ),
            (
                "checkpoint_minutes",
                self.checkpoint_minutes,
                _finite(self.checkpoint_minutes) and self.checkpoint_minutes >= 0,
                "must be a number ≥ 0 (0: after every step)",
            ),
            (
                "threads",
                self.threads,
                self.threads is None or isinstance(self.threads, int) and self.threads >= 1,
                "must be a positive integer",
            ),
            (
                "device",
                self.device,
                self.device is None or self.device in ("cpu", "cuda") or str(self.device).startswith("cuda:"),
                "must be cpu, cuda or cuda:N",
            ),
        ]
        for name, value, ok, allowed in checks:
            if not ok:
                raise bad(name, value, allowed)

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    @property
    def decay(self) -> float:
        return self.weight_decay if self.weight_decay is not None else DEFAULT_WEIGHT_DECAY[self.optimizer]

    def settings(self) -> dict[str, Any]:
        """All fields, with the optimiser defaults filled in (for result.json)."""
        return {**asdict(self), "lr": self.learning_rate, "weight_decay": self.decay}

    def identity(self) -> dict[str, Any]:
        """The fields that decide the result: a resumed run must match them."""
        return {k: v for k, v in self.settings().items() if k not in OPERATIONAL}

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parameter_groups(module: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on weights of ≥ 2 dimensions only: no decay on BatchNorm scales/shifts and biases."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for parameter in module.parameters():
        if parameter.requires_grad:
            (decay if parameter.ndim >= 2 else no_decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(module: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    groups = parameter_groups(module, recipe.decay)
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=recipe.learning_rate)
    return torch.optim.SGD(groups, lr=recipe.learning_rate, momentum=recipe.momentum, nesterov=recipe.momentum > 0)


def lr_factor(*, total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """Linear warm-up from 1/warmup to 1, then cosine from 1 to 0 at ``total_steps`` (per optimiser step)."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def build_schedule(optimizer: torch.optim.Optimizer, recipe: Recipe, steps_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    total = recipe.epochs * steps_per_epoch
    warmup = min(total, round(recipe.warmup_epochs * steps_per_epoch))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(total_steps=total, warmup_steps=warmup))
