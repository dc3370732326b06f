"""Seeded batches: the order of an epoch, each process's share of a step, and the augmentation.

Every random choice is a function of ``(seed, epoch, step)`` only, never of a stream
that advances: a run resumed at step k of epoch e draws exactly the images and crops
the uninterrupted run drew, and N processes together draw what one process with an
N-times larger batch draws (each takes its contiguous slice of the step's images,
as DistributedSampler does with a shared seeded permutation).
"""

from __future__ import annotations

import math

import numpy as np
import torch

SMALL_IMAGE = 64  # up to this side: pad-and-crop (CIFAR style); above: random-resized crop (ImageNet style)
PAD = 4
CROP_SCALE = (0.25, 1.0)  # area fraction of a random-resized crop (timm's 0.08 is for ImageNet-size data)
CROP_RATIO = (3 / 4, 4 / 3)


def steps_per_epoch(n_images: int, global_batch: int) -> int:
    """Full steps only (the last partial batch is dropped), so that every step has the same size on every process."""
    return n_images // global_batch


def step_indices(n_images: int, *, seed: int, epoch: int, step: int, batch: int, rank: int, world: int) -> np.ndarray:
    """This process's image indices for ``step`` of ``epoch``: its slice of the step's ``world × batch`` images."""
    order = np.random.default_rng([seed, epoch]).permutation(n_images)
    start = step * batch * world + rank * batch
    return order[start : start + batch]


def augment(images: np.ndarray, *, seed: int, epoch: int, step: int, offset: int, size: int) -> torch.Tensor:
    """Crop + horizontal flip of uint8 NHWC images → float NCHW in [0, 1] at ``size``.

    The random draws are made for the step's whole global batch and this process takes
    rows ``offset .. offset + len(images)``, so sharding does not change any image's crop.
    """
    rng = np.random.default_rng([seed, epoch, step, 1])
    total = offset + len(images)
    side = images.shape[1]
    if side <= SMALL_IMAGE:
        dy, dx = (rng.integers(0, 2 * PAD + 1, total)[offset:] for _ in range(2))
        flip = (rng.random(total) < 0.5)[offset:]
        padded = np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD), (0, 0)), mode="reflect")
        out = np.empty_like(images)
        for i in range(len(images)):
            crop = padded[i, dy[i] : dy[i] + side, dx[i] : dx[i] + side]
            out[i] = crop[:, ::-1] if flip[i] else crop
        return to_float(out, size=size)
    area = rng.uniform(*CROP_SCALE, total)[offset:]
    ratio = np.exp(rng.uniform(math.log(CROP_RATIO[0]), math.log(CROP_RATIO[1]), total))[offset:]
    corner = rng.random((total, 2))[offset:]
    flip = (rng.random(total) < 0.5)[offset:]
    crops: list[torch.Tensor] = []
    for i in range(len(images)):
        h = int(min(side, round(side * math.sqrt(area[i] / ratio[i]))))
        w = int(min(side, round(side * math.sqrt(area[i] * ratio[i]))))
        y, x = int(corner[i, 0] * (side - h)), int(corner[i, 1] * (side - w))
        piece = to_float(images[i : i + 1, y : y + h, x : x + w], size=size)
        crops.append(piece.flip(3) if flip[i] else piece)
    return torch.cat(crops)


def to_float(images: np.ndarray, *, size: int) -> torch.Tensor:
    """uint8 NHWC → float NCHW in [0, 1], resized (bilinear, antialiased when shrinking) to ``size``."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)
    if x.shape[-2:] != (size, size):
        shrink = size < max(x.shape[-2:])
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)
    return x


def shard(n: int, *, rank: int, world: int) -> slice:
    """This process's contiguous part of ``n`` evaluation images (the parts differ in size by at most one)."""
    return slice(n * rank // world, n * (rank + 1) // world)
