"""The supernet file ``DIR/supernet.pt``: trained shared weights and what they were trained for.

A ``torch.save`` of plain data (strings, numbers, dicts, tensors), read with
``torch.load(weights_only=True)``, so the file cannot run code. Besides the state
dict it records the space (name and a hash of its full definition, width,
resolution, classes), the data set's identity (name, sizes, a hash of a few
images and labels), the validation split taken from the training images, the
sampling rule and the training settings. Scores inherited from a supernet trained
for another space, resolution or data set would mislead, so ``load_supernet``
refuses them with one line.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from nas.io import atomic_write_bytes
from nas.space import SearchSpace, get_space, space_names
from nas.supernet.network import Supernet, SupernetError

if TYPE_CHECKING:
    from nas.proxies.data import ImageData

FORMAT = "nas-supernet"
VERSION = 1
FILE_NAME = "supernet.pt"
_FINGERPRINT_IMAGES = 32


def space_identity(space: SearchSpace) -> dict[str, Any]:
    """Name, a hash of every choice of the definition (not its file path), and the applied width / resolution / classes."""
    definition = {key: value for key, value in asdict(space.definition).items() if key not in ("source", "description")}
    text = json.dumps(definition, sort_keys=True, default=repr)
    return {
        "name": space.name,
        "hash": hashlib.sha256(text.encode()).hexdigest()[:16],
        "width": space.width,
        "resolution": space.resolution,
        "num_classes": space.num_classes,
    }


def data_identity(data: ImageData) -> dict[str, Any]:
    """Sizes, classes and a hash of a few evenly spaced training and test images with their labels."""
    digest = hashlib.sha256()
    for images, labels in ((data.train_images, data.train_labels), (data.val_images, data.val_labels)):
        picks = np.linspace(0, len(images) - 1, num=min(_FINGERPRINT_IMAGES, len(images))).astype(np.int64)
        digest.update(np.ascontiguousarray(images[picks]).tobytes())
        digest.update(np.ascontiguousarray(labels[picks]).astype(np.int64).tobytes())
    return {
        "name": data.name,
        "train": int(len(data.train_images)),
        "test": int(len(data.val_images)),
        "image": list(map(int, data.train_images.shape[1:])),
        "classes": list(data.classes),
        "hash": digest.hexdigest()[:16],
    }


def save_supernet(
    folder: str | Path,
    *,
    supernet: Supernet,
    data: ImageData,
    validation: dict[str, Any],
    sampling: dict[str, Any],
    training: dict[str, Any],
) -> Path:
    """Write ``folder/supernet.pt`` atomically; ``validation``: the held-out fraction and seed of the training images."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "space": space_identity(supernet.space),
        "space_source": supernet.space.definition.source,
        "data": data_identity(data),
        "validation": dict(validation),
        "sampling": dict(sampling),
        "training": dict(training),
        "state_dict": {name: tensor.detach().cpu().clone() for name, tensor in supernet.state_dict().items()},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path = Path(folder) / FILE_NAME
    atomic_write_bytes(path, buffer.getvalue())
    return path


def read_supernet(folder: str | Path) -> dict[str, Any]:
    """The file's payload, checked for format and version (no space or data check yet)."""
    folder = Path(folder)
    path = folder / FILE_NAME if folder.is_dir() or not folder.suffix else folder
    if not path.is_file():
        raise SupernetError(f"--supernet {folder}: no {FILE_NAME} there (train one with nas-supernet train --space S --data D --out DIR)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated zip, not a torch file, or a pickle asking for a global
        reason = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        raise SupernetError(f"--supernet {path}: not a readable supernet file ({reason})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise SupernetError(f"--supernet {path}: not a supernet file (no format: {FORMAT})")
    if payload.get("version") != VERSION:
        raise SupernetError(f"--supernet {path}: version {payload.get('version')!r} is not supported (this nas reads {VERSION})")
    for key in ("space", "data", "validation", "state_dict"):
        if not isinstance(payload.get(key), dict):
            raise SupernetError(f"--supernet {path}: {key} is missing or not a mapping")
    payload["path"] = str(path)
    return payload


def check_match(payload: dict[str, Any], *, space: SearchSpace | None = None, data: ImageData | None = None) -> None:
    """One SupernetError line when the file was trained for another space, resolution, width or data set."""
    where = f"--supernet {payload['path']}"
    stored = payload["space"]
    if space is not None:
        wanted = space_identity(space)
        if stored.get("name") != wanted["name"] or stored.get("hash") != wanted["hash"]:
            raise SupernetError(
                f"{where}: trained for space {stored.get('name')!r} (definition {stored.get('hash')}), "
                f"not {wanted['name']!r} (definition {wanted['hash']}); train one for this space"
            )
        for key in ("resolution", "width"):  # classes: the data's (checked below), as the train proxy sizes them
            if stored.get(key) != wanted[key]:
                raise SupernetError(f"{where}: trained at {key} {stored.get(key)!r}, the search uses {wanted[key]!r}")
    if data is not None:
        have, wanted_data = payload["data"], data_identity(data)
        for key in ("train", "test", "image", "classes", "hash"):
            if have.get(key) != wanted_data[key]:
                raise SupernetError(
                    f"{where}: trained on another data set ({have.get('name')!r}: {key} {str(have.get(key))[:60]}), "
                    f"not {wanted_data['name']!r} ({key} {str(wanted_data[key])[:60]})"
                )


def load_supernet(
    folder: str | Path, *, space: SearchSpace | None = None, data: ImageData | None = None
) -> tuple[Supernet, dict[str, Any]]:
    """The trained supernet and its file's settings; ``space`` / ``data`` given: refuse a file trained for others."""
    payload = read_supernet(folder)
    check_match(payload, space=space, data=data)
    if space is None:
        stored = payload["space"]
        source = payload.get("space_source")
        where = source if isinstance(source, str) and stored.get("name") not in space_names() and Path(source).is_file() else stored["name"]
        try:
            space = get_space(
                str(where),
                width=stored["width"],
                resolution=stored["resolution"],
                num_classes=stored["num_classes"],
            )
        except Exception as error:
            raise SupernetError(f"--supernet {payload['path']}: its space {stored.get('name')!r} cannot be loaded here ({error})") from None
        check_match(payload, space=space)
    supernet = Supernet(space=space.scaled(num_classes=int(payload["space"]["num_classes"])))
    try:
        supernet.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as error:
        first = str(error).splitlines()[0][:200]
        raise SupernetError(f"--supernet {payload['path']}: its weights do not fit the space's supernet ({first})") from None
    supernet.eval()
    return supernet, payload
