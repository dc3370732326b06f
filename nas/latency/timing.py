"""The one timing-statistics rule every onnxruntime timing uses, and ``Measured`` (one network's end-to-end time).

Runs are taken in rounds of consecutive runs, and a model's latency is the **median over rounds of
each round's fastest run**. Why: on a shared machine, noise only ever adds time, and it comes in
two kinds. Preemption by another process on the same core makes single runs 2x slower (a whole
network of 5 ms rarely escapes a 3 ms scheduler slice), so the median of all runs follows how busy
the core was, which changes from minute to minute; a round's fastest run is an undisturbed one as
long as any run of the round was. A whole round can still be disturbed (a neighbour evicting the
shared cache for a second), so the rounds' fastest runs are combined by their median, not their
minimum. Measured on this project's 2-core KVM host (``experiments/host_table_check.py``), two
passes over the same networks agreed better this way than by the median of all runs (see
experiments/README.md). Op entries and whole networks use the same rule, so the context correction
fitted between them compares like with like.

The bundle runner, which runs on a device without this package, repeats the rule; a test checks
that both agree. CUDA-graph timings (``backends/torch_cuda``) average many replays per round on a
device no other process shares and keep ``summarise``: the median of round means, slow outliers
(``median + 5 × 1.4826 × MAD``, about five sigmas) dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nas.latency.table import Entry

ROUND_RULE = "median over rounds of each round's fastest run; p10/p90 over those per-round fastest runs"
OUTLIER_MADS = 5.0
MAD_TO_SIGMA = 1.4826  # MAD of normal noise × 1.4826 = its standard deviation


def round_minima(rounds: Sequence[Sequence[float]]) -> np.ndarray:
    """Each non-empty round's fastest run."""
    return np.array([min(r) for r in rounds if len(r)], dtype=float)


def estimate(rounds: Sequence[Sequence[float]]) -> Entry:
    """The rule: median of the rounds' fastest runs; p10 and p90 of those; ``runs`` counts every run."""
    minima = round_minima(rounds)
    if not minima.size:
        raise ValueError("no timed runs")
    median, p10, p90 = np.percentile(minima, [50, 10, 90])
    return Entry(float(median), float(p10), float(p90), sum(len(r) for r in rounds))


def relative_error(rounds: Sequence[Sequence[float]]) -> float:
    """Standard error of the estimate over the estimate: 1.2533 × 1.4826 × MAD(minima) / √n / median.

    1.4826 × MAD estimates the spread of the rounds' fastest runs robustly; the median of n values
    has a standard error 1.2533 × σ / √n. Profiling stops adding rounds once this is small.
    """
    minima = round_minima(rounds)
    if minima.size < 2:
        return float("inf")
    median = float(np.median(minima))
    mad = float(np.median(np.abs(minima - median)))
    return 1.2533 * MAD_TO_SIGMA * mad / np.sqrt(minima.size) / median if median > 0 else 0.0


def kept_runs(times: Sequence[float], *, outlier_mads: float = OUTLIER_MADS) -> np.ndarray:
    """The runs left after dropping slow outliers (the CUDA-graph rule: values that each average many replays)."""
    values = np.asarray(times, dtype=float)
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median))) or 1e-9
    return values[values <= median + outlier_mads * MAD_TO_SIGMA * mad]


def summarise(times: Sequence[float], *, outlier_mads: float = OUTLIER_MADS, runs: int | None = None) -> Entry:
    """Median, p10, p90 of the kept values; ``runs`` overrides the count when each value averages many runs."""
    kept = kept_runs(times, outlier_mads=outlier_mads)
    count = int(kept.size) if runs is None else runs
    return Entry(float(np.median(kept)), float(np.percentile(kept, 10)), float(np.percentile(kept, 90)), count)


@dataclass(frozen=True)
class Measured:
    """End-to-end latency of one network: the rule's estimate, and how much its rounds disagreed."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    runs: int
    round_spread: float  # interquartile range of the per-round values / the estimate: round-to-round repeatability

    def to_dict(self) -> dict[str, float]:
        return {
            "median_ms": self.median_ms,
            "p10_ms": self.p10_ms,
            "p90_ms": self.p90_ms,
            "runs": self.runs,
            "round_spread": self.round_spread,
        }

    @classmethod
    def of(cls, entry: Any, round_values: Sequence[float]) -> Measured:
        """An entry's figures plus the IQR of its per-round values over its median (0 for a zero median)."""
        q1, q3 = np.percentile(round_values, [25, 75])
        spread = float(q3 - q1) / entry.median_ms if entry.median_ms > 0 else 0.0
        return cls(entry.median_ms, entry.p10_ms, entry.p90_ms, entry.runs, spread)


__all__ = [
    "MAD_TO_SIGMA",
    "OUTLIER_MADS",
    "ROUND_RULE",
    "Measured",
    "estimate",
    "kept_runs",
    "relative_error",
    "round_minima",
    "summarise",
]
