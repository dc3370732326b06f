"""Short-training proxy: train the candidate for a fixed number of steps, return validation accuracy.

Intermediate accuracies go to ``report(step, accuracy) -> bool`` (see nas.proxies.base)
every ``eval_every`` steps and at the end, so Optuna pruners (median, successive
halving) can stop bad candidates; a True answer raises ``ProxyPruned``. Images
are resized to ``min(arch.resolution, resolution)``; the classifier is sized to the
data set's classes. Uses CUDA when available, else the CPU.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn

from nas.arch import ArchSpec
from nas.builder import build_model
from nas.proxies.base import Proxy, ProxyError, ProxyPruned, Report
from nas.proxies.data import ImageData


class TrainProxy(Proxy):
    name = "train"
    needs_data = True
    uses_data = True
    description = "validation accuracy after a short SGD run (reports intermediate accuracies for pruning)"

    def __init__(
        self,
        *,
        steps: int = 150,
        batch_size: int = 64,
        lr: float = 0.1,
        weight_decay: float = 5e-4,
        resolution: int = 32,
        eval_every: int = 50,
        val_size: int = 1000,
        device: str | None = None,
    ) -> None:
        if steps < 1 or batch_size < 1 or eval_every < 1 or val_size < 1:
            raise ProxyError("train proxy: steps, batch_size, eval_every and val_size must be positive")
        self.steps, self.batch_size, self.lr, self.weight_decay = steps, batch_size, lr, weight_decay
        self.resolution, self.eval_every, self.val_size = resolution, eval_every, val_size
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))

    def budget(self) -> str:
        return (
            f"{self.steps} SGD steps of batch {self.batch_size} ({self.steps * self.batch_size:,} images) at "
            f"≤{self.resolution}px, lr {self.lr} warm-up + cosine, validation on {self.val_size} images"
        )

    def score(self, arch: ArchSpec, *, seed: int = 0, data: Any = None, report: Report | None = None) -> float:
        if not isinstance(data, ImageData):
            raise ProxyError("the train proxy needs a data set: --data cifar10:PATH, imagefolder:PATH or synthetic")
        arch = replace(arch, num_classes=data.num_classes)
        size = min(arch.resolution, self.resolution)
        rng = np.random.default_rng(seed)
        val_index = np.sort(rng.choice(len(data.val_images), size=min(self.val_size, len(data.val_images)), replace=False))
        val_x = data.tensors(data.val_images[val_index], size=size).to(self.device)
        val_y = torch.from_numpy(data.val_labels[val_index]).to(self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_model(arch).to(self.device)
        optimiser = torch.optim.SGD(model.parameters(), lr=self.lr, momentum=0.9, nesterov=True, weight_decay=self.weight_decay)
        warmup = max(1, self.steps // 10)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser,
            lambda step: (
                (step + 1) / warmup if step < warmup else 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, self.steps - warmup)))
            ),
        )
        order = rng.permutation(len(data.train_images))
        accuracy = 0.0
        for step in range(1, self.steps + 1):
            start = ((step - 1) * self.batch_size) % len(order)
            index = np.sort(np.take(order, np.arange(start, start + self.batch_size), mode="wrap"))
            x = data.tensors(data.train_images[index], size=size).to(self.device)
            if rng.random() < 0.5:  # cheap augmentation: horizontal flip of the whole batch
                x = x.flip(3)
            y = torch.from_numpy(data.train_labels[index]).to(self.device)
            model.train()
            loss = nn.functional.cross_entropy(model(x), y)
            if not torch.isfinite(loss):
                raise ProxyError(f"train proxy: loss became {float(loss)} at step {step}")
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            if step % self.eval_every == 0 or step == self.steps:
                accuracy = self._accuracy(model, val_x, val_y)
                if report is not None and report(step, accuracy):
                    raise ProxyPruned(step, accuracy)
        return accuracy

    def _accuracy(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
        model.eval()
        correct = 0
        with torch.no_grad():
            for start in range(0, len(x), 500):
                correct += int((model(x[start : start + 500]).argmax(1) == y[start : start + 500]).sum())
        return correct / len(x)
