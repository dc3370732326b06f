"""The shared CIFAR-10 copy (JPEG image folders in a tarball), unpacked and decoded once for the experiments."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# NAS_CIFAR10_TAR: the tarball elsewhere (e.g. copied to a GPU host that has no ../shared)
CIFAR_TAR = Path(os.environ.get("NAS_CIFAR10_TAR", ROOT.parent / "shared" / "data" / "cifar10" / "cifar10-jpeg.tar.gz"))
CACHE = Path(__file__).resolve().parent / "cache"


def cifar10():  # noqa: ANN201 - nas.proxies.data.ImageData
    """Unpacked under experiments/cache on first use; the decoded arrays are cached as .npz (see NAS_CACHE)."""
    from nas.proxies.data import load_imagefolder

    if not CIFAR_TAR.is_file():
        raise SystemExit(f"{CIFAR_TAR}: CIFAR-10 is not there (the shared data folder is needed for this experiment)")
    folder = CACHE / "cifar10"
    if not (folder / "test").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(CIFAR_TAR) as tar:
            tar.extractall(folder, filter="data")
    os.environ.setdefault("NAS_CACHE", str(CACHE / "npz"))
    return load_imagefolder(folder)
