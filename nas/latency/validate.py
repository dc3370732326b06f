"""Fidelity: do table predictions match whole networks timed end to end under the same settings?

``measure_archs`` exports each architecture whole (same exporter, opset, precision
as the ops) and times them round-robin, so that a noisy spell of the shared
machine hits every network alike. ``fit_correction`` closes the gap between the
sum of isolated op timings and a network's latency (see ``Correction``);
``fidelity`` reports the figures stored in the table header.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nas.arch import ArchSpec
from nas.latency.profile import TimingOptions, export_arch, export_onnx, time_models_interleaved
from nas.latency.table import LatencyTable


@dataclass(frozen=True)
class Measured:
    """End-to-end latency of one network: median over all runs and the spread of its round medians."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    runs: int
    round_spread: float  # (max - min) / median of the per-round medians: run-to-run repeatability

    def to_dict(self) -> dict[str, float]:
        return {"median_ms": self.median_ms, "p10_ms": self.p10_ms, "p90_ms": self.p90_ms, "runs": self.runs, "round_spread": self.round_spread}


def measure_archs(archs: Sequence[ArchSpec], *, precision: str, provider: str = "CPUExecutionProvider", timing: TimingOptions | None = None,
                  rounds: int = 10, runs_per_round: int = 20, progress: bool = True) -> list[Measured]:
    """Export and time whole networks, interleaved (``rounds`` × ``runs_per_round`` runs each)."""
    from tqdm import tqdm

    timing = timing or TimingOptions()
    with tempfile.TemporaryDirectory(prefix="nas-validate-") as scratch:
        models = []
        for i, arch in enumerate(tqdm(archs, desc="exporting networks", unit="net", disable=not progress)):
            path = export_arch(arch, Path(scratch), precision=precision, name=f"net{i:04d}")
            models.append((path, (1, arch.in_channels, arch.resolution, arch.resolution)))
        bar = tqdm(total=rounds, desc="timing networks (interleaved rounds)", unit="round", disable=not progress)
        results = time_models_interleaved(models, provider=provider, options=timing, rounds=rounds, runs_per_round=runs_per_round,
                                          progress=lambda _: bar.update())
        bar.close()
    measured = []
    for entry, medians in results:
        spread = (max(medians) - min(medians)) / entry.median_ms if entry.median_ms > 0 else 0.0
        measured.append(Measured(entry.median_ms, entry.p10_ms, entry.p90_ms, entry.runs, spread))
    return measured


def call_overhead_ms(*, provider: str = "CPUExecutionProvider", timing: TimingOptions | None = None) -> float:
    """Fixed cost of one ``session.run`` (binding, dispatch, output allocation): an identity-like model on 1 value.

    Every isolated op timing pays it once; a whole network pays it once in total.
    """
    import torch

    timing = timing or TimingOptions()
    with tempfile.TemporaryDirectory(prefix="nas-overhead-") as scratch:
        path = export_onnx(torch.nn.ReLU(), (1, 1, 1, 1), Path(scratch) / "identity.onnx")
        [(entry, _)] = time_models_interleaved([(path, (1, 1, 1, 1))], provider=provider, options=timing, rounds=5, runs_per_round=200)
    return entry.median_ms


def layer_count(arch: ArchSpec) -> int:
    """Table entries per network: stem, blocks, head."""
    return len(arch.blocks) + 2


def fit_correction(raw_sums: Sequence[float], layers: Sequence[int], measured: Sequence[float], *, overhead_ms: float) -> dict[str, Any]:
    """Context correction: ``latency = scale × (sum − layers × overhead) + overhead``.

    Isolated timings count the per-call overhead once per op instead of once per
    network, and see warm caches (the op's weights stay resident between runs),
    which a network's neighbours evict. The first is measured directly
    (``call_overhead_ms``); the second is a single multiplicative factor fitted
    by least squares on a few calibration networks, then checked on held-out ones.
    """
    net = np.asarray(raw_sums, float) - np.asarray(layers, float) * overhead_ms
    target = np.asarray(measured, float) - overhead_ms
    scale = float(net @ target / (net @ net))
    return {
        "scale": round(scale, 5),
        "per_layer_ms": round(-scale * overhead_ms, 6),
        "offset_ms": round(overhead_ms, 6),
        "overhead_ms": round(overhead_ms, 6),
        "method": "per-call overhead measured with an identity model, removed per op and added once; "
                  "cache-context scale fitted by least squares on calibration networks",
        "calibration_networks": len(net),
    }


def fidelity(predicted: Sequence[float], measured: Sequence[float]) -> dict[str, float]:
    """Share within ±5 / ±10 %, MAPE, bias (mean signed error) and Spearman rank correlation."""
    from scipy.stats import spearmanr

    p, m = np.asarray(predicted, float), np.asarray(measured, float)
    error = (p - m) / m
    return {
        "within_5pct": round(float(np.mean(np.abs(error) <= 0.05)), 4),
        "within_10pct": round(float(np.mean(np.abs(error) <= 0.10)), 4),
        "mape_pct": round(float(np.mean(np.abs(error)) * 100), 3),
        "bias_pct": round(float(np.mean(error) * 100), 3),
        "spearman": round(float(spearmanr(p, m).statistic), 4) if len(p) > 2 else float("nan"),
        "n": int(len(p)),
    }


def macs_scale(macs: Sequence[float], measured: Sequence[float]) -> float:
    """FLOPs-proportional baseline ``latency = c × MACs``, ``c`` by least squares."""
    x, y = np.asarray(macs, float), np.asarray(measured, float)
    return float(x @ y / (x @ x))


def raw_sums(table: LatencyTable, archs: Sequence[ArchSpec]) -> list[float]:
    return [table.predict(arch).raw_sum_ms for arch in archs]
