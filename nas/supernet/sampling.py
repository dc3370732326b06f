"""Sampling rules: which paths of the supernet one training step trains, as training tasks.

* ``spos``: uniform single path (Guo et al., SPOS): one random architecture per step.
* ``sandwich``: the sandwich rule with in-place distillation (BigNAS / Once-for-All):
  the largest architecture learns from the labels, the smallest and ``random_paths``
  random ones learn from the largest's soft labels (detached), all in one step.
* ``fair``: strict fairness (Chu et al., FairNAS): per step as many paths as the
  largest block-type choice has types, each layer's types dealt to them in a random
  order, so every type of every layer is trained at least once per step on the same batch, and
  one update from the mean of their losses. Uniform sampling is fair only on average;
  this rule is meant to stop the score from telling types apart by how often, and in
  what order, their weights happened to be trained (experiments/supernet_band.py).

Op warm-up (TuNAS): block types of a stage's first layer keep separate weights and no
residual carries the features past them, so when their types change every step the
later layers see unrelated features and the supernet learns late or not at all
(experiments/supernet_path_learning.py; the learning rate matters more, see experiments/README.md). For the first ``type_warmup`` steps a random
path runs, with a probability falling linearly from 1 to 0, as the mean over those
layers' block types (``Supernet.forward_mean``): later layers learn on features all
types contribute to before each type has to stand alone.

Each rule implements the training loop's task contract (``TrainingTask``, a local
copy of ``nas.training.task``'s Protocol: importing it would make ``nas.supernet``
depend on ``nas.training``, which depends on ``nas.proxies``, which reads
``nas.supernet``): ``loss`` gives one step's scalar loss, ``evaluate`` the top-1
of the largest and smallest paths. ``nas.training.supernet`` trains them.
The architecture of a step depends only on the seed and the step number, so a
resumed run draws the same paths.
"""

from __future__ import annotations

import itertools
import random
from typing import Any, ClassVar, Protocol

import torch
from torch import nn

from nas.arch import ArchSpec
from nas.counting import count
from nas.space import SearchSpace
from nas.supernet.network import Supernet


class TrainingTask(Protocol):
    """What the one training loop trains (the contract of ``nas.training.task``)."""

    module: nn.Module

    def loss(self, images: torch.Tensor, labels: torch.Tensor, *, step: int) -> torch.Tensor: ...

    def evaluate(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]: ...


def extreme_arch(space: SearchSpace, *, largest: bool) -> ArchSpec:
    """The space's largest (or smallest) architecture by MACs.

    Widths and depths take their largest (smallest) choice; each layer's own
    parameters (type, kernel, expansion, ...) are chosen jointly, layer by layer,
    as the combination that makes the whole network's MACs largest (smallest).
    """
    parameters = space.parameters
    pick = max if largest else min
    params = {key: pick(values) for key, values in parameters.items() if key.rsplit(".", 1)[-1] in ("out", "width", "depth")}
    layers: dict[str, list[str]] = {}
    for key in parameters:
        if key not in params:
            layers.setdefault(key.rsplit(".", 1)[0], []).append(key)
    for keys in layers.values():  # a first value everywhere, then improve one layer at a time
        params.update({key: parameters[key][0] for key in keys})
    sign = 1 if largest else -1
    for keys in layers.values():
        best: tuple[int, dict[str, object]] | None = None
        for combo in itertools.product(*(parameters[key] for key in keys)):
            trial = {**params, **dict(zip(keys, combo))}
            macs = sign * count(space.arch(trial)).macs
            if best is None or macs > best[0]:
                best = (macs, dict(zip(keys, combo)))
        assert best is not None
        params.update(best[1])
    return space.arch(params, name=f"{space.name}-{'largest' if largest else 'smallest'}")


def has_first_layer_types(space: SearchSpace) -> bool:
    """Whether some stage's first layer has a block-type choice (where the op warm-up acts)."""
    return any(key.endswith(".b1.type") for key in space.parameters)


def first_layer_variants(space: SearchSpace, params: dict[str, Any]) -> list[dict[str, Any]]:
    """``params`` once per block type of the stages' first layers (``sN.b1.type``), each set to it where allowed.

    Empty when no first layer has a type choice (then there is nothing to warm up).
    """
    keys = [key for key in space.parameters if key.endswith(".b1.type")]
    types = dict.fromkeys(value for key in keys for value in space.parameters[key])
    return [{**params, **{key: kind for key in keys if kind in space.parameters[key]}} for kind in types]


def _top1(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return float((logits.argmax(1) == labels).float().mean())


class _Rule:
    """Shared by the rules: the supernet, a seeded architecture per (step, draw), the extreme paths."""

    name: ClassVar[str]
    warms_up_types: ClassVar[bool] = True  # whether ``type_warmup`` acts (``fair`` trains every type every step)

    def __init__(self, *, supernet: Supernet, seed: int = 0, type_warmup: int = 0) -> None:
        if type_warmup < 0:
            raise ValueError(f"type_warmup must be >= 0 steps, got {type_warmup}")
        self.module: nn.Module = supernet
        self.supernet, self.seed, self.type_warmup = supernet, seed, type_warmup
        self.largest = extreme_arch(supernet.space, largest=True)
        self.smallest = extreme_arch(supernet.space, largest=False)

    def random_params(self, step: int, draw: int = 0) -> dict[str, Any]:
        return self.supernet.space.random_params(random.Random(f"{self.seed}:{step}:{draw}"))

    def random_arch(self, step: int, draw: int = 0) -> ArchSpec:
        return self.supernet.space.arch(self.random_params(step, draw))

    def random_logits(self, images: torch.Tensor, *, step: int, draw: int = 0) -> torch.Tensor:
        """``random_arch(step, draw)``'s logits; in the type warm-up, perhaps the mean over its first layers' types."""
        space = self.supernet.space
        params = self.random_params(step, draw)
        mix = 1.0 - step / self.type_warmup if step < self.type_warmup else 0.0
        variants = first_layer_variants(space, params) if mix > 0 else []
        if len(variants) > 1 and random.Random(f"{self.seed}:{step}:{draw}:warmup").random() < mix:
            return self.supernet.forward_mean(images, [space.arch(variant) for variant in variants])
        return self.supernet(images, space.arch(params))

    def settings(self) -> dict[str, object]:
        return {"rule": self.name, "seed": self.seed, "type_warmup": self.type_warmup}

    def loss(self, images: torch.Tensor, labels: torch.Tensor, *, step: int) -> torch.Tensor:
        raise NotImplementedError  # each rule defines its step's loss

    def evaluate(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """The largest path's top-1 (percent) and loss, and the smallest path's top-1, with the shared running statistics.

        No BatchNorm recalibration (the ``supernet`` proxy recalibrates per candidate): these follow training, they
        do not score candidates. The keys are the ones ``nas.training`` writes for any task (``val_top1``, ``val_loss``).
        """
        self.supernet.eval()
        with torch.no_grad():
            largest = self.supernet(images, self.largest).float()
            return {
                "top1": 100.0 * _top1(largest, labels),
                "loss": float(nn.functional.cross_entropy(largest, labels)),
                "top1_smallest": 100.0 * _top1(self.supernet(images, self.smallest), labels),
            }


class UniformPath(_Rule):
    """SPOS: one uniformly drawn architecture per step, trained on the labels."""

    name = "spos"

    def loss(self, images: torch.Tensor, labels: torch.Tensor, *, step: int) -> torch.Tensor:
        self.supernet.train()
        return nn.functional.cross_entropy(self.random_logits(images, step=step), labels)


class Sandwich(_Rule):
    """Largest on the labels; smallest and ``random_paths`` random ones on the largest's soft labels."""

    name = "sandwich"

    def __init__(self, *, supernet: Supernet, seed: int = 0, type_warmup: int = 0, random_paths: int = 2) -> None:
        super().__init__(supernet=supernet, seed=seed, type_warmup=type_warmup)
        if random_paths < 0:
            raise ValueError(f"random_paths must be >= 0, got {random_paths}")
        self.random_paths = random_paths

    def settings(self) -> dict[str, object]:
        return {**super().settings(), "random_paths": self.random_paths}

    def loss(self, images: torch.Tensor, labels: torch.Tensor, *, step: int) -> torch.Tensor:
        self.supernet.train()
        teacher = self.supernet(images, self.largest)
        loss = nn.functional.cross_entropy(teacher, labels)
        soft = teacher.detach().softmax(1)
        students = [
            self.supernet(images, self.smallest),
            *(self.random_logits(images, step=step, draw=d) for d in range(self.random_paths)),
        ]
        for logits in students:
            loss = loss + nn.functional.cross_entropy(logits, soft)  # soft-label cross-entropy = KL + const
        return loss


class StrictFairness(_Rule):
    """FairNAS: every block type of every layer at least once per step, on the same batch, one update from the mean loss."""

    name = "fair"
    warms_up_types = False

    def fair_params(self, step: int) -> list[dict[str, Any]]:
        """The step's paths: other choices drawn as for SPOS, each type choice dealt out in a seeded random order.

        A layer with fewer types than there are paths deals its order again from the start, so its types are
        trained as evenly as the count allows.
        """
        parameters = self.supernet.space.parameters
        kinds = {key: values for key, values in parameters.items() if key.rsplit(".", 1)[-1] == "type"}
        paths = max((len(values) for values in kinds.values()), default=1)
        rng = random.Random(f"{self.seed}:{step}:fair")
        orders = {key: rng.sample(list(values), len(values)) for key, values in kinds.items()}
        return [
            {**self.random_params(step, draw), **{key: order[draw % len(order)] for key, order in orders.items()}} for draw in range(paths)
        ]

    def settings(self) -> dict[str, object]:
        return {"rule": self.name, "seed": self.seed}

    def loss(self, images: torch.Tensor, labels: torch.Tensor, *, step: int) -> torch.Tensor:
        self.supernet.train()
        space = self.supernet.space
        losses = [nn.functional.cross_entropy(self.supernet(images, space.arch(params)), labels) for params in self.fair_params(step)]
        return torch.stack(losses).mean()


RULES: dict[str, type[_Rule]] = {rule.name: rule for rule in (UniformPath, Sandwich, StrictFairness)}


def make_task(rule: str, *, supernet: Supernet, seed: int = 0, **options: int) -> _Rule:
    """The sampling rule ``rule`` (``spos``, ``sandwich`` or ``fair``) over ``supernet``."""
    if rule not in RULES:
        from nas.supernet.network import SupernetError

        raise SupernetError(f"unknown sampling rule {rule!r} (known: {', '.join(RULES)})")
    return RULES[rule](supernet=supernet, seed=seed, **options)
