"""CIFAR-10 batches through the restricted unpickler: real-format batches load, anything with code is refused."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from nas.proxies.data import DataError, load_data


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _batch(n: int, protocol: int) -> bytes:
    entry = {
        b"batch_label": b"training batch",
        b"labels": list(range(n)),
        b"data": np.arange(n * 3072, dtype=np.uint8).reshape(n, 3072),
        b"filenames": [b"f.png"] * n,
    }
    return pickle.dumps(entry, protocol=protocol)


def _folder(root: Path, test_batch: bytes) -> Path:
    root.mkdir()
    for i in range(1, 6):
        (root / f"data_batch_{i}").write_bytes(_batch(2, 2))
    (root / "test_batch").write_bytes(test_batch)
    return root


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_batches_of_every_protocol_load(tmp_path: Path, protocol: int) -> None:
    data = load_data(f"cifar10:{_folder(tmp_path / 'c', _batch(3, protocol))}")
    assert data.train_images.shape == (10, 32, 32, 3) and data.val_labels.tolist() == [0, 1, 2]


def test_a_python2_style_batch_naming_numpy_core_loads(tmp_path: Path) -> None:
    """Real CIFAR-10 batches were written by Python 2 and name ``numpy.core.multiarray._reconstruct``."""
    raw = _batch(3, 2)
    assert b"numpy._core.multiarray\n_reconstruct" in raw  # protocol 2 writes GLOBAL as text lines
    old = raw.replace(b"numpy._core.multiarray\n_reconstruct", b"numpy.core.multiarray\n_reconstruct")
    assert load_data(f"cifar10:{_folder(tmp_path / 'c', old)}").val_images.shape == (3, 32, 32, 3)


def test_a_malicious_batch_does_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    root = _folder(tmp_path / "c", pickle.dumps({b"data": _Evil(marker), b"labels": [0]}))
    with pytest.raises(DataError, match=r"test_batch: not a CIFAR-10 pickle batch \(refused global posix\.system") as error:
        load_data(f"cifar10:{root}")
    assert not marker.exists() and "\n" not in str(error.value)
