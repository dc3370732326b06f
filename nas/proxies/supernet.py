"""Proxy ``supernet``: a candidate's top-1 with weights inherited from a trained supernet.

The candidate's network is cut out of the supernet (``Supernet.extract``), its
BatchNorm statistics are re-estimated on a few seeded training batches, and its
top-1 on the validation split is the score. The validation split is the one the
supernet was trained without (``nas.proxies.data.holdout`` of the *training*
images, fraction and seed read from the supernet file), never ``data.val_*``,
which is the test split. The calibration batches and validation images are the
same for every candidate of a seed, so scores compare candidates, not draws.

``rescore`` is the same score on the whole validation split (up to ``FINAL_VAL_IMAGES``): a search screens
every candidate on ``val_size`` images and re-ranks its finalists precisely (``nas.study.finalists``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from nas.arch import ArchSpec
from nas.proxies.base import Proxy, ProxyError, Report
from nas.proxies.data import ImageData, holdout


# Validation images per forward pass. In eval mode each image's output does not depend on the others, so this
# changes only speed (activations that fit in cache): 1.78 -> 1.34 s of CPU per 32-px nas_bench_macro candidate
# against one batch of 500 (experiments/supernet_proxy_cost.py, experiments/results/supernet_proxy_cost.md).
_EVAL_CHUNK = 64
# The finalists' validation images: the whole held-out split of CIFAR-10's default 10 % (5,000), capped so that the
# tensors of a large imagefolder split stay in memory (10,000 x 3 x 224 x 224 float32 = 6 GB would not).
FINAL_VAL_IMAGES = 5000


class SupernetProxy(Proxy):
    name = "supernet"
    needs_data = True
    uses_data = True
    options: ClassVar[tuple[str, ...]] = ("supernet",)
    description = "top-1 on the validation split with weights inherited from a trained supernet (--supernet DIR), BN recalibrated"
    evidence = (
        "a sandwich-rule supernet trained 1 epoch at 32 px (18 min on one CPU core) ranks 250 held-out NAS-Bench-Macro "
        "networks (half B) at Spearman +0.91 [0.89, 0.93] against their 50-epoch accuracy, above FLOPs' +0.78 and below the "
        "zero-cost default's +0.97 (fitted on that benchmark) (experiments/results/supernet_macro.md, python -m "
        "experiments.supernet_macro); on mobiledet_cifar, supernets trained up to two epochs on a CPU (spos, fair) "
        "ranked 48 networks of one latency band at -0.16 to +0.17, below FLOPs' +0.35 (experiments/results/supernet_band*.md); "
        "not measured for this search's supernet, whose training is in its result.json"
    )

    def __init__(
        self,
        *,
        supernet: str | Path | None = None,
        calibration_batches: int = 2,
        batch_size: int = 64,
        val_size: int = 500,
        device: str | None = None,
    ) -> None:
        if calibration_batches < 1 or batch_size < 1 or val_size < 1:
            raise ProxyError("supernet proxy: calibration_batches, batch_size and val_size must be positive")
        self.folder = None if supernet is None else Path(supernet)
        self.calibration_batches, self.batch_size, self.val_size = calibration_batches, batch_size, val_size
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self._supernet: Any = None
        self._payload: dict[str, Any] = {}
        self._checked: int | None = None  # id() of the data set already checked against the file
        self._inputs: dict[tuple[int, int, int], tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]] = {}

    def budget(self) -> str:
        return (
            f"BN recalibrated on {self.calibration_batches} × {self.batch_size} training images, "
            f"top-1 on ≤{self.val_size} validation images (held out of the training set)"
        )

    def prepare(self, *, space: Any = None, data: Any = None) -> None:
        """Load the supernet once; a file trained for another space, resolution or data set is refused here."""
        from nas.supernet.checkpoint import check_match, load_supernet

        if self.folder is None:
            raise ProxyError("the supernet proxy needs --supernet DIR (a folder written by nas-supernet train)")
        if self._supernet is None:
            self._supernet, self._payload = load_supernet(self.folder, space=space)
            self._supernet.to(self.device)
        elif space is not None:
            check_match(self._payload, space=space)
        if isinstance(data, ImageData) and self._checked != id(data):
            check_match(self._payload, data=data)
            self._checked = id(data)

    def score(self, arch: ArchSpec, *, seed: int = 0, data: Any = None, report: Report | None = None) -> float:
        return self._top1(arch, seed=seed, data=data, val_size=self.val_size)

    def rescore(self, arch: ArchSpec, *, seed: int = 0, data: Any = None) -> float:
        """The score on the whole validation split (≤ ``FINAL_VAL_IMAGES``): slower, for a search's finalists."""
        return self._top1(arch, seed=seed, data=data, val_size=max(self.val_size, FINAL_VAL_IMAGES))

    def _top1(self, arch: ArchSpec, *, seed: int, data: Any, val_size: int) -> float:
        from nas.supernet.calibrate import fold_batch_norm

        network = fold_batch_norm(self._inherit(arch, seed=seed, data=data))  # the same function, a third less CPU time
        _, val_x, val_y = self._data(data, seed, val_size=val_size)
        correct = 0
        with torch.inference_mode():
            for start in range(0, len(val_x), _EVAL_CHUNK):
                chunk = slice(start, start + _EVAL_CHUNK)
                correct += int((network(val_x[chunk]).argmax(1) == val_y[chunk]).sum())
        return correct / len(val_x)

    def _inherit(self, arch: ArchSpec, *, seed: int, data: Any) -> torch.nn.Module:
        """``arch``'s network with the inherited weights, BatchNorm recalibrated on ``seed``'s training batches (eval mode)."""
        if not isinstance(data, ImageData):
            raise ProxyError("the supernet proxy needs the data set it was trained on: --data cifar10:PATH, imagefolder:PATH or synthetic")
        self.prepare(data=data)
        supernet = self._supernet
        if arch.resolution != supernet.space.resolution:
            raise ProxyError(f"{arch.name} is at resolution {arch.resolution}; the supernet was trained at {supernet.space.resolution}")
        calibration, _, _ = self._data(data, seed, val_size=self.val_size)
        network = supernet.extract(replace(arch, num_classes=supernet.num_classes)).to(self.device)
        from nas.supernet.calibrate import recalibrate_bn

        return recalibrate_bn(network, calibration)

    def inherited_weights(self, arch: ArchSpec, *, seed: int, data: Any) -> tuple[ArchSpec, dict[str, torch.Tensor], dict[str, Any]]:
        """What ``score`` evaluated, as a ``nas.weights`` file's content: architecture, state dict and provenance."""
        network = self._inherit(arch, seed=seed, data=data)
        mean, std = data.mean_std
        meta = {
            "origin": "supernet-inherited",
            "note": f"inherited from the supernet {self._payload['path']}, BatchNorm recalibrated on "
            f"{self.calibration_batches} x {self.batch_size} training images",
            "supernet": str(self._payload["path"]),
            "data": str(data.name),
            "classes": list(data.classes),
            "normalise_mean": [float(v) for v in mean.flatten()],
            "normalise_std": [float(v) for v in std.flatten()],
        }
        state = {name: tensor.detach().cpu().clone() for name, tensor in network.state_dict().items()}
        return replace(arch, num_classes=self._supernet.num_classes), state, meta

    def _data(self, data: ImageData, seed: int, *, val_size: int) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """Calibration batches and ``val_size`` validation tensors for ``seed`` (made once, reused by every candidate).

        The calibration batches do not depend on ``val_size`` (they are drawn first from the seed's generator).
        """
        key = (id(data), seed, val_size)
        if key not in self._inputs:
            validation = self._payload["validation"]
            split = holdout(data, fraction=float(validation["fraction"]), seed=int(validation["seed"]))
            size = int(self._payload["space"]["resolution"])
            rng = np.random.default_rng(seed)
            count = min(self.calibration_batches * self.batch_size, len(split.train_images))
            picks = np.sort(rng.choice(len(split.train_images), size=count, replace=False))
            images = data.tensors(split.train_images[picks], size=size).to(self.device)  # the loop normalises by data's stats
            calibration = list(torch.split(images, self.batch_size))
            val_picks = np.sort(rng.choice(len(split.val_images), size=min(val_size, len(split.val_images)), replace=False))
            val_x = data.tensors(split.val_images[val_picks], size=size).to(self.device)
            val_y = torch.from_numpy(split.val_labels[val_picks].astype(np.int64)).to(self.device)
            kept = {k: v for k, v in self._inputs.items() if k[:2] == key[:2]}  # one data set and seed at a time
            self._inputs = {**kept, key: (calibration, val_x, val_y)}
        return self._inputs[key]
