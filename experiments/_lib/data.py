"""Data the experiments read from the workspace folder beside the repository (../shared/data): CIFAR-10, NAS-Bench-Macro."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
# The workspace data folder beside the repository; NAS_DATA_DIR points elsewhere (e.g. from a git worktree).
DATA_DIR = Path(os.environ.get("NAS_DATA_DIR", ROOT.parent / "shared" / "data"))
# NAS_CIFAR10_TAR: the tarball elsewhere (e.g. copied to a GPU host that has no ../shared)
CIFAR_TAR = Path(os.environ.get("NAS_CIFAR10_TAR", DATA_DIR / "cifar10" / "cifar10-jpeg.tar.gz"))
CACHE = ROOT / "experiments" / "cache"


def cifar10():
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


STAGES = (2, 3, 3)
BENCH = DATA_DIR / "nas-bench-macro" / "nas-bench-macro_cifar10.json"


def canonical(key: str) -> str:
    """The benchmark's notion of one network: an identity after a stage's first layer does nothing, so those move to
    the stage's end; the first layer stays put (there an identity is a strided 1×1 projection, another network)."""
    out, start = [], 0
    for length in STAGES:
        first, rest = key[start], key[start + 1 : start + length]
        out.append(first + "".join(d for d in rest if d != "0") + "0" * rest.count("0"))
        start += length
    return "".join(out)


def load_bench() -> dict[str, dict]:
    """Distinct networks (3,969 of the 6,561 keys), keyed by their canonical key."""
    data = json.loads(BENCH.read_text())
    distinct: dict[str, dict] = {}
    for key, entry in data.items():
        distinct.setdefault(canonical(key), entry)
    if len(distinct) != 3969:
        raise SystemExit(f"{BENCH}: {len(distinct)} distinct networks, expected NAS-Bench-Macro's 3,969")
    return distinct
