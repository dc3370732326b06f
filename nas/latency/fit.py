"""Per-op costs fitted from whole-model latencies (TuNAS-style linear cost model).

Some device tools report only end-to-end latency. Given many architectures and their
measured latencies, the latency is modelled as ``sum of per-op costs + offset`` and the
non-negative costs are solved by NNLS. A held-out share of the architectures is kept
out of the fit and reported (±5 %, ±10 %, MAPE), then the table is refitted on all.
Ops that no measured architecture contains get no entry: the table says so when used.
"""

from __future__ import annotations

import csv
import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nas.arch import ArchSpec
from nas.errors import NasError, SpecError
from nas.latency.signature import arch_keys
from nas.latency.table import Entry, LatencyTable, new_header

Sample = tuple[ArchSpec, float]


@dataclass(frozen=True)
class CostFit:
    costs: dict[str, float]  # op key → ms
    offset_ms: float

    def predict(self, arch: ArchSpec, precision: str) -> float:
        return self.offset_ms + sum(self.costs[key] for _, key in arch_keys(arch, precision))


def read_measurements(path: str | Path) -> list[Sample]:
    """CSV with columns ``arch`` (compact arch string, as ``nas-inspect`` prints) and ``latency_ms``."""
    path = Path(path)
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            if not {"arch", "latency_ms"} <= set(reader.fieldnames or ()):
                raise NasError(f"{path}: expected columns 'arch' (compact arch string) and 'latency_ms'")
            rows = list(reader)
    except OSError as error:
        raise NasError(f"{path}: cannot read: {error.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise NasError(f"{path}: not a measurements CSV (not UTF-8 text: {type(error).__name__})") from None
    samples = []
    for line, row in enumerate(rows, start=2):
        try:
            arch, latency_ms = ArchSpec.from_string(row["arch"]), float(row["latency_ms"])
        except (SpecError, ValueError, TypeError) as error:
            raise NasError(f"{path}: line {line}: {error}"[:400]) from None
        if not (math.isfinite(latency_ms) and latency_ms > 0):
            raise NasError(f"{path}: line {line}: latency_ms must be a finite number > 0, got {row['latency_ms']!r}"[:400])
        samples.append((arch, latency_ms))
    return samples


def fit_costs(samples: Sequence[Sample], precision: str) -> CostFit:
    """NNLS on the op-count design matrix plus a constant column (per-inference offset)."""
    from scipy.optimize import nnls

    keys = sorted({key for arch, _ in samples for _, key in arch_keys(arch, precision)})
    index = {key: i for i, key in enumerate(keys)}
    design = np.zeros((len(samples), len(keys) + 1))
    for row, (arch, _) in enumerate(samples):
        for _, key in arch_keys(arch, precision):
            design[row, index[key]] += 1
    design[:, -1] = 1.0
    target = np.array([ms for _, ms in samples])
    weights = 1.0 / target  # relative error: small and large networks count alike
    solution, _ = nnls(design * weights[:, None], target * weights, maxiter=50 * design.shape[1])
    return CostFit({key: float(solution[i]) for key, i in index.items()}, float(solution[-1]))


def held_out_figures(fit: CostFit, samples: Sequence[Sample], precision: str) -> dict[str, Any]:
    errors = [fit.predict(arch, precision) / ms - 1 for arch, ms in samples]
    return {
        "archs": len(errors),
        "within_5pct": sum(abs(e) <= 0.05 for e in errors) / len(errors),
        "within_10pct": sum(abs(e) <= 0.10 for e in errors) / len(errors),
        "mape_pct": 100 * statistics.fmean(abs(e) for e in errors),
        "bias_pct": 100 * statistics.fmean(errors),
    }


def split(samples: Sequence[Sample], holdout: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    order = list(range(len(samples)))
    random.Random(seed).shuffle(order)
    cut = max(1, int(round(len(samples) * holdout)))
    return [samples[i] for i in order[cut:]], [samples[i] for i in order[:cut]]


def fit_table(
    samples: Sequence[Sample], *, device: Any, precision: str, holdout: float = 0.2, seed: int = 0, path: Path | None = None
) -> LatencyTable:
    """Held-out evaluation first, then a ``source: fitted`` table from all samples."""
    if len(samples) < 10:
        raise NasError(f"fitting needs whole-model latencies of at least 10 architectures, got {len(samples)}")
    train, test = split(samples, holdout, seed)
    figures = held_out_figures(fit_costs(train, precision), test, precision)
    fit = fit_costs(samples, precision)
    header = new_header(
        device=device.name,
        description=device.description,
        source="fitted",
        precision=precision,
        backend="fitted (NNLS on whole-model latencies)",
        fitted_from={"archs": len(samples), "holdout": holdout, "seed": seed},
        fidelity={"held_out": figures},
        correction={"scale": 1.0, "per_layer_ms": 0.0, "offset_ms": round(fit.offset_ms, 6)},
        notes="FITTED: per-op costs solved from end-to-end latencies; an op no measured architecture contains has no entry.",
    )
    table = LatencyTable(header=header, path=path)
    table.entries = {key: Entry(ms, ms, ms, 0) for key, ms in fit.costs.items()}
    return table
