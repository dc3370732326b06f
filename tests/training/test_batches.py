"""Seeded batches: one process with batch 2B draws what two processes with batch B draw together."""

from __future__ import annotations

import numpy as np
import torch

from nas.training.batches import augment, shard, step_indices, steps_per_epoch


def test_two_shards_make_the_doubled_batch() -> None:
    whole = step_indices(100, seed=3, epoch=2, step=4, batch=16, rank=0, world=1)
    parts = [step_indices(100, seed=3, epoch=2, step=2, batch=8, rank=r, world=2) for r in (0, 1)]
    np.testing.assert_array_equal(np.concatenate(parts), step_indices(100, seed=3, epoch=2, step=2, batch=16, rank=0, world=1))
    assert len(set(whole)) == 16
    assert not np.array_equal(step_indices(100, seed=3, epoch=3, step=4, batch=16, rank=0, world=1), whole)
    assert steps_per_epoch(100, 16) == 6


def test_augmentation_depends_only_on_seed_epoch_step_and_the_row() -> None:
    images = np.random.default_rng(0).integers(0, 255, (6, 32, 32, 3), dtype=np.uint8)
    whole = augment(images, seed=1, epoch=0, step=5, offset=0, size=32)
    halves = [augment(images[i : i + 3], seed=1, epoch=0, step=5, offset=i, size=32) for i in (0, 3)]
    assert torch.equal(torch.cat(halves), whole)
    assert not torch.equal(augment(images, seed=1, epoch=0, step=6, offset=0, size=32), whole)
    assert whole.shape == (6, 3, 32, 32) and 0.0 <= float(whole.min()) and float(whole.max()) <= 1.0
    assert augment(images, seed=1, epoch=0, step=5, offset=0, size=24).shape == (6, 3, 24, 24)


def test_large_images_get_random_resized_crops() -> None:
    images = np.random.default_rng(0).integers(0, 255, (4, 96, 96, 3), dtype=np.uint8)
    out = augment(images, seed=0, epoch=0, step=0, offset=0, size=64)
    assert out.shape == (4, 3, 64, 64)
    assert torch.equal(out, augment(images, seed=0, epoch=0, step=0, offset=0, size=64))


def test_evaluation_shards_cover_every_image_once() -> None:
    parts = [shard(101, rank=r, world=3) for r in range(3)]
    assert [i for p in parts for i in range(101)[p]] == list(range(101))
