"""The one timing-statistics rule every backend uses, and ``Measured`` (one network's end-to-end time).

Noise on a shared machine only ever adds time, so runs far above the median are dropped:
a run is an outlier when it exceeds ``median + 5 × 1.4826 × MAD`` (1.4826 × MAD estimates
the standard deviation of normal noise, so the cut is about five sigmas). The bundle runner,
which runs on a device without this package, repeats the rule; a test checks that both agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nas.latency.table import Entry

OUTLIER_MADS = 5.0
MAD_TO_SIGMA = 1.4826  # MAD of normal noise × 1.4826 = its standard deviation
OUTLIER_RULE = f"runs > median + {OUTLIER_MADS:g} × {MAD_TO_SIGMA} × MAD (about five sigmas) dropped"


def kept_runs(times: Sequence[float], *, outlier_mads: float = OUTLIER_MADS) -> np.ndarray:
    """The runs left after dropping slow outliers (preemption, page faults, frequency changes)."""
    values = np.asarray(times, dtype=float)
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median))) or 1e-9
    return values[values <= median + outlier_mads * MAD_TO_SIGMA * mad]


def summarise(times: Sequence[float], *, outlier_mads: float = OUTLIER_MADS, runs: int | None = None) -> Entry:
    """Median, p10, p90 of the kept runs; ``runs`` overrides the count when each value averages many runs."""
    kept = kept_runs(times, outlier_mads=outlier_mads)
    count = int(kept.size) if runs is None else runs
    return Entry(float(np.median(kept)), float(np.percentile(kept, 10)), float(np.percentile(kept, 90)), count)


@dataclass(frozen=True)
class Measured:
    """End-to-end latency of one network: median over all runs and the spread of its round medians."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    runs: int
    round_spread: float  # interquartile range of the per-round medians / median: run-to-run repeatability

    def to_dict(self) -> dict[str, float]:
        return {
            "median_ms": self.median_ms,
            "p10_ms": self.p10_ms,
            "p90_ms": self.p90_ms,
            "runs": self.runs,
            "round_spread": self.round_spread,
        }

    @classmethod
    def of(cls, entry: Any, round_medians: Sequence[float]) -> Measured:
        """An entry's figures plus the IQR of its per-round medians over the median (0 for a zero median)."""
        q1, q3 = np.percentile(round_medians, [25, 75])
        spread = float(q3 - q1) / entry.median_ms if entry.median_ms > 0 else 0.0
        return cls(entry.median_ms, entry.p10_ms, entry.p90_ms, entry.runs, spread)


__all__ = ["MAD_TO_SIGMA", "OUTLIER_MADS", "OUTLIER_RULE", "Measured", "kept_runs", "summarise"]
