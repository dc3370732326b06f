"""Data loading: imagefolder (Pillow), CIFAR-10 python pickles, synthetic; caching and errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nas.proxies import DataError, load_data
from nas.proxies.data import cache_dir


def _png(path: Path, colour: tuple[int, int, int], size: int = 12) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), colour).save(path)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NAS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_imagefolder_with_split_folders(tmp_path: Path, private_cache: Path) -> None:
    for split, n in (("train", 3), ("val", 2)):
        for name, colour in (("cat", (255, 0, 0)), ("dog", (0, 0, 255))):
            for i in range(n):
                _png(tmp_path / "images" / split / name / f"{i}.png", colour)
    data = load_data(f"imagefolder:{tmp_path / 'images'}")
    assert data.classes == ("cat", "dog")
    assert data.train_images.shape == (6, 12, 12, 3) and data.val_images.shape == (4, 12, 12, 3)
    assert data.train_images.dtype == np.uint8
    assert list(data.train_labels) == [0, 0, 0, 1, 1, 1]
    assert tuple(data.train_images[0, 0, 0]) == (255, 0, 0) and tuple(data.train_images[-1, 0, 0]) == (0, 0, 255)
    assert len(list(private_cache.glob("imagefolder-*.npz"))) == 1
    again = load_data(f"imagefolder:{tmp_path / 'images'}")  # from the cache
    assert np.array_equal(again.train_images, data.train_images)
    images, labels = data.batch(4, seed=0, size=8)
    assert tuple(images.shape) == (4, 3, 8, 8) and labels.dtype.is_floating_point is False


def test_imagefolder_without_splits_holds_out_a_fraction(tmp_path: Path) -> None:
    for name, colour in (("a", (10, 20, 30)), ("b", (200, 100, 0))):
        for i in range(10):
            _png(tmp_path / "flat" / name / f"{i}.jpg", colour, size=9 + i % 2)  # mixed sizes are resized
    data = load_data(f"imagefolder:{tmp_path / 'flat'}")
    assert len(data.val_images) == 2 and len(data.train_images) == 18
    assert data.size == data.val_images.shape[1]


def test_imagefolder_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such folder"):
        load_data(f"imagefolder:{tmp_path / 'missing'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no class sub-folders"):
        load_data(f"imagefolder:{tmp_path / 'empty'}")
    bad = tmp_path / "bad" / "x" / "0.png"
    bad.parent.mkdir(parents=True)
    bad.write_text("not an image")
    _png(tmp_path / "bad" / "x" / "1.png", (1, 2, 3))
    with pytest.raises(DataError, match="cannot decode"):
        load_data(f"imagefolder:{tmp_path / 'bad'}")


def _cifar_batch(path: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    entry = {b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, size=n))}
    path.write_bytes(pickle.dumps(entry))


def test_cifar10_pickles(tmp_path: Path) -> None:
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    for i in range(1, 6):
        _cifar_batch(root / f"data_batch_{i}", 4, i)
    _cifar_batch(root / "test_batch", 3, 9)
    (root / "batches.meta").write_bytes(pickle.dumps({b"label_names": [f"c{i}".encode() for i in range(10)]}))
    data = load_data(f"cifar10:{tmp_path}")  # the parent folder works too
    assert data.train_images.shape == (20, 32, 32, 3) and data.val_images.shape == (3, 32, 32, 3)
    assert data.classes[3] == "c3" and data.num_classes == 10
    raw = pickle.loads((root / "data_batch_1").read_bytes())[b"data"][0]
    assert data.train_images[0, 0, 1, 0] == raw[1] and data.train_images[0, 0, 0, 2] == raw[2048]  # CHW planes → HWC


def test_cifar10_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a CIFAR-10 python folder"):
        load_data(f"cifar10:{tmp_path}")
    _cifar_batch(tmp_path / "data_batch_1", 2, 0)
    with pytest.raises(DataError, match="missing CIFAR-10 batch"):
        load_data(f"cifar10:{tmp_path}")


def test_specs() -> None:
    assert load_data("synthetic:100").train_images.shape[0] == 100
    with pytest.raises(DataError, match="unknown kind 'mnist'"):
        load_data("mnist:/x")
    with pytest.raises(DataError, match="give a path"):
        load_data("cifar10")
    with pytest.raises(DataError, match="synthetic:N"):
        load_data("synthetic:many")


def test_cache_dir_follows_environment(private_cache: Path) -> None:
    assert cache_dir() == private_cache


def test_holdout_takes_validation_from_training_images_only():
    from nas.proxies.data import holdout, synthetic_data

    data = synthetic_data(n_train=200, n_val=50, num_classes=4, seed=1)
    split = holdout(data, fraction=0.25, seed=3)
    assert len(split.train_labels) + len(split.val_labels) == 200
    train_rows = {row.tobytes() for row in data.train_images}
    assert all(row.tobytes() in train_rows for row in split.val_images)  # never the test split
    assert set(np.unique(split.val_labels)) == set(np.unique(data.train_labels))  # stratified
    again = holdout(data, fraction=0.25, seed=3)
    assert np.array_equal(again.val_images, split.val_images)  # seeded
    with pytest.raises(DataError, match="between 0 and 1"):
        holdout(data, fraction=1.0)
