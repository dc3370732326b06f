"""A run's readable outputs: ``metrics.jsonl`` (one JSON object per epoch) and ``curve.png``, both written whole and atomically."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from nas.io import atomic_write_bytes, atomic_write_text


def write_metrics(path: Path, history: list[dict[str, Any]]) -> None:
    """All epochs so far, rewritten whole: a resumed run never repeats or loses a line."""
    atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in history))


def plot_curve(path: Path, history: list[dict[str, Any]], *, title: str) -> None:
    """Training and validation loss (left) and validation top-1 (right) per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    left.plot(epochs, [row["loss"] for row in history], marker="o", ms=3, label="train (augmented, smoothed)")
    left.plot(epochs, [row["val_loss"] for row in history], marker="o", ms=3, label="validation")
    left.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    left.legend(fontsize=8)
    right.plot(epochs, [row["val_top1"] for row in history], marker="o", ms=3, color="tab:green")
    right.set(xlabel="epoch", ylabel="top-1 (%)", title="validation top-1 (held-out training images)")
    for axis in (left, right):
        axis.grid(alpha=0.3)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
