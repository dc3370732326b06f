"""Image data for data-dependent proxies: ``--data cifar10:PATH | imagefolder:PATH | synthetic[:N]``.

Everything is held in memory as uint8 ``(N, H, W, 3)`` arrays (CIFAR-10 is 180 MB),
so proxies draw seeded batches without a DataLoader. Decoding an image folder is
slow (about 15 s for CIFAR-10's 60,000 JPEGs), so the decoded arrays are cached
as ``.npz`` under ``$NAS_CACHE`` (default ``~/.cache/nas``), keyed by the folder's
path, file count and modification times. Pillow decodes; torchvision is not needed.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from nas.errors import NasError
from nas.io import atomic_write_bytes

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")
TRAIN_DIRS, VAL_DIRS = ("train",), ("val", "valid", "validation", "test")


class DataError(NasError):
    """A ``--data`` spec that cannot be read: says which path and what was expected."""


@dataclass(frozen=True)
class ImageData:
    """Train and validation images (uint8 NHWC) with integer labels."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    val_images: np.ndarray
    val_labels: np.ndarray
    classes: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def size(self) -> int:
        return int(self.train_images.shape[1])

    @cached_property
    def mean_std(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel statistics of (up to 10,000) training images, for normalisation."""
        sample = self.train_images[:10000].reshape(-1, 3).astype(np.float64) / 255.0
        mean, std = sample.mean(0), sample.std(0) + 1e-6
        return torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)

    def tensors(self, images: np.ndarray, *, size: int | None = None) -> torch.Tensor:
        """uint8 NHWC → normalised float NCHW, resized (bilinear) to ``size`` when given."""
        x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)
        mean, std = self.mean_std
        x = (x - mean) / std
        if size is not None and size != x.shape[-1]:
            x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=size < x.shape[-1])
        return x

    def batch(self, n: int, *, seed: int, size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` training images drawn without replacement by ``seed`` (deterministic)."""
        rng = np.random.default_rng(seed)
        index = np.sort(rng.choice(len(self.train_images), size=min(n, len(self.train_images)), replace=False))
        return self.tensors(self.train_images[index], size=size), torch.from_numpy(self.train_labels[index].astype(np.int64))


# -- loaders ----------------------------------------------------------------------------


def synthetic_data(*, n_train: int = 512, n_val: int = 256, num_classes: int = 4, size: int = 16, seed: int = 0) -> ImageData:
    """A small learnable set: each class is a fixed random colour pattern plus noise (for tests)."""
    rng = np.random.default_rng(seed)
    prototypes = rng.uniform(0, 255, size=(num_classes, size, size, 3))

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, num_classes, size=n)
        images = prototypes[labels] + rng.normal(0, 60, size=(n, size, size, 3))
        return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.int64)

    train, val = draw(n_train), draw(n_val)
    classes = tuple(f"class{i}" for i in range(num_classes))
    return ImageData("synthetic", train[0], train[1], val[0], val[1], classes)


def load_cifar10(path: str | Path) -> ImageData:
    """The python-pickle CIFAR-10 batches (``data_batch_1..5``, ``test_batch``, ``batches.meta``)."""
    root = Path(path).expanduser()
    if (root / "cifar-10-batches-py").is_dir():
        root = root / "cifar-10-batches-py"
    files = [root / f"data_batch_{i}" for i in range(1, 6)]
    missing = [f.name for f in [*files, root / "test_batch"] if not f.is_file()]
    if not root.is_dir() or len(missing) == 6:
        raise DataError(f"{root}: not a CIFAR-10 python folder (expected data_batch_1..5 and test_batch)")
    if missing:
        raise DataError(f"{root}: missing CIFAR-10 batch file(s) {', '.join(missing)}")

    def read(file: Path) -> tuple[np.ndarray, np.ndarray]:
        try:
            with open(file, "rb") as handle:
                entry = pickle.load(handle, encoding="bytes")
            data = np.asarray(entry[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            return np.ascontiguousarray(data), np.asarray(entry[b"labels"], dtype=np.int64)
        except (OSError, pickle.UnpicklingError, KeyError, ValueError, EOFError) as error:
            raise DataError(f"{file}: not a CIFAR-10 pickle batch ({type(error).__name__}: {error})") from None

    train = [read(f) for f in files]
    val_images, val_labels = read(root / "test_batch")
    classes = tuple(f"class{i}" for i in range(10))
    meta = root / "batches.meta"
    if meta.is_file():
        with open(meta, "rb") as handle:
            names = pickle.load(handle, encoding="bytes").get(b"label_names")
        if names:
            classes = tuple(name.decode() for name in names)
    return ImageData(
        "cifar10",
        np.concatenate([t[0] for t in train]),
        np.concatenate([t[1] for t in train]),
        val_images,
        val_labels,
        classes,
    )


def load_imagefolder(path: str | Path, *, size: int | None = None, val_fraction: float = 0.1, cache: bool = True) -> ImageData:
    """Class sub-folders of images, as torchvision's ImageFolder.

    With ``train/`` and ``val/`` (or ``test/``) sub-folders those are the splits;
    otherwise a seeded ``val_fraction`` of each class is held out. Images are
    converted to RGB and resized to ``size`` (default: the first image's size).
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: no such folder (imagefolder:PATH wants class sub-folders of images)")
    train_dir = next((root / d for d in TRAIN_DIRS if (root / d).is_dir()), None)
    val_dir = next((root / d for d in VAL_DIRS if (root / d).is_dir()), None)
    if train_dir is not None and val_dir is not None:
        classes = _classes(train_dir)
        train_files, val_files = _files(train_dir, classes), _files(val_dir, classes)
    else:
        classes = _classes(root)
        train_files, val_files = _split(_files(root, classes), val_fraction)
    if not train_files or not val_files:
        raise DataError(f"{root}: need images in both the training and the validation split")
    key = _cache_key(root, size, [f for f, _ in train_files + val_files])
    cache_file = cache_dir() / f"imagefolder-{key}.npz"
    if cache and cache_file.is_file():
        with np.load(cache_file) as saved:
            return ImageData(f"imagefolder:{root}", saved["xt"], saved["yt"], saved["xv"], saved["yv"], tuple(classes))
    if size is None:
        size = _first_size(train_files[0][0])
    xt, yt = _decode(train_files, size, f"decoding {root.name} train")
    xv, yv = _decode(val_files, size, f"decoding {root.name} val")
    if cache:
        buffer = io.BytesIO()
        np.savez(buffer, xt=xt, yt=yt, xv=xv, yv=yv)
        atomic_write_bytes(cache_file, buffer.getvalue())
    return ImageData(f"imagefolder:{root}", xt, yt, xv, yv, tuple(classes))


def cache_dir() -> Path:
    return Path(os.environ.get("NAS_CACHE", Path.home() / ".cache" / "nas"))


def _classes(folder: Path) -> list[str]:
    classes = sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError(f"{folder}: no class sub-folders (imagefolder:PATH wants PATH/<class>/<image>)")
    return classes


def _files(folder: Path, classes: list[str]) -> list[tuple[Path, int]]:
    found = []
    for label, name in enumerate(classes):
        directory = folder / name
        if directory.is_dir():
            found += [(f, label) for f in sorted(directory.iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
    return found


def _split(files: list[tuple[Path, int]], fraction: float) -> tuple[list[tuple[Path, int]], list[tuple[Path, int]]]:
    rng = np.random.default_rng(0)
    train, val = [], []
    for label in sorted({label for _, label in files}):
        members = [item for item in files if item[1] == label]
        order = rng.permutation(len(members))
        n_val = max(1, round(len(members) * fraction)) if len(members) > 1 else 0
        val += [members[i] for i in order[:n_val]]
        train += [members[i] for i in order[n_val:]]
    return train, val


def _cache_key(root: Path, size: int | None, files: list[Path]) -> str:
    digest = hashlib.sha1(f"{root.resolve()}|{size}|{len(files)}".encode())
    for file in files:
        stat = file.stat()
        digest.update(f"{file.name}{stat.st_size}{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _first_size(file: Path) -> int:
    from PIL import Image

    with Image.open(file) as image:
        return max(image.size)


def _decode(files: list[tuple[Path, int]], size: int, label: str) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image, UnidentifiedImageError
    from tqdm import tqdm

    images = np.empty((len(files), size, size, 3), dtype=np.uint8)
    for i, (file, _) in enumerate(tqdm(files, desc=label, unit="img", disable=len(files) < 2000, leave=False)):
        try:
            with Image.open(file) as image:
                image = image.convert("RGB")
                if image.size != (size, size):
                    image = image.resize((size, size), Image.BILINEAR)
                images[i] = np.asarray(image)
        except (OSError, UnidentifiedImageError) as error:
            raise DataError(f"{file}: cannot decode image ({error})") from None
    return images, np.array([label for _, label in files], dtype=np.int64)


def _synthetic(argument: str) -> ImageData:
    if not argument:
        return synthetic_data()
    try:
        n = int(argument)
    except ValueError:
        raise DataError(f"synthetic:{argument}: expected synthetic or synthetic:N (N training images)") from None
    return synthetic_data(n_train=n, n_val=max(64, n // 2))


LOADERS: dict[str, Callable[[str], ImageData]] = {
    "synthetic": _synthetic,
    "cifar10": load_cifar10,
    "imagefolder": load_imagefolder,
}


def load_data(spec: str) -> ImageData:
    """``cifar10:PATH``, ``imagefolder:PATH`` or ``synthetic[:N]`` → in-memory images."""
    kind, _, argument = spec.partition(":")
    loader = LOADERS.get(kind)
    if loader is None:
        raise DataError(f"--data {spec!r}: unknown kind {kind!r} (known: {', '.join(f'{k}:PATH' if k != 'synthetic' else k for k in LOADERS)})")
    if kind != "synthetic" and not argument:
        raise DataError(f"--data {spec!r}: give a path, e.g. {kind}:/data/{kind}")
    return loader(argument)
