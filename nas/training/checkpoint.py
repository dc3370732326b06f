"""``DIR/checkpoint.pt``: the whole state of a run, written atomically, read with ``weights_only=True``.

It holds the module, optimiser, schedule, EMA and GradScaler states, the torch RNG
states, the position inside the epoch and the metrics so far, plus the settings
that decide the result (the *identity*): a rerun of the same command resumes, a
different command on the same folder is refused instead of mixing two runs.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import torch

from nas.io import atomic_write_bytes
from nas.training.recipe import TrainingError

FORMAT = "nas-checkpoint"
VERSION = 1
NAME = "checkpoint.pt"
# What nas-train writes into its folder; a folder holding anything else is not one of its runs.
OUTPUTS = ("checkpoint.pt", "weights.pt", "metrics.jsonl", "curve.png", "arch.yaml", "result.json", "init.json")


def save(out: Path, state: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, **state}, buffer)
    atomic_write_bytes(out / NAME, buffer.getvalue())


def load(out: Path) -> dict[str, Any] | None:
    """The checkpoint in ``out``, or None when there is none."""
    path = out / NAME
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated zip, not a torch file, a pickle asking for a global
        reason = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        raise TrainingError(f"{path}: not a readable checkpoint ({reason}); remove it to start over") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or state.get("version") != VERSION:
        raise TrainingError(f"{path}: not a nas-train checkpoint (format {FORMAT} version {VERSION}); remove it to start over")
    return state


def check_out(out: Path, identity: dict[str, Any], *, outputs: tuple[str, ...] = OUTPUTS) -> dict[str, Any] | None:
    """Refuse an ``--out`` that is a file, a foreign folder, or a run with other settings; return its checkpoint if any.

    ``outputs``: the file names a run of this kind writes (nas-train's by default; ``nas-supernet train`` passes its own).
    """
    if out.exists() and not out.is_dir():
        raise TrainingError(f"--out {out}: is a file, not a folder")
    if not out.is_dir():
        return None
    state = load(out)
    if state is None:
        foreign = sorted(p.name for p in out.iterdir() if p.name not in outputs and not p.name.startswith("."))
        if foreign:
            raise TrainingError(f"--out {out}: holds other files ({', '.join(foreign[:3])}); pass a new or empty folder")
        return None
    differing = mismatch(state.get("identity"), identity)
    if differing:
        raise TrainingError(
            f"--out {out}: holds a run with other settings ({differing}); rerun its command to resume, or pass another --out"
        )
    return state


def mismatch(stored: Any, asked: dict[str, Any]) -> str:
    """'' when equal, else the first differing settings, as 'key: stored here, asked now'."""
    if not isinstance(stored, dict):
        return "no settings recorded"
    flat_stored, flat_asked = _flatten(stored), _flatten(asked)
    keys = sorted(set(flat_stored) | set(flat_asked))
    differing = [k for k in keys if _canonical(flat_stored.get(k)) != _canonical(flat_asked.get(k))]
    return "; ".join(f"{k}: {_short(flat_stored.get(k))} here, {_short(flat_asked.get(k))} asked" for k in differing[:3])


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _short(value: Any) -> str:
    text = _canonical(value)
    return text if len(text) <= 60 else text[:57] + "..."
