"""Trained weights on disk: one file that names the architecture it belongs to.

``nas-train`` writes it and ``nas-export --weights`` reads it. The file is a
``torch.save`` of plain data only (the architecture as a dict, tensors, numbers,
strings), and it is read with ``torch.load(weights_only=True)``, so a weights
file cannot run code. The architecture inside is compared with the one asked
for, so weights of another network are refused with one line instead of a
shape error deep in ``load_state_dict``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nas.arch import ArchSpec
from nas.errors import NasError, SpecError
from nas.io import atomic_write_bytes

if TYPE_CHECKING:
    import torch

FORMAT = "nas-weights"
VERSION = 1


class WeightsError(NasError):
    """A weights file that is missing, damaged, or belongs to another architecture."""


def save_weights(path: str | Path, *, arch: ArchSpec, state_dict: dict[str, torch.Tensor], meta: dict[str, Any] | None = None) -> Path:
    """Write ``state_dict`` of the network built from ``arch`` atomically; ``meta``: plain numbers and strings."""
    import torch

    payload = {
        "format": FORMAT,
        "version": VERSION,
        "arch": arch.to_dict(),
        "state_dict": {name: tensor.detach().cpu().clone() for name, tensor in state_dict.items()},
        "meta": dict(meta or {}),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def load_weights(path: str | Path, *, arch: ArchSpec | None = None) -> tuple[ArchSpec, dict[str, torch.Tensor], dict[str, Any]]:
    """``(arch, state_dict, meta)`` from a file of :func:`save_weights`; with ``arch``, refuse another network's weights."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"--weights {path}: no such file (write one with nas-train ARCH --data D --out DIR)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated zip, not a torch file, or a pickle that asks for a global
        reason = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        raise WeightsError(f"--weights {path}: not a readable nas-weights file ({reason})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise WeightsError(f"--weights {path}: not a nas-weights file (no format: {FORMAT})")
    if payload.get("version") != VERSION:
        raise WeightsError(f"--weights {path}: version {payload.get('version')!r} is not supported (this nas reads {VERSION})")
    try:
        stored = ArchSpec.from_dict(payload.get("arch"), source=f"{path} (arch)")
    except SpecError as error:
        raise WeightsError(f"--weights {error}") from None
    state = payload.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise WeightsError(f"--weights {path}: state_dict must map names to tensors")
    if arch is not None and _comparable(stored) != _comparable(arch):
        raise WeightsError(f"--weights {path}: trained for another architecture ({stored.to_string()[:120]}), not {arch.to_string()[:120]}")
    meta = payload.get("meta")
    return stored, state, meta if isinstance(meta, dict) else {}


def _comparable(arch: ArchSpec) -> tuple[Any, ...]:
    """The layers. Not the name, and not ``num_classes`` or ``resolution``: training sizes the classifier to the
    data set and may train at the data's resolution, and the stored architecture (returned) is the one to build."""
    return (arch.in_channels, arch.stem, arch.blocks, arch.head)
