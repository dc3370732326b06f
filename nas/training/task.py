"""What the trainer optimises: a *task* owns the module, its loss and its evaluation.

The loop (``nas.training.loop``) knows nothing about networks or supernets: it shards
and augments batches, steps the optimiser, averages gradients across processes,
keeps the EMA, checkpoints and evaluates, all through this small contract. A plain
network is the simplest task; a weight-sharing supernet is another (several
sub-network forwards per step, one loss).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import nn


@runtime_checkable
class TrainingTask(Protocol):
    """The contract between the trainer and what it trains."""

    module: nn.Module  # what is optimised, checkpointed and kept in sync across processes

    def loss(self, images: torch.Tensor, labels: torch.Tensor, *, step: int) -> torch.Tensor:
        """One step's scalar loss (may combine several forwards); ``step`` counts optimiser steps from 0."""
        ...

    def evaluate(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """Metrics of one batch (e.g. top1, top5, loss); the loop averages them weighted by batch size."""
        ...


class StandaloneTask:
    """One network trained with label-smoothed cross-entropy; evaluated by top-1, top-5 (percent) and loss."""

    def __init__(self, module: nn.Module, *, label_smoothing: float = 0.0) -> None:
        self.module = module
        self.label_smoothing = label_smoothing

    def loss(self, images: torch.Tensor, labels: torch.Tensor, *, step: int) -> torch.Tensor:
        return nn.functional.cross_entropy(self.module(images), labels, label_smoothing=self.label_smoothing)

    def evaluate(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        logits = self.module(images).float()
        return {**top_k(logits, labels), "loss": float(nn.functional.cross_entropy(logits, labels))}


def top_k(logits: torch.Tensor, labels: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> dict[str, float]:
    """Top-k accuracies in percent; k is capped at the number of classes (top-5 of 4 classes is 100)."""
    ranked = logits.topk(min(max(ks), logits.shape[1]), dim=1).indices
    hits = ranked == labels.unsqueeze(1)
    return {f"top{k}": 100.0 * float(hits[:, :k].any(dim=1).float().mean()) for k in ks}
