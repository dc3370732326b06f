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

    Row ``i`` is the step's global row ``offset + i``, and its draws come from its own
    generator seeded by ``(seed, epoch, step, row)``: sharding does not change any image's crop.
    """
    side = images.shape[1]
    draws = [np.random.default_rng([seed, epoch, step, offset + i]).random(5) for i in range(len(images))]
    if side <= SMALL_IMAGE:
        padded = np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD), (0, 0)), mode="reflect")
        out = np.empty_like(images)
        for i, (u_y, u_x, u_flip, _, _) in enumerate(draws):
            dy, dx = int(u_y * (2 * PAD + 1)), int(u_x * (2 * PAD + 1))
            crop = padded[i, dy : dy + side, dx : dx + side]
            out[i] = crop[:, ::-1] if u_flip < 0.5 else crop
        return to_float(out, size=size)
    crops: list[torch.Tensor] = []
    for i, (u_y, u_x, u_flip, u_area, u_ratio) in enumerate(draws):
        area = CROP_SCALE[0] + u_area * (CROP_SCALE[1] - CROP_SCALE[0])
        ratio = math.exp(math.log(CROP_RATIO[0]) + u_ratio * (math.log(CROP_RATIO[1]) - math.log(CROP_RATIO[0])))
        h = int(min(side, round(side * math.sqrt(area / ratio))))
        w = int(min(side, round(side * math.sqrt(area * ratio))))
        y, x = int(u_y * (side - h)), int(u_x * (side - w))
        piece = to_float(images[i : i + 1, y : y + h, x : x + w], size=size)
        crops.append(piece.flip(3) if u_flip < 0.5 else piece)
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
