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
from functools import cache, cached_property
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from nas.errors import NasError
from nas.io import atomic_write_bytes

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")
MAX_IMAGE_SIDE = 1024  # the images of an imagefolder are resized to the first one's side and held in memory
TRAIN_DIRS, VAL_DIRS = ("train",), ("val", "valid", "validation", "test")


class DataError(NasError):
    """A ``--data`` spec that cannot be read: says which path and what was expected."""


@dataclass(frozen=True)
class ImageData:
    """Train and held-out images (uint8 NHWC) with integer labels.

    ``val_*`` is the data set's own held-out split (CIFAR-10's ``test_batch``, an
    ImageFolder's ``val/`` or ``test/`` folder): training and the supernet report
    their final test accuracy on it, and take their validation split from the
    training images with :func:`holdout`, so that nothing is tuned on the test set.
    """

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


def holdout(data: ImageData, *, fraction: float = 0.1, seed: int = 0) -> ImageData:
    """``data`` with a seeded, class-stratified ``fraction`` of its *training* images as the validation split.

    The result's ``train_*`` are the remaining training images and its ``val_*``
    the held-out ones; ``data.val_*`` (the test split) is not part of it.
    """
    if not 0.0 < fraction < 1.0:
        raise DataError(f"validation fraction {fraction!r}: must be between 0 and 1 (exclusive)")
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for label in np.unique(data.train_labels):
        members = np.flatnonzero(data.train_labels == label)
        take = int(round(len(members) * fraction))
        if len(members) > 1:
            take = min(max(take, 1), len(members) - 1)
        held.append(rng.choice(members, size=take, replace=False))
    val = np.sort(np.concatenate(held)) if held else np.zeros(0, dtype=np.int64)
    if len(val) == 0 or len(val) == len(data.train_labels):
        raise DataError(f"{data.name}: {len(data.train_labels)} training images are too few to hold out {fraction:.0%} for validation")
    keep = np.ones(len(data.train_labels), dtype=bool)
    keep[val] = False
    return ImageData(
        f"{data.name} (training images, {fraction:.0%} held out for validation, seed {seed})",
        data.train_images[keep],
        data.train_labels[keep],
        data.train_images[val],
        data.train_labels[val],
        data.classes,
    )


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
        entry = _unpickle(file)
        try:
            data = np.asarray(entry[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            return np.ascontiguousarray(data), np.asarray(entry[b"labels"], dtype=np.int64)
        except (KeyError, ValueError, TypeError, IndexError) as error:
            raise DataError(f"{file}: not a CIFAR-10 pickle batch ({type(error).__name__})") from None

    train = [read(f) for f in files]
    val_images, val_labels = read(root / "test_batch")
    classes = tuple(f"class{i}" for i in range(10))
    meta = root / "batches.meta"
    if meta.is_file():
        names = _unpickle(meta).get(b"label_names")
        if not (isinstance(names, list) and len(names) == 10 and all(isinstance(n, bytes) for n in names)):
            raise DataError(f"{meta}: b'label_names' must be a list of 10 byte strings")
        classes = tuple(_printable(name.decode("utf-8", "replace")) for name in names)
    return ImageData(
        "cifar10",
        np.concatenate([t[0] for t in train]),
        np.concatenate([t[1] for t in train]),
        val_images,
        val_labels,
        classes,
    )


@cache
def _allowed_globals() -> dict[tuple[str, str], object]:
    """The only globals a CIFAR-10 batch references (Python 2 cPickle, or rewritten by Python 3)."""
    import codecs

    reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]  # the function ndarray pickles itself with
    frombuffer = np.ndarray.__reduce_ex__(np.zeros(1), 5)[0]
    allowed: dict[tuple[str, str], object] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,
    }
    scalar = np.int64(0).__reduce__()[0]  # numpy scalars (labels saved as np.int64 rather than int)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = reconstruct
        allowed[(module, "scalar")] = scalar
    for module in ("numpy.core.numeric", "numpy._core.numeric"):
        allowed[(module, "_frombuffer")] = frombuffer
    return allowed


class _BatchUnpickler(pickle.Unpickler):
    """Reads data, never code: ``find_class`` resolves only numpy array reconstruction, nothing else."""

    def find_class(self, module: str, name: str) -> object:
        allowed = _allowed_globals().get((module, name))
        if allowed is None:
            raise pickle.UnpicklingError(f"refused global {_printable(module)}.{_printable(name)}")
        return allowed


def _unpickle(file: Path) -> dict:
    """One CIFAR batch through the restricted unpickler; any other global is refused, never imported."""
    try:
        with open(file, "rb") as handle:
            entry = _BatchUnpickler(handle, encoding="bytes").load()
    except OSError as error:
        raise DataError(f"{file}: cannot read: {error.strerror}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError) as error:
        reason = str(error) if isinstance(error, pickle.UnpicklingError) and str(error).startswith("refused") else type(error).__name__
        raise DataError(
            f"{file}: not a CIFAR-10 pickle batch ({_printable(reason)[:120]}; only numpy arrays, bytes, lists and dicts are read)"
        ) from None
    if not isinstance(entry, dict):
        raise DataError(f"{file}: not a CIFAR-10 pickle batch (expected a dict, got {type(entry).__name__})")
    return entry


def _printable(text: str) -> str:
    """``text`` with control characters (terminal escapes included) shown as escapes, for one-line errors."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


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
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as image:
            size = max(image.size)
    except Image.DecompressionBombError:
        raise DataError(f"{file}: image larger than {Image.MAX_IMAGE_PIXELS} pixels (a decompression bomb?); refused") from None
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise DataError(f"{file}: cannot decode image ({_printable(str(error))[:120]})") from None
    if size > MAX_IMAGE_SIDE:
        raise DataError(f"{file}: image side {size} px is larger than {MAX_IMAGE_SIDE}; pass smaller images")
    return size


def _decode(files: list[tuple[Path, int]], size: int, label: str) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image, UnidentifiedImageError
    from tqdm import tqdm

    images = np.empty((len(files), size, size, 3), dtype=np.uint8)
    for i, (file, _) in enumerate(tqdm(files, desc=label, unit="img", disable=len(files) < 2000, leave=False)):
        try:
            with Image.open(file) as image:
                if image.width * image.height > MAX_IMAGE_SIDE**2:  # checked on the header, before decoding
                    raise DataError(
                        f"{file}: image of {image.width}×{image.height} px is larger than {MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE}; refused"
                    )
                rgb = image.convert("RGB")
                if rgb.size != (size, size):
                    rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)  # the same filter as Image.BILINEAR
                images[i] = np.asarray(rgb)
        except Image.DecompressionBombError:
            raise DataError(f"{file}: image larger than {Image.MAX_IMAGE_PIXELS} pixels (a decompression bomb?); refused") from None
        except (OSError, UnidentifiedImageError, ValueError) as error:
            raise DataError(f"{file}: cannot decode image ({_printable(str(error))[:120]})") from None
    return images, np.array([label for _, label in files], dtype=np.int64)


MAX_SYNTHETIC = 100_000  # 16×16 images: 77 MB for the training and validation sets together


def _synthetic(argument: str) -> ImageData:
    if not argument:
        return synthetic_data()
    try:
        n = int(argument)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_SYNTHETIC:
        raise DataError(
            f"--data synthetic:{_printable(argument)[:40]}: expected synthetic or synthetic:N with N training images in 1..{MAX_SYNTHETIC}"
        )
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
        raise DataError(
            f"--data {spec!r}: unknown kind {kind!r} (known: {', '.join(f'{k}:PATH' if k != 'synthetic' else k for k in LOADERS)})"
        )
    if kind != "synthetic" and not argument:
        raise DataError(f"--data {spec!r}: give a path, e.g. {kind}:/data/{kind}")
    return loader(argument)
